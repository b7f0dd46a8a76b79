/**
 * What the rollout reads from each backend's stack outputs (the real outputs, under mocks):
 * the CloudWatch queries of each version's metrics, and each traffic layer's weight read back
 * (Argo Rollouts' `VerifyWeight`); and that the program's and the rollout's lists of backends
 * have the same names.
 */
import { metricQueries } from "../../../rollout/adapters/cloudwatch";
import { AppMeshRoute } from "../../../rollout/adapters/weights/appmesh";
import { LatticeListener } from "../../../rollout/adapters/weights/lattice";
import { AlbListener } from "../../../rollout/adapters/weights/alb";
import { WEIGHT_READERS } from "../../../rollout/adapters/weights/index";
import { TRAFFIC_BACKEND_KINDS } from "../../../mesh/traffic/index";
import { BACKEND_CONFIGS } from "../../../mesh/config/backends";
import { TRAFFIC_BACKENDS } from "../../../contract/backends";

import { deploy } from "../../harness/program";
import { BASE_CONFIG } from "../../harness/stacks";
import { parseStackOutputs } from "../../../contract/outputs";

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

test("the program's backends (their config and their resources) and the rollout's weight readers are listed once each, by the contract's names", () => {
    expect(Object.keys(BACKEND_CONFIGS).sort()).toEqual([...TRAFFIC_BACKENDS].sort());
    expect(Object.keys(TRAFFIC_BACKEND_KINDS).sort()).toEqual([...TRAFFIC_BACKENDS].sort());
    expect(Object.keys(WEIGHT_READERS).sort()).toEqual([...TRAFFIC_BACKENDS].sort());
});
