/**
 * The thin adapters: CloudWatch queries for each backend (from the stack's real
 * `versionMetrics` output under mocks), the SDK responses, and the Automation API calls
 * a promotion makes.
 */
import { DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeServicesCommand } from "@aws-sdk/client-ecs";
import { CloudWatchMetrics, metricQueries, periodFor } from "../rollout/cloudwatch";
import { configPaths, PulumiStack, AutomationStack } from "../rollout/pulumiStack";
import { VirtualClock } from "../rollout/simulate";
import { deploy } from "./harness/program";
import { BASE_CONFIG } from "./harness/stacks";
import { PROJECT } from "../mesh/contract";

const WINDOW = { start: Date.UTC(2026, 10, 26, 10, 0), end: Date.UTC(2026, 10, 26, 10, 5) };

describe("CloudWatch queries, per backend", () => {
    test("App Mesh: the access-log metrics in the stack's namespace, by Version", async () => {
        const g = await deploy(BASE_CONFIG);
        const queries = metricQueries(g.outputs.versionMetrics as any, WINDOW);
        expect(queries.map((q) => q.Id)).toEqual([
            "stable_requests",
            "stable_errors",
            "stable_latencyMs",
            "canary_requests",
            "canary_errors",
            "canary_latencyMs",
        ]);
        expect(queries[4].MetricStat).toEqual({
            Metric: { Namespace: "AICanary/test-inference", MetricName: "Errors5xx", Dimensions: [{ Name: "Version", Value: "canary" }] },
            Period: 300,
            Stat: "Sum",
        });
        expect(queries[5].MetricStat?.Stat).toBe("p99");
    });

    test("Lattice: the target groups' own metrics, by the version's target group id", async () => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "lattice" });
        const canaryTg = g.one("aws:vpclattice/targetGroup:TargetGroup", "-canary").id;
        const queries = metricQueries(g.outputs.versionMetrics as any, WINDOW);
        expect(queries[3].MetricStat?.Metric).toEqual({
            Namespace: "AWS/VpcLattice",
            MetricName: "TotalRequestCount",
            Dimensions: [{ Name: "TargetGroup", Value: canaryTg }],
        });
        expect(queries[5].MetricStat).toMatchObject({ Metric: { MetricName: "RequestTime" }, Stat: "p99" });
    });

    test("one period covers the window", () => {
        expect(periodFor({ start: 0, end: 30_000 })).toBe(60);
        expect(periodFor({ start: 0, end: 600_000 })).toBe(600);
        expect(periodFor({ start: 0, end: 610_000 })).toBe(660);
    });
});

describe("CloudWatchMetrics", () => {
    const METRICS = {
        stable: {
            requests: { namespace: "N", metricName: "Requests", dimensions: { Version: "stable" } },
            errors: { namespace: "N", metricName: "Errors5xx", dimensions: { Version: "stable" } },
            latencyMs: { namespace: "N", metricName: "RequestTime", dimensions: { Version: "stable" } },
        },
        canary: {
            requests: { namespace: "N", metricName: "Requests", dimensions: { Version: "canary" } },
            errors: { namespace: "N", metricName: "Errors5xx", dimensions: { Version: "canary" } },
            latencyMs: { namespace: "N", metricName: "RequestTime", dimensions: { Version: "canary" } },
        },
    };

    test("sums counts, keeps the worse p99, treats missing series as no traffic, and reads alarm states", async () => {
        const sent: unknown[] = [];
        const client = {
            send: jest.fn(async (command: unknown) => {
                sent.push(command);
                if (command instanceof GetMetricDataCommand) {
                    return {
                        MetricDataResults: [
                            { Id: "stable_requests", Values: [600, 400] },
                            { Id: "stable_errors", Values: [1] },
                            { Id: "stable_latencyMs", Values: [7000, 9000] },
                            { Id: "canary_requests", Values: [] },
                        ],
                    };
                }
                return { MetricAlarms: [{ AlarmName: "errors", StateValue: "ALARM" }, { AlarmName: "latency", StateValue: "OK" }] };
            }),
        };
        const sample = await new CloudWatchMetrics(client as any, METRICS, ["errors", "latency"]).sample(WINDOW);
        expect(sample.versions).toEqual({
            stable: { requests: 1000, errors: 1, p99Ms: 9000 },
            canary: { requests: 0, errors: 0, p99Ms: undefined },
        });
        expect(sample.firingAlarms).toEqual(["errors"]);
        const [metricData, alarms] = sent as [GetMetricDataCommand, DescribeAlarmsCommand];
        expect(metricData.input.StartTime).toEqual(new Date(WINDOW.start));
        expect(metricData.input.EndTime).toEqual(new Date(WINDOW.end));
        expect(metricData.input.MetricDataQueries).toHaveLength(6);
        expect(alarms.input.AlarmNames).toEqual(["errors", "latency"]);
    });
});

