/**
 * The thin adapters: CloudWatch queries for each backend (from the stack's real
 * `versionMetrics` output under mocks), the SDK responses, and the Automation API calls
 * a promotion makes.
 */
import { VirtualClock } from "../../../rollout/simulator/world";
import { DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchMetrics, metricQueries } from "../../../rollout/adapters/cloudwatch";
import { AutomationStack, explainStartupError, PulumiStack, wholeValueJson } from "../../../rollout/adapters/pulumiStack";
import { EcsServices } from "../../../rollout/adapters/ecs";
import { LeaseHeld, platformLeases, rolloutParameter, SsmControl } from "../../../rollout/adapters/ssm";
import { AppMeshRoute } from "../../../rollout/adapters/weights/appmesh";
import { LatticeListener } from "../../../rollout/adapters/weights/lattice";
import { AlbListener } from "../../../rollout/adapters/weights/alb";
import { WEIGHT_READERS } from "../../../rollout/adapters/weights/index";
import { TRAFFIC_BACKEND_KINDS } from "../../../mesh/traffic/index";
import { TRAFFIC_BACKENDS } from "../../../contract/backends";

import { deploy } from "../../harness/program";
import { BASE_CONFIG } from "../../harness/stacks";
import { parseStackOutputs, PROJECT } from "../../../contract/outputs";

const WINDOW = { start: Date.UTC(2026, 10, 26, 10, 0), end: Date.UTC(2026, 10, 26, 10, 3) };

