/**
 * The traffic seam holds: a third backend, written here in a few lines, drives the
 * component and the compute with no change to either. It fronts each version with its
 * own ALB target group and a sidecar proxy, as a backend outside this repository might.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { deploy, Graph } from "./harness/program";
import { BASE_CONFIG } from "./harness/stacks";
import { InferenceCanary } from "../mesh/canary/component";
import { loadConfig, VERSIONS } from "../mesh/config/schema";
import { TrafficBackendKind } from "../mesh/traffic/backend";

const metricsOf = (group: aws.lb.TargetGroup) => {
    const metric = (metricName: string) => ({ namespace: "AWS/ApplicationELB", metricName, dimensions: { TargetGroup: group.arnSuffix } });
    return { requests: metric("RequestCount"), errors: metric("HTTPCode_Target_5XX_Count"), latencyMs: metric("TargetResponseTime") };
};

const albBackend: TrafficBackendKind = {
    taskIngress: () => ({ description: "from the ALB", cidrBlocks: ["10.0.0.0/16"] }),
    declare(name, { network }, opts) {
        const groups = Object.fromEntries(
            VERSIONS.map((v) => [v, new aws.lb.TargetGroup(`${name}-alb-${v}`, { vpcId: network.vpcId, targetType: "ip", port: 8080, protocol: "HTTP" }, opts)]),
        );
        return {
            endpoint: pulumi.output("alb.example.internal"),
            splitResource: groups.canary,
            join: (version) => ({
                modelPortName: "http",
                sidecars: () => [{ name: "proxy", image: "proxy:1", essential: true }],
                taskPolicy: pulumi.jsonStringify({ Version: "2012-10-17", Statement: [] }),
                service: () => ({ loadBalancers: [{ targetGroupArn: groups[version].arn, containerName: "model", containerPort: 8080 }] }),
            }),
            client: () => ({ join: {}, url: pulumi.output("http://alb.example.internal") }),
            versionMetrics: () => ({ stable: metricsOf(groups.stable), canary: metricsOf(groups.canary) }),
            // The outputs contract knows two backends; a real third one would add its own member there.
            outputs: {
                trafficBackend: "lattice",
                serviceNetworkId: "-",
                latticeServiceArn: "-",
                listenerArn: "-",
                pinRuleArn: "-",
                stableTargetGroupArn: groups.stable.arn,
                canaryTargetGroupArn: groups.canary.arn,
            },
        };
    },
};

let g: Graph;
beforeAll(async () => {
    g = await deploy(BASE_CONFIG, {
        program: () => new InferenceCanary("inference", { config: loadConfig(BASE_CONFIG), traffic: albBackend }).outputs,
    });
});

test("each version's service joins through the backend: its containers, task role and load balancer", () => {
    for (const version of VERSIONS) {
        const containers = JSON.parse(g.one("aws:ecs/taskDefinition:TaskDefinition", `-${version}`).inputs.containerDefinitions);
        expect(containers.map((c: { name: string }) => c.name)).toEqual(["model", "proxy"]);
        expect(containers[0].portMappings).toEqual([{ name: "http", containerPort: 8080, protocol: "tcp" }]);
        expect(g.one("aws:iam/rolePolicy:RolePolicy", `-${version}-task`)).toBeDefined();
        expect(g.one("aws:ecs/service:Service", `-${version}`).inputs.loadBalancers).toEqual([
            { targetGroupArn: g.one("aws:lb/targetGroup:TargetGroup", `-alb-${version}`).state.arn, containerName: "model", containerPort: 8080 },
        ]);
    }
});

test("the alarms read the backend's metrics, and nothing of App Mesh or Lattice is declared", () => {
    expect(g.one("aws:cloudwatch/metricAlarm:MetricAlarm", "-canary-latency").inputs.namespace).toBe("AWS/ApplicationELB");
    expect(g.resources.filter((r) => /^aws:(appmesh|vpclattice|servicediscovery)\//.test(r.type))).toEqual([]);
    expect(g.outputs.endpoint).toBe("alb.example.internal");
});