describe("PulumiStack", () => {
    const P = PROJECT;
    /** The outputs a real run of the program exports, as `pulumi stack output --json` would give them. */
    let outputs: Record<string, unknown>;
    beforeAll(async () => {
        outputs = (await deploy(BASE_CONFIG)).outputs;
    });
    function fakeStack(config: Record<string, string>) {
        const calls: string[] = [];
        const stack: AutomationStack = {
            name: "test",
            getAllConfig: async () => Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value, secret: false }])),
            setConfig: async (key, value, path) => {
                calls.push(`set ${key}=${value.value}${path ? " (path)" : ""}`);
                if (!path) config[key] = value.value;
            },
            removeConfig: async (key, path) => {
                calls.push(`rm ${key}${path ? " (path)" : ""}`);
            },
            up: (async () => {
                calls.push("up");
                return {} as any;
            }) as AutomationStack["up"],
            outputs: async () => Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }])),
        };
        return { stack, calls };
    }
    const ecs = (rolloutState: string) => ({
        send: jest.fn(async (_c: DescribeServicesCommand) => ({
            services: [{ deployments: [{ status: "PRIMARY", rolloutState, runningCount: 2, desiredCount: 2, rolloutStateReason: "circuit breaker" }] }],
        })),
    });

    test("setWeight sets canaryWeight and runs up", async () => {
        const { stack, calls } = fakeStack({ [`${P}:canaryWeight`]: "0" });
        await new PulumiStack(stack, ecs("COMPLETED") as any, new VirtualClock(), () => {}).setWeight(25);
        expect(calls).toEqual([`set ${P}:canaryWeight=25`, "up"]);
    });

    test("promotion gives stable the canary's settings but keeps stable's task count, setting before removing", async () => {
        const { stack, calls } = fakeStack({
            [`${P}:canaryWeight`]: "100",
            [`${P}:stable`]: JSON.stringify({ image: "llm:1", desiredCount: 4, environment: { OLD: "x" } }),
            [`${P}:canary`]: JSON.stringify({ image: "llm:2", desiredCount: 1, cpu: 8192 }),
        });
        await new PulumiStack(stack, ecs("COMPLETED") as any, new VirtualClock(), () => {}).promoteCanarySettings();
        expect(calls).toEqual([
            `set ${P}:stable.image=llm:2 (path)`,
            `set ${P}:stable.desiredCount=4 (path)`,
            `set ${P}:stable.cpu=8192 (path)`,
            `rm ${P}:stable.environment.OLD (path)`,
            "up",
        ]);
    });

    test("waitHealthy returns once the primary deployment completed, and fails on a failed one", async () => {
        const { stack } = fakeStack({});
        await expect(new PulumiStack(stack, ecs("COMPLETED") as any, new VirtualClock(), () => {}).waitHealthy("stable")).resolves.toBeUndefined();
        await expect(new PulumiStack(stack, ecs("FAILED") as any, new VirtualClock(), () => {}).waitHealthy("stable")).rejects.toThrow(
            /deployment failed: circuit breaker/,
        );
        const slow = new PulumiStack(stack, ecs("IN_PROGRESS") as any, new VirtualClock(), () => {});
        await expect(slow.waitHealthy("stable")).rejects.toThrow(/not healthy within 30 minutes/);
    });

    test("configPaths flattens a version object into --path keys", () => {
        expect(configPaths("p:stable", { image: "i", environment: { A: "1", B: 2 } })).toEqual([
            ["p:stable.image", "i"],
            ["p:stable.environment.A", "1"],
            ["p:stable.environment.B", "2"],
        ]);
    });
});