describe("CloudWatch queries, per backend", () => {
    test("App Mesh: the access-log metrics in the stack's namespace, by Version", async () => {
        const g = await deploy(BASE_CONFIG);
        const queries = metricQueries(g.outputs.versionMetrics as any, { thresholdMs: 10_000, metric: "latencyMs" });
        expect(queries.map((q) => q.Id)).toEqual([
            "stable_requests",
            "stable_errors",
            "stable_slow",
            "stable_latencyMs",
            "canary_requests",
            "canary_errors",
            "canary_slow",
            "canary_latencyMs",
        ]);
        expect(queries[5].MetricStat).toEqual({
            Metric: { Namespace: "AICanary/test-inference", MetricName: "Errors5xx", Dimensions: [{ Name: "Version", Value: "canary" }] },
            Period: 60,
            Stat: "Sum",
        });
        // Requests slower than 10 s: a trimmed count of the request times above it.
        expect(queries[6].MetricStat).toMatchObject({ Metric: { MetricName: "RequestTime" }, Stat: "TC(10000:)" });
        expect(queries[7].MetricStat?.Stat).toBe("p99");
        // Time to first byte, for streaming servers: the same count over Envoy's response duration.
        const firstByte = metricQueries(g.outputs.versionMetrics as any, { thresholdMs: 2_000, metric: "firstByteMs" });
        expect(firstByte[6].MetricStat).toMatchObject({ Metric: { MetricName: "TimeToFirstByte" }, Stat: "TC(2000:)" });
    });

    test("Lattice: the target groups' own metrics, by the version's target group id", async () => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "lattice" });
        const canaryTg = g.one("aws:vpclattice/targetGroup:TargetGroup", "-canary").id;
        const queries = metricQueries(g.outputs.versionMetrics as any, { thresholdMs: 10_000, metric: "latencyMs" });
        expect(queries[4].MetricStat?.Metric).toEqual({
            Namespace: "AWS/VpcLattice",
            MetricName: "TotalRequestCount",
            Dimensions: [{ Name: "TargetGroup", Value: canaryTg }],
        });
        expect(queries[7].MetricStat).toMatchObject({ Metric: { MetricName: "RequestTime" }, Stat: "p99" });
    });

    test("ALB: per target group and load balancer, connection errors beside the 5xx, and the slow threshold in seconds", async () => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["10.0.0.0/8"] }) });
        const queries = metricQueries(g.outputs.versionMetrics as any, { thresholdMs: 2_500, metric: "latencyMs" });
        expect(queries.filter((q) => q.Id!.startsWith("canary_")).map((q) => [q.Id, q.MetricStat!.Metric!.MetricName, q.MetricStat!.Stat])).toEqual([
            ["canary_requests", "RequestCount", "Sum"],
            ["canary_errors", "HTTPCode_Target_5XX_Count", "Sum"],
            ["canary_slow", "TargetResponseTime", "TC(2.5:)"],
            ["canary_latencyMs", "TargetResponseTime", "p99"],
            ["canary_connectionErrors", "TargetConnectionErrorCount", "Sum"],
        ]);
        expect(queries[0].MetricStat!.Metric!.Dimensions!.map((d) => d.Name)).toEqual(["TargetGroup", "LoadBalancer"]);
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

    test("one bucket a minute on whole minutes: a version's minute without a request count has no data; pages are followed; alarm states read", async () => {
        const sent: unknown[] = [];
        const t = (minute: number) => new Date(WINDOW.start + minute * 60_000);
        const client = {
            send: jest.fn(async (command: unknown) => {
                sent.push(command);
                if (command instanceof GetMetricDataCommand) {
                    if (!command.input.NextToken) {
                        return {
                            MetricDataResults: [
                                { Id: "stable_requests", Timestamps: [t(0), t(1)], Values: [600, 400] },
                                { Id: "stable_errors", Timestamps: [t(1)], Values: [1] },
                                { Id: "stable_latencyMs", Timestamps: [t(0), t(1)], Values: [7000, 9000] },
                            ],
                            NextToken: "page-2",
                        };
                    }
                    return {
                        MetricDataResults: [
                            { Id: "stable_slow", Timestamps: [t(0)], Values: [2] },
                            { Id: "canary_requests", Timestamps: [t(1)], Values: [40] },
                        ],
                    };
                }
                return {
                    MetricAlarms: [
                        { AlarmName: "errors", StateValue: "ALARM" },
                        { AlarmName: "latency", StateValue: "OK" },
                    ],
                };
            }),
        };
        const source = new CloudWatchMetrics(client as any, METRICS, ["errors", "latency"], { thresholdMs: 10_000, metric: "latencyMs" });
        expect(await source.minutes(WINDOW)).toEqual([
            { start: WINDOW.start, versions: { stable: { requests: 600, errors: 0, slow: 2, p99Ms: 7000 }, canary: undefined } },
            {
                start: WINDOW.start + 60_000,
                versions: { stable: { requests: 400, errors: 1, slow: 0, p99Ms: 9000 }, canary: { requests: 40, errors: 0, slow: 0 } },
            },
            { start: WINDOW.start + 120_000, versions: { stable: undefined, canary: undefined } },
        ]);
        expect(await source.firingAlarms()).toEqual(["errors"]);
        const [first, second, alarms] = sent as [GetMetricDataCommand, GetMetricDataCommand, DescribeAlarmsCommand];
        expect(first.input.StartTime).toEqual(new Date(WINDOW.start));
        expect(first.input.EndTime).toEqual(new Date(WINDOW.end));
        expect(first.input.MetricDataQueries).toHaveLength(8);
        expect(second.input.NextToken).toBe("page-2");
        expect(alarms.input.AlarmNames).toEqual(["errors", "latency"]);
        await expect(source.minutes({ start: WINDOW.start + 1, end: WINDOW.end })).rejects.toThrow("whole minutes");
    });

    test("a latency published in seconds is read in milliseconds, and connection errors count as 5xx", async () => {
        const seconds = (version: string) => ({
            ...METRICS[version as "stable"],
            latencyMs: { namespace: "AWS/ApplicationELB", metricName: "TargetResponseTime", dimensions: { TargetGroup: version }, unit: "Seconds" as const },
            connectionErrors: { namespace: "AWS/ApplicationELB", metricName: "TargetConnectionErrorCount", dimensions: { TargetGroup: version } },
        });
        const send = jest.fn(async () => ({
            MetricDataResults: [
                { Id: "canary_requests", Timestamps: [new Date(WINDOW.start)], Values: [100] },
                { Id: "canary_errors", Timestamps: [new Date(WINDOW.start)], Values: [2] },
                { Id: "canary_connectionErrors", Timestamps: [new Date(WINDOW.start)], Values: [3] },
                { Id: "canary_latencyMs", Timestamps: [new Date(WINDOW.start)], Values: [4.5] },
            ],
        }));
        const source = new CloudWatchMetrics({ send } as any, { stable: seconds("stable"), canary: seconds("canary") }, [], {
            thresholdMs: 10_000,
            metric: "latencyMs",
        });
        const [minute] = await source.minutes({ start: WINDOW.start, end: WINDOW.start + 60_000 });
        expect(minute.versions.canary).toEqual({ requests: 100, errors: 5, slow: 0, p99Ms: 4500 });
    });
});

