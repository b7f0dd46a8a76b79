/**
 * The committed stacks, each run once as `pulumi up` and once as `pulumi preview` of a
 * new stack would run it. The resource list (URN and type) of each is pinned in a
 * snapshot a reviewer can read: a change to what a stack deploys, or to any resource's
 * URN (which `pulumi up` would answer by replacing it), shows as a snapshot diff.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { deploy, Graph, runProgram, securityGroupDescriptions } from "./harness/program";
import { ec2Description } from "../mesh/awsText";
import { stackConfig, STACKS, STANDALONE_STACKS } from "./harness/stacks";
import { loadConfig } from "../mesh/config/schema";
import { parseStackOutputs, PROJECT } from "../contract/outputs";
import { expectTagged } from "./harness/tags";

test("Pulumi.yaml names the project whose keys the program and the rollout read", () => {
    const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { name: string };
    expect(project.name).toBe(PROJECT);
});

describe.each(STACKS)("stack %s", (stack) => {
    const config = stackConfig(stack);
    let up: Graph;
    beforeAll(async () => {
        up = await deploy(config);
    });

    test("deploys these resources (URN and type)", () => {
        expect(up.urns).toMatchSnapshot();
    });

    test("every security group and rule description is one EC2 accepts", () => {
        const texts = securityGroupDescriptions(up);
        expect(texts.length).toBeGreaterThan(1);
        for (const text of texts) expect(() => ec2Description(text)).not.toThrow();
    });

    test("every taggable resource names its service and stack (taggable as the SDK says)", () => {
        expectTagged(up, loadConfig(config).serviceName);
    });

    test("exports the outputs the rollout reads, with the configured weight", () => {
        const outputs = parseStackOutputs(up.outputs, stack);
        const { canaryWeight, trafficBackend } = loadConfig(config);
        expect(outputs).toMatchObject({ trafficBackend, canaryWeight, stableWeight: 100 - canaryWeight });
        // What a caller pastes, whole, and where the dashboard is.
        expect(outputs.url).toBe(`${outputs.url!.split("://")[0]}://${outputs.endpoint}:${outputs.url!.split(":").pop()}`);
        expect(outputs.url).toMatch(/^(http|https|grpc):\/\/[^/]+:\d+$/);
        expect(outputs.dashboardUrl).toBe(
            `https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#dashboards/dashboard/${outputs.dashboardName}`,
        );
    });

    test("each version has a scalable target on its service and a target-tracking policy on requests per task", () => {
        // The stack's own cluster, or on a platform the platform's.
        const cluster = (up.outputs as { clusterName: string }).clusterName;
        for (const version of ["stable", "canary"]) {
            const service = up.one("aws:ecs/service:Service", `-${version}`);
            const target = up.one("aws:appautoscaling/target:Target", `-${version}-scaling`);
            expect(target.inputs).toMatchObject({
                serviceNamespace: "ecs",
                scalableDimension: "ecs:service:DesiredCount",
                resourceId: `service/${cluster}/${service.state.name}`,
            });
            expect(target.inputs.minCapacity).toBeLessThanOrEqual(target.inputs.maxCapacity);
            const policy = up.one("aws:appautoscaling/policy:Policy", `-${version}-scaling`);
            expect(policy.inputs.resourceId).toBe(target.inputs.resourceId);
            const [requests, tasks, perTask] = policy.inputs.targetTrackingScalingPolicyConfiguration.customizedMetricSpecification.metrics;
            const metric = (
                up.outputs as { versionMetrics: Record<string, { requests: { namespace: string; metricName: string; dimensions: Record<string, string> } }> }
            ).versionMetrics[version].requests;
            expect(requests.metricStat).toEqual({
                stat: "Sum",
                metric: {
                    namespace: metric.namespace,
                    metricName: metric.metricName,
                    dimensions: Object.entries(metric.dimensions).map(([name, value]) => ({ name, value })),
                },
            });
            expect(tasks.metricStat.metric).toEqual({
                namespace: "ECS/ContainerInsights",
                metricName: "RunningTaskCount",
                dimensions: [
                    { name: "ClusterName", value: cluster },
                    { name: "ServiceName", value: service.state.name },
                ],
            });
            expect(perTask).toMatchObject({ expression: "FILL(requests, 0) / tasks", returnData: true });
            expect([requests.returnData, tasks.returnData]).toEqual([false, false]);
        }
    });

    // The services on the rag platform preview alike: one of them stands for the others.
    const previewed = (STANDALONE_STACKS as readonly string[]).includes(stack) || stack === "rag-gateway";
    if (previewed)
        test("previews with unknown ids, ARNs and outputs, declaring the same resources", async () => {
            const preview = await runProgram(config, { preview: true });
            expect(preview.error).toBeUndefined();
            expect(preview.graph.urns).toEqual(up.urns);
        });
});