describe("PulumiStack", () => {
    const P = PROJECT;
    /** The outputs a real run of the program exports, as `pulumi stack output --json` would give them. */
    let outputs: Record<string, any>;
    beforeAll(async () => {
        outputs = (await deploy(BASE_CONFIG)).outputs;
    });
    const resource = (urn: string, op: string, parent: string, diffs?: string[]) => ({
        resourcePreEvent: { metadata: { op, urn, type: urn.split("::")[2].split("$").pop(), new: { parent }, ...(diffs ? { diffs } : {}) } },
    });

    /** An Automation API stack whose preview reports `changes` ([urn, op, parent, diffs]) and whose up can fail with engine diagnostics. */
    function fakeStack(config: Record<string, string>, changes: [string, string, string, string[]?][] = [], upFailure?: { urn: string; message: string }) {
        const calls: string[] = [];
        const stack: AutomationStack = {
            name: "test",
            getAllConfig: async () => Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value, secret: false }])),
            setConfig: async (key, value, path) => {
                calls.push(`set ${key}=${value.value}${path ? " (path)" : ""}`);
                if (!path) config[key] = value.value;
            },
            setAllConfigJson: async (json) => {
                for (const [key, entry] of Object.entries(JSON.parse(json) as Record<string, { value: string; objectValue: unknown }>)) {
                    calls.push(`set-all ${key}`);
                    config[key] = JSON.stringify(entry.objectValue);
                }
            },
            removeConfig: async (key, path) => {
                calls.push(`rm ${key}${path ? " (path)" : ""}`);
            },
            preview: (async (opts) => {
                calls.push("preview");
                for (const [urn, op, parent, diffs] of changes) opts!.onEvent!(resource(urn, op, parent, diffs) as any);
                return {} as any;
            }) as AutomationStack["preview"],
            up: (async (opts) => {
                calls.push("up");
                if (upFailure) {
                    opts!.onEvent!({ diagnosticEvent: { urn: upFailure.urn, message: upFailure.message, severity: "error", color: "never" } } as any);
                    throw new Error("code: 255\n stdout: Updating (test):\n stderr: Command failed with exit code 255");
                }
                return {} as any;
            }) as AutomationStack["up"],
            outputs: async () => Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }])),
        };
        return { stack, calls };
    }
    const adapter = (stack: AutomationStack) =>
        new PulumiStack(
            stack,
            () => {},
            () => {},
        );
    const base = { [`${P}:trafficBackend`]: "appmesh", [`${P}:canaryWeight`]: "10", [`${P}:stable`]: BASE_CONFIG.stable, [`${P}:canary`]: BASE_CONFIG.canary };

    test("the deployed state comes from the outputs, the intended one from config", async () => {
        const { stack } = fakeStack({ ...base, [`${P}:canaryWeight`]: "25" });
        const pulumiStack = adapter(stack);
        expect(await pulumiStack.deployed()).toEqual({
            canaryWeight: 10,
            versions: outputs.versions,
            scaling: {
                stable: { minCount: 2, restingMinCount: 2, maxCount: 4, requestsPerTaskPerMinute: 60 },
                canary: { minCount: 1, restingMinCount: 1, maxCount: 4, requestsPerTaskPerMinute: 60 },
            },
        });
        const intended = await pulumiStack.intended();
        expect(intended.canaryWeight).toBe(25);
        expect(intended.fingerprints).toEqual({ stable: outputs.versions.stable.fingerprint, canary: outputs.versions.canary.fingerprint });
    });

    test("a weight step previews, and updates when only the split would change", async () => {
        const { stack, calls } = fakeStack(base, [[outputs.trafficResourceUrn, "update", "urn:parent"]]);
        await adapter(stack).setWeight(25);
        expect(calls).toEqual([`set ${P}:canaryWeight=25`, "preview", "up"]);
    });

    test("a capacity step sets canaryMinCount and updates when only the canary's scalable target would change; back to rest removes the key", async () => {
        const target = outputs.versions.canary.scaling.targetUrn;
        const { stack, calls } = fakeStack(base, [[target, "update", outputs.versions.canary.serviceUrn]]);
        await adapter(stack).setMinCount("canary", 3);
        await adapter(stack).setMinCount("canary", undefined);
        expect(calls).toEqual([`set ${P}:canaryMinCount=3`, "preview", "up", `rm ${P}:canaryMinCount`, "preview", "up"]);
        const stable = fakeStack(base, [[outputs.versions.stable.scaling.targetUrn, "update", outputs.versions.stable.serviceUrn]]);
        await adapter(stable.stack).setMinCount("stable", 4);
        expect(stable.calls).toEqual([`set ${P}:stableMinCount=4`, "preview", "up"]);
    });

    test("a step admits updates that change only tags (a new release's stack tags), and refuses tags with anything else", async () => {
        const service =
            "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:FargateService$aws:ecs/service:Service::inference-canary";
        const tagsOnly = fakeStack(base, [
            [outputs.trafficResourceUrn, "update", "urn:parent"],
            [service, "update", outputs.versions.canary.serviceUrn, ["tags", "tagsAll"]],
        ]);
        await adapter(tagsOnly.stack).setWeight(25);
        expect(tagsOnly.calls).toContain("up");
        const more = fakeStack(base, [
            [outputs.trafficResourceUrn, "update", "urn:parent"],
            [service, "update", outputs.versions.canary.serviceUrn, ["tags", "taskDefinition"]],
        ]);
        await expect(adapter(more.stack).setWeight(25)).rejects.toThrow(`the update would update ${service}`);
        expect(more.calls).not.toContain("up");
    });

    test("a capacity step that would change the service itself is refused, naming it", async () => {
        const service =
            "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:FargateService$aws:ecs/service:Service::inference-canary";
        const { stack, calls } = fakeStack(base, [
            [outputs.versions.canary.scaling.targetUrn, "update", outputs.versions.canary.serviceUrn],
            [service, "update", outputs.versions.canary.serviceUrn],
        ]);
        await expect(adapter(stack).setMinCount("canary", 3)).rejects.toThrow(
            `besides the canary's scalable target, the update would update ${service}; nothing was deployed`,
        );
        expect(calls).not.toContain("up");
    });

    test("a weight step that would change anything else is refused before any update, naming it", async () => {
        const taskDef =
            "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:FargateService$aws:ecs/taskDefinition:TaskDefinition::inference-canary";
        const { stack, calls } = fakeStack(base, [
            [outputs.trafficResourceUrn, "update", "urn:parent"],
            [taskDef, "replace", outputs.versions.canary.serviceUrn],
        ]);
        await expect(adapter(stack).setWeight(25)).rejects.toThrow(
            `besides the resource that carries the split, the update would replace ${taskDef}; nothing was deployed`,
        );
        expect(calls).not.toContain("up");
    });

    test("promotion copies what defines the canary onto stable, keeps stable's scaling bounds, and may change only stable's service", async () => {
        const stableOf = (child: string) => [child, "update", outputs.versions.stable.serviceUrn] as [string, string, string];
        const config: Record<string, string> = {
            ...base,
            [`${P}:canaryWeight`]: "100",
            [`${P}:stable`]: JSON.stringify({ image: "repo/llm:1", scaling: { minCount: 4 }, environment: { OLD: "x" } }),
            [`${P}:canary`]: JSON.stringify({
                image: "repo/llm:2",
                scaling: { minCount: 1 },
                cpu: 8192,
                memory: 32768,
                environment: { MODEL_ID: "m", PAD_TOKEN: "<pad>" },
                notSecret: ["PAD_TOKEN"],
            }),
        };
        const { stack, calls } = fakeStack(config, [
            stableOf("urn:pulumi:test::p::a:b:C$aws:ecs/taskDefinition:TaskDefinition::inference-stable"),
            stableOf("urn:pulumi:test::p::a:b:C$aws:ecs/service:Service::inference-stable"),
        ]);
        await adapter(stack).promote();
        expect(calls).toEqual([`set-all ${P}:stable`, "preview", "up"]);
        // notSecret travels with the environment it vouches for: the promoted stable is accepted as the canary was.
        expect(JSON.parse(config[`${P}:stable`])).toEqual({
            image: "repo/llm:2",
            scaling: { minCount: 4 },
            cpu: 8192,
            memory: 32768,
            environment: { MODEL_ID: "m", PAD_TOKEN: "<pad>" },
            notSecret: ["PAD_TOKEN"],
        });
    });

    test("promotion copies the compute kind and size (a canary on GPUs makes stable a GPU version), never the scaling bounds; a Fargate canary drops stable's GPU settings", async () => {
        const stableOf = (child: string) => [child, "update", outputs.versions.stable.serviceUrn] as [string, string, string];
        const gpu = {
            image: "repo/llm:2",
            compute: "gpu",
            cpu: 4096,
            memory: 14336,
            gpu: { instanceType: "g6e.xlarge" },
            scaling: { minCount: 1, maxCount: 8 },
        };
        const fargate = { image: "repo/llm:1", scaling: { minCount: 4, maxCount: 6 } };
        const promote = async (stable: object, canary: object) => {
            const config: Record<string, string> = {
                ...base,
                [`${P}:canaryWeight`]: "100",
                [`${P}:stable`]: JSON.stringify(stable),
                [`${P}:canary`]: JSON.stringify(canary),
            };
            const { stack } = fakeStack(config, [stableOf("urn:pulumi:test::p::a:b:C$aws:ecs/service:Service::inference-stable")]);
            await adapter(stack).promote();
            return JSON.parse(config[`${P}:stable`]);
        };
        expect(await promote(fargate, gpu)).toEqual({
            image: "repo/llm:2",
            compute: "gpu",
            cpu: 4096,
            memory: 14336,
            gpu: { instanceType: "g6e.xlarge", gpusPerTask: 1, volumeGiB: 200 },
            environment: {},
            scaling: { minCount: 4, maxCount: 6 },
        });
        const back = await promote({ ...gpu, image: "repo/llm:1", scaling: { minCount: 4, maxCount: 6 } }, { ...fargate, image: "repo/llm:3" });
        // A Fargate canary's definition names no compute kind (Fargate is the default) and no GPU: stable loses both.
        expect(back).not.toHaveProperty("gpu");
        expect(back).not.toHaveProperty("compute");
        expect(back).toMatchObject({ image: "repo/llm:3", scaling: { minCount: 4, maxCount: 6 } });
    });

    test("a promotion that moves stable to GPUs may create its GPU capacity and change the cluster's capacity providers, and nothing of the canary's", async () => {
        const stable = outputs.versions.stable;
        const created = [
            [`${stable.capacityUrn}$aws:autoscaling/group:Group::inference-stable-gpu`, "create", stable.capacityUrn],
            [outputs.capacityProvidersUrn, "create", "urn:parent"],
            [`${stable.serviceUrn}$aws:ecs/service:Service::inference-stable`, "update", stable.serviceUrn],
        ] as [string, string, string][];
        const config = {
            ...base,
            [`${P}:canaryWeight`]: "100",
            [`${P}:canary`]: JSON.stringify({ image: "repo/llm:2", compute: "gpu", memory: 14336, gpu: { instanceType: "g6.xlarge" } }),
        };
        const { stack, calls } = fakeStack({ ...config }, created);
        await adapter(stack).promote();
        expect(calls.slice(-2)).toEqual(["preview", "up"]);
        const canaryCapacity = `${outputs.versions.canary.capacityUrn}$aws:ec2/launchTemplate:LaunchTemplate::inference-canary-gpu`;
        const refused = fakeStack({ ...config }, [...created, [canaryCapacity, "update", outputs.versions.canary.capacityUrn]]);
        await expect(adapter(refused.stack).promote()).rejects.toThrow(
            `besides the stable service and its GPU capacity, the update would update ${canaryCapacity}`,
        );
    });

    test("a failed update names the failing resource and AWS's error, from the engine's events", async () => {
        const route = "urn:pulumi:test::ai-inference-canary::ai-canary:traffic:AppMeshTraffic$aws:appmesh/route:Route::inference-appmesh-weighted";
        const { stack } = fakeStack(base, [[outputs.trafficResourceUrn, "update", "urn:parent"]], {
            urn: route,
            message: "updating App Mesh Route: BadRequestException: weights must add up to 100",
        });
        await expect(adapter(stack).setWeight(25)).rejects.toThrow(
            "pulumi up (canaryWeight 25) failed: inference-appmesh-weighted: updating App Mesh Route: BadRequestException: weights must add up to 100",
        );
    });

    test("wholeValueJson is the shape `pulumi config --json` prints: the value as JSON text and as the object", () => {
        expect(JSON.parse(wholeValueJson("p:stable", { command: ["--port", "8000"], scaling: { minCount: 2 } }))).toEqual({
            "p:stable": {
                value: '{"command":["--port","8000"],"scaling":{"minCount":2}}',
                objectValue: { command: ["--port", "8000"], scaling: { minCount: 2 } },
                secret: false,
            },
        });
    });

    test("a missing CLI or login is explained, not reported as spawn ENOENT", () => {
        expect(explainStartupError(new Error("spawn pulumi ENOENT")).message).toContain("the Pulumi CLI is not on PATH: install it");
        expect(explainStartupError(new Error("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")).message).toContain(
            "run `pulumi login`",
        );
        // The Automation API's wrapper first, the CLI's words further down: the stack and the cause both reach the user.
        const missing = new Error("code: -2\n stdout: \n stderr: error: no stack named 'prdo' found\n");
        expect(explainStartupError(missing, "prdo").message).toBe(
            "stack prdo does not exist here (no stack named 'prdo' found): check the name and `pulumi whoami`'s organization, or create it with `pulumi stack init` and `pulumi up`",
        );
    });
});

describe("ECS", () => {
    const OUT = { clusterName: "c", stableServiceName: "s", canaryServiceName: "k" };
    const ecs = (...responses: object[][]) => {
        const send = jest.fn();
        // The last answer repeats, as a service that stays where it is.
        send.mockResolvedValue({ services: [{ deployments: responses.at(-1) }] });
        for (const deployments of responses) send.mockResolvedValueOnce({ services: [{ deployments }] });
        return { send } as any;
    };
    const primary = (taskDefinition: string, rolloutState: string) => ({ status: "PRIMARY", taskDefinition, rolloutState, runningCount: 2, desiredCount: 2 });

    test("waits until the PRIMARY deployment runs the deployed revision and is COMPLETED", async () => {
        const client = ecs(
            [primary("td:1", "COMPLETED"), { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "IN_PROGRESS" }],
            [primary("td:2", "IN_PROGRESS")],
            [primary("td:2", "COMPLETED")],
        );
        await new EcsServices(client, OUT, new VirtualClock()).waitRunning("canary", "td:2");
        expect(client.send).toHaveBeenCalledTimes(3);
    });

    test("an old revision COMPLETED does not count as the new one running", async () => {
        const client = ecs([primary("td:1", "COMPLETED"), { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "IN_PROGRESS" }]);
        await expect(new EcsServices(client, OUT, new VirtualClock(), 1_000).waitRunning("stable", "td:2")).rejects.toThrow(/did not run revision td:2/);
    });

    test("a long wait keeps the lease at every poll, and stops when the heartbeat says so", async () => {
        const loading = [primary("td:1", "COMPLETED"), { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "IN_PROGRESS" }];
        let beats = 0;
        const heartbeat = async () => {
            if (++beats === 3) throw new Error("aborted by ops@laptop");
        };
        await expect(new EcsServices(ecs(loading), OUT, new VirtualClock()).waitRunning("canary", "td:2", { heartbeat })).rejects.toThrow(
            "aborted by ops@laptop",
        );
        expect(beats).toBe(3);
    });

    test("a circuit-breaker rollback is named", async () => {
        const client = ecs([
            primary("td:1", "IN_PROGRESS"),
            { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start" },
        ]);
        await expect(new EcsServices(client, OUT, new VirtualClock()).waitRunning("canary", "td:2")).rejects.toThrow(
            "ECS did not keep the canary service on the deployed revision td:2: it runs td:1 (ECS deployment circuit breaker: tasks failed to start)",
        );
    });
});

describe("ECS: healthy tasks of a raised minimum", () => {
    const OUT = { clusterName: "c", stableServiceName: "s", canaryServiceName: "k" };
    const task = (healthStatus: string, taskDefinitionArn = "td:2") => ({
        taskArn: `t-${Math.random()}`,
        taskDefinitionArn,
        lastStatus: "RUNNING",
        healthStatus,
    });
    /** ECS answers: the task definition first, then ListTasks and DescribeTasks per poll. */
    const ecs = (healthCheck: boolean, ...polls: object[][]) => {
        const send = jest.fn(async (command: { constructor: { name: string } }) => {
            if (command.constructor.name === "DescribeTaskDefinitionCommand")
                return { taskDefinition: { containerDefinitions: [{ name: "model", essential: true, ...(healthCheck ? { healthCheck: {} } : {}) }] } };
            const poll = polls.length > 1 ? polls[0] : polls.at(-1)!;
            if (command.constructor.name === "ListTasksCommand") return { taskArns: poll.map((_, i) => `t${i}`) };
            if (polls.length > 1) polls.shift();
            return { tasks: poll };
        });
        return { send } as any;
    };

    test("counts only tasks of the revision that pass their health check: UNKNOWN is a task still loading", async () => {
        const client = ecs(
            true,
            [task("HEALTHY"), task("UNKNOWN"), task("UNKNOWN")],
            [task("HEALTHY"), task("HEALTHY"), task("HEALTHY", "td:1"), task("UNKNOWN")],
            [task("HEALTHY"), task("HEALTHY"), task("HEALTHY")],
        );
        await new EcsServices(client, OUT, new VirtualClock()).waitHealthy("canary", "td:2", 3);
        expect(client.send.mock.calls.filter(([c]: any[]) => c.constructor.name === "ListTasksCommand")).toHaveLength(3);
    });

    test("a model server without a container health check (gRPC) counts once its tasks run", async () => {
        const client = ecs(false, [task("UNKNOWN"), task("UNKNOWN")]);
        await new EcsServices(client, OUT, new VirtualClock()).waitHealthy("canary", "td:2", 2);
    });

    test("gives up after the timeout, saying how many were healthy", async () => {
        const client = ecs(true, [task("HEALTHY"), task("UNKNOWN")]);
        await expect(new EcsServices(client, OUT, new VirtualClock(), 60_000).waitHealthy("canary", "td:2", 2)).rejects.toThrow(
            "the canary service had 1 healthy tasks, not 2, after 1 minutes",
        );
    });
});

describe("the evaluation task", () => {
    const OUT = {
        clusterName: "c",
        evaluation: {
            taskDefinitionArn: "arn:aws:ecs:us-west-2:123456789012:task-definition/test-inference-evaluation:3",
            subnetIds: ["subnet-a"],
            securityGroupIds: ["sg-1"],
            timeoutSeconds: 600,
        },
    };
    const ecs = (...answers: object[]) => {
        const send = jest.fn();
        for (const a of answers) send.mockResolvedValueOnce(a);
        send.mockResolvedValue(answers.at(-1));
        return send;
    };

    test("runs once on Fargate in the stack's subnets, waits for it to stop, and reports the evaluation container's exit code", async () => {
        const send = ecs(
            { tasks: [{ taskArn: "t1" }] },
            { tasks: [{ lastStatus: "RUNNING" }] },
            {
                tasks: [
                    {
                        lastStatus: "STOPPED",
                        containers: [
                            { name: "envoy", exitCode: 0 },
                            { name: "evaluation", exitCode: 2 },
                        ],
                    },
                ],
            },
        );
        const result = await new EcsServices({ send } as any, OUT as any, new VirtualClock()).evaluate();
        expect(result).toEqual({ exitCode: 2, reason: "exit code 2" });
        expect(send.mock.calls[0][0].input).toMatchObject({
            cluster: "c",
            taskDefinition: OUT.evaluation.taskDefinitionArn,
            launchType: "FARGATE",
            networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a"], securityGroups: ["sg-1"], assignPublicIp: "DISABLED" } },
        });
    });

    test("a rollout that stops while the evaluation runs stops the task too", async () => {
        const send = ecs({ tasks: [{ taskArn: "t1" }] }, { tasks: [{ lastStatus: "RUNNING" }] });
        const heartbeat = async () => {
            throw new Error("interrupted");
        };
        await expect(new EcsServices({ send } as any, OUT as any, new VirtualClock()).evaluate({ heartbeat })).rejects.toThrow("interrupted");
        expect(send.mock.calls.at(-1)[0].constructor.name).toBe("StopTaskCommand");
    });

    test("one that runs past its timeout is stopped, and fails", async () => {
        const send = ecs({ tasks: [{ taskArn: "t1" }] }, { tasks: [{ lastStatus: "RUNNING" }] });
        const result = await new EcsServices({ send } as any, OUT as any, new VirtualClock()).evaluate();
        expect(result).toEqual({ reason: "no result within 600 s; the task was stopped" });
        expect(send.mock.calls.at(-1)[0].constructor.name).toBe("StopTaskCommand");
    });
});

describe("the traffic layer, read back", () => {
    test("App Mesh: the canary node's share of the weighted route", async () => {
        const g = await deploy(BASE_CONFIG);
        const out = parseStackOutputs(g.outputs, "test") as any;
        const send = jest.fn().mockResolvedValue({
            route: {
                spec: {
                    httpRoute: {
                        action: {
                            weightedTargets: [
                                { virtualNode: out.stableVirtualNodeName, weight: 75 },
                                { virtualNode: out.canaryVirtualNodeName, weight: 25 },
                            ],
                        },
                    },
                },
            },
        });
        expect(await new AppMeshRoute({ send } as any, out).canaryWeight()).toBe(25);
        expect(send.mock.calls[0][0].input).toEqual({ meshName: out.meshName, virtualRouterName: out.virtualRouterName, routeName: out.weightedRouteName });
    });

    test("Lattice: the canary target group's share of the listener's default action, by id or ARN", async () => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "lattice" });
        const out = parseStackOutputs(g.outputs, "test") as any;
        const canaryId = out.canaryTargetGroupArn.split("/").pop();
        const send = jest.fn().mockResolvedValue({
            defaultAction: {
                forward: {
                    targetGroups: [
                        { targetGroupIdentifier: out.stableTargetGroupArn, weight: 90 },
                        { targetGroupIdentifier: canaryId, weight: 10 },
                    ],
                },
            },
        });
        expect(await new LatticeListener({ send } as any, out).canaryWeight()).toBe(10);
        expect(send.mock.calls[0][0].input).toEqual({ serviceIdentifier: out.latticeServiceArn, listenerIdentifier: out.listenerArn });
    });

    test("ALB: the canary target group's share of the listener's forward action", async () => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["10.0.0.0/8"] }) });
        const out = parseStackOutputs(g.outputs, "test") as any;
        const send = jest.fn().mockResolvedValue({
            Listeners: [
                {
                    DefaultActions: [
                        {
                            Type: "forward",
                            ForwardConfig: {
                                TargetGroups: [
                                    { TargetGroupArn: out.stableTargetGroupArn, Weight: 75 },
                                    { TargetGroupArn: out.canaryTargetGroupArn, Weight: 25 },
                                ],
                            },
                        },
                    ],
                },
            ],
        });
        expect(await new AlbListener({ send } as any, out).canaryWeight()).toBe(25);
        expect(send.mock.calls[0][0].input).toEqual({ ListenerArns: [out.listenerArn] });
    });
});

describe("the lease, status and abort in SSM", () => {
    /** SSM's semantics where they matter: a create without overwrite fails on an existing name. */
    function fakeSsm() {
        const params = new Map<string, string>();
        const send = jest.fn(async (command: any) => {
            const input = command.input;
            switch (command.constructor.name) {
                case "PutParameterCommand":
                    if (!input.Overwrite && params.has(input.Name)) throw Object.assign(new Error("exists"), { name: "ParameterAlreadyExists" });
                    params.set(input.Name, input.Value);
                    return {};
                case "GetParameterCommand":
                    if (!params.has(input.Name)) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
                    return { Parameter: { Value: params.get(input.Name) } };
                case "DeleteParameterCommand":
                    if (!params.delete(input.Name)) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
                    return {};
                case "GetParametersByPathCommand": {
                    // As SSM pages it: at most 10 a page, the rest behind NextToken.
                    const all = [...params].filter(([name]) => name.startsWith(input.Path)).map(([Name, Value]) => ({ Name, Value }));
                    const from = Number(input.NextToken ?? 0);
                    return { Parameters: all.slice(from, from + 10), NextToken: from + 10 < all.length ? String(from + 10) : undefined };
                }
            }
            throw new Error(`unexpected ${command.constructor.name}`);
        });
        return { send, params } as any;
    }

    test("one rollout holds the lease; a second is refused, naming the first; release frees it", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        const first = new SsmControl(ssm, "dev", "alice@a", clock);
        const second = new SsmControl(ssm, "dev", "bob@b", clock);
        await first.acquire();
        await expect(second.acquire()).rejects.toThrow("another rollout holds this stack: alice@a");
        expect(ssm.params.has(rolloutParameter("dev", "lease"))).toBe(true);
        await first.release();
        await expect(second.acquire()).resolves.toBeUndefined();
    });

    test("a platform's guard sees every live lease of a service on it, over pages, and no other", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        const REF = "acme/ai-inference-platform/rag";
        // Twelve stacks of other platforms or none fill the first page.
        for (let i = 0; i < 12; i++)
            await new SsmControl(ssm, `other-${i}`, "x@y", clock, undefined, i % 2 ? "acme/ai-inference-platform/search" : undefined).acquire();
        expect(await platformLeases(ssm, "rag", clock.now())).toEqual([]);
        await new SsmControl(ssm, "rag-embedder", "alice@a", clock, 60_000, REF).acquire();
        await new SsmControl(ssm, "rag-gateway", "bob@b", clock, undefined, REF).acquire();
        const held = await platformLeases(ssm, "rag", clock.now());
        expect(held.map((l) => [l.stack, l.owner])).toEqual([
            ["rag-embedder", "alice@a"],
            ["rag-gateway", "bob@b"],
        ]);
        expect((await platformLeases(ssm, REF, clock.now())).length).toBe(2);
        // A lease left to expire no longer holds the platform.
        await clock.sleep(120_000);
        expect((await platformLeases(ssm, "rag", clock.now())).map((l) => l.stack)).toEqual(["rag-gateway"]);
    });

    test("a stale lease is broken only when asked", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        await new SsmControl(ssm, "dev", "crashed@ci", clock, 60_000).acquire();
        await clock.sleep(120_000);
        const next = new SsmControl(ssm, "dev", "bob@b", clock);
        await expect(next.acquire()).rejects.toBeInstanceOf(LeaseHeld);
        await expect(next.acquire(true)).resolves.toBeUndefined();
    });

    test("an abort request reaches the holder's next heartbeat, which also publishes its status", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        const holder = new SsmControl(ssm, "dev", "alice@a", clock);
        await holder.acquire();
        expect(await holder.heartbeat("step 1 at 10%: baking")).toEqual({});
        await new SsmControl(ssm, "dev", "ops@laptop", clock).requestAbort("ops@laptop");
        expect(await holder.heartbeat("step 1 at 10%: baking")).toEqual({ abortRequestedBy: "ops@laptop" });
        expect((await holder.status())?.status).toBe("step 1 at 10%: baking");
    });
});

test("the program's backends and the rollout's weight readers are listed once each, by the contract's names", () => {
    expect(Object.keys(TRAFFIC_BACKEND_KINDS).sort()).toEqual([...TRAFFIC_BACKENDS].sort());
    expect(Object.keys(WEIGHT_READERS).sort()).toEqual([...TRAFFIC_BACKENDS].sort());
});
