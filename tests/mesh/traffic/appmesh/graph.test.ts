/**
 * The App Mesh resource graph, as the program registers it under engine-like mocks: the
 * mesh and its routes, the ingress gateway, and the per-version metrics and canary alarms
 * (taken from Envoy's access logs).
 */
import { changedBetween, deploy, Graph, runProgram } from "../../../harness/program";
import { BASE_CONFIG } from "../../../harness/stacks";
import { APP_MESH_ENDED } from "../../../../contract/outputs";

const T = {
    mesh: "aws:appmesh/mesh:Mesh",
    node: "aws:appmesh/virtualNode:VirtualNode",
    router: "aws:appmesh/virtualRouter:VirtualRouter",
    route: "aws:appmesh/route:Route",
    service: "aws:appmesh/virtualService:VirtualService",
    cloudMap: "aws:servicediscovery/service:Service",
    namespace: "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    vpc: "awsx:ec2:Vpc",
};

const routeBody = (route: { inputs: any }) => {
    const spec = route.inputs.spec;
    return spec.httpRoute ?? spec.http2Route ?? spec.grpcRoute;
};

describe("the App Mesh graph for the default config", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({ ...BASE_CONFIG, canaryWeight: "25" });
    });

    test("pulumi preview and up say, once, that AWS no longer serves App Mesh and where to go", () => {
        expect(g.warnings).toEqual([APP_MESH_ENDED]);
        expect(APP_MESH_ENDED).toMatch(/^AWS ended App Mesh on 2026-09-30 .*docs\/traffic-backends\.md#leaving-app-mesh$/);
    });

    test("declares one mesh, two nodes, one router, two routes and one virtual service", () => {
        expect(g.ofType(T.mesh)).toHaveLength(1);
        expect(g.ofType(T.node).map((n) => n.name)).toEqual(["inference-appmesh-stable", "inference-appmesh-canary"]);
        expect(g.ofType(T.router)).toHaveLength(1);
        expect(g.ofType(T.route)).toHaveLength(2);
        expect(g.ofType(T.service)).toHaveLength(1);
        expect(g.ofType(T.cloudMap).map((c) => c.inputs.name)).toEqual(["inference-stable", "inference-canary", "inference"]);
    });

    test("a weight change (25 -> 50) changes the weighted route's inputs and nothing else", async () => {
        const after = await deploy({ ...BASE_CONFIG, canaryWeight: "50" });
        expect(changedBetween(g, after)).toEqual([`${T.route}::inference-appmesh-weighted`]);
        expect(routeBody(after.one(T.route, "-weighted")).action.weightedTargets.map((t: any) => t.weight)).toEqual([50, 50]);
    });

    test("the mesh only lets nodes reach declared backends", () => {
        expect(g.one(T.mesh).inputs.spec.egressFilter.type).toBe("DROP_ALL");
        for (const node of g.ofType(T.node)) expect(node.inputs.spec.backends).toBeUndefined();
    });

    test("a model hub, only when configured: each egress host a virtual service of its own name, provided by a DNS node on 443, a backend of both versions and of nothing else; no task changes", async () => {
        const hosts = ["huggingface.co", "cdn-lfs.hf.co"];
        const after = await deploy({ ...BASE_CONFIG, canaryWeight: "25", appmesh: JSON.stringify({ egressHosts: hosts }) });
        hosts.forEach((host, i) => {
            const node = after.one(T.node, `-egress-${i + 1}`);
            expect(node.inputs.spec).toEqual({ listeners: [{ portMapping: { port: 443, protocol: "tcp" } }], serviceDiscovery: { dns: { hostname: host } } });
            const service = after.one(T.service, `-egress-${i + 1}`);
            expect(service.inputs).toMatchObject({
                name: host,
                meshName: after.one(T.mesh).state.name,
                spec: { provider: { virtualNode: { virtualNodeName: node.state.name } } },
            });
        });
        for (const version of ["stable", "canary"]) {
            expect(after.one(T.node, `appmesh-${version}`).inputs.spec.backends).toEqual(
                hosts.map((virtualServiceName) => ({ virtualService: { virtualServiceName } })),
            );
        }
        expect(changedBetween(g, { ...after, resources: after.resources.filter((r) => !r.name.includes("-egress-")) })).toEqual([
            `${T.node}::inference-appmesh-canary`,
            `${T.node}::inference-appmesh-stable`,
        ]);
    });

    test("every reference is the referenced resource's real name", () => {
        const meshName = g.one(T.mesh).state.name;
        for (const type of [T.node, T.router, T.route, T.service]) {
            for (const r of g.ofType(type)) expect(r.inputs.meshName).toBe(meshName);
        }
        const routerName = g.one(T.router).state.name;
        for (const route of g.ofType(T.route)) expect(route.inputs.virtualRouterName).toBe(routerName);
        expect(g.one(T.service).inputs.spec.provider.virtualRouter.virtualRouterName).toBe(routerName);

        const nodeName = (v: string) => g.one(T.node, `-${v}`).state.name;
        expect(routeBody(g.one(T.route, "-weighted")).action.weightedTargets.map((t: any) => t.virtualNode)).toEqual([nodeName("stable"), nodeName("canary")]);
        expect(routeBody(g.one(T.route, "-pin")).action.weightedTargets).toEqual([{ virtualNode: nodeName("canary"), weight: 100 }]);
    });

    test("each node discovers its own version's Cloud Map service in the namespace the stack creates", () => {
        const namespace = g.one(T.namespace);
        expect(namespace.inputs).toMatchObject({ name: "ai.internal", vpc: g.one(T.vpc).state.vpcId });
        for (const version of ["stable", "canary"]) {
            const discovery = g.one(T.node, `-${version}`).inputs.spec.serviceDiscovery.awsCloudMap;
            const cloudMap = g.one(T.cloudMap, `-${version}`);
            expect(discovery).toEqual({ namespaceName: namespace.state.name, serviceName: cloudMap.state.name });
            expect(cloudMap.inputs.name).toBe(`inference-${version}`);
            expect(cloudMap.inputs.dnsConfig.namespaceId).toBe(namespace.id);
        }
    });

    test("the virtual service's name resolves: a Cloud Map record under the service name", () => {
        const frontDoor = g.one(T.cloudMap, "-service");
        expect(`${frontDoor.inputs.name}.${g.one(T.namespace).inputs.name}`).toBe(g.one(T.service).inputs.name);
        const instance = g.one("aws:servicediscovery/instance:Instance");
        expect(instance.inputs.serviceId).toMatch(/^srv-/);
        expect(instance.inputs.attributes.AWS_INSTANCE_IPV4).not.toMatch(/^127\./);
    });

    test("nodes and router listen on the same port and protocol", () => {
        const expected = { port: 8080, protocol: "http" };
        expect(g.one(T.router).inputs.spec.listeners).toEqual([{ portMapping: expected }]);
        for (const node of g.ofType(T.node)) {
            const [listener] = node.inputs.spec.listeners;
            expect(listener.portMapping).toEqual(expected);
            expect(listener.healthCheck).toMatchObject({ protocol: "http", port: 8080, path: "/health" });
            expect(listener.outlierDetection).toMatchObject({ maxServerErrors: 5, maxEjectionPercent: 50 });
            expect(node.inputs.spec.logging.accessLog.file.path).toBe("/dev/stdout");
            const fields = Object.fromEntries(node.inputs.spec.logging.accessLog.file.format.jsons.map((j: any) => [j.key, j.value]));
            expect(fields).toMatchObject({
                version: node.name.split("-").pop(),
                code: "%RESPONSE_CODE%",
                duration: "%DURATION%",
                response_duration: "%RESPONSE_DURATION%",
            });
        }
    });

    test("routes and node listeners share a per-request timeout sized for LLM requests", () => {
        const timeout = { perRequest: { unit: "s", value: 300 }, idle: { unit: "s", value: 300 } };
        for (const route of g.ofType(T.route)) expect(routeBody(route).timeout).toEqual(timeout);
        for (const node of g.ofType(T.node)) expect(node.inputs.spec.listeners[0].timeout).toEqual({ http: timeout });
    });

    test("the pin route matches the pin header at a higher priority than the split", () => {
        const pin = g.one(T.route, "-pin");
        const weighted = g.one(T.route, "-weighted");
        expect(pin.inputs.spec.priority).toBeLessThan(weighted.inputs.spec.priority);
        expect(routeBody(pin).match).toEqual({ prefix: "/", headers: [{ name: "x-canary", match: { exact: "always" } }] });
        expect(routeBody(weighted).match).toEqual({ prefix: "/" });
    });

    test("the virtual service is a DNS name in the namespace, provided by the router", () => {
        expect(g.one(T.service).inputs.name).toBe("inference.ai.internal");
        expect(g.outputs.virtualServiceName).toBe("inference.ai.internal");
    });

    /** What the outputs say of one version: its revision and service, where its GPU capacity would be (none here), its scaling bounds. */
    const deployedVersion = (version: string, minCount: number) => ({
        fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
        taskDefinitionArn: g.one("aws:ecs/taskDefinition:TaskDefinition", `-${version}`).state.arn,
        serviceUrn: g.urns.find((u) => u.endsWith(`ai-canary:compute:FargateService::inference-${version}`)),
        capacityUrn: `urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:GpuCapacity::inference-${version}-gpu`,
        scaling: {
            minCount,
            restingMinCount: minCount,
            maxCount: 4,
            requestsPerTaskPerMinute: 60,
            targetUrn: g.urns.find((u) => u.endsWith(`$aws:appautoscaling/target:Target::inference-${version}-scaling`)),
        },
    });

    test("stack outputs name the real resources and the split", () => {
        expect(g.outputs).toEqual({
            trafficBackend: "appmesh",
            endpoint: "inference.ai.internal",
            url: "http://inference.ai.internal:8080",
            weightMetric: { namespace: "AICanary/test-inference", metricName: "CanaryWeight", dimensions: {} },
            meshName: g.one(T.mesh).state.name,
            virtualServiceName: "inference.ai.internal",
            virtualRouterName: g.one(T.router).state.name,
            weightedRouteName: g.one(T.route, "-weighted").state.name,
            pinRouteName: g.one(T.route, "-pin").state.name,
            stableVirtualNodeName: g.one(T.node, "-stable").state.name,
            canaryVirtualNodeName: g.one(T.node, "-canary").state.name,
            canaryWeight: 25,
            stableWeight: 75,
            clusterName: g.one("aws:ecs/cluster:Cluster").state.name,
            stableServiceName: g.one("aws:ecs/service:Service", "-stable").state.name,
            canaryServiceName: g.one("aws:ecs/service:Service", "-canary").state.name,
            vpcId: g.one(T.vpc).state.vpcId,
            canaryErrorRateAlarmName: g.one("aws:cloudwatch/metricAlarm:MetricAlarm", "-canary-errors").state.name,
            canaryLatencyAlarmName: g.one("aws:cloudwatch/metricAlarm:MetricAlarm", "-canary-latency").state.name,
            dashboardName: "test-inference-canary",
            dashboardUrl: "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#dashboards/dashboard/test-inference-canary",
            trafficResourceUrn: g.urns.find((u) => u.endsWith("$aws:appmesh/route:Route::inference-appmesh-weighted")),
            capacityProvidersUrn:
                "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$aws:ecs/clusterCapacityProviders:ClusterCapacityProviders::inference-capacity",
            versions: { stable: deployedVersion("stable", 2), canary: deployedVersion("canary", 1) },
            versionMetrics: {
                stable: {
                    requests: { namespace: "AICanary/test-inference", metricName: "Requests", dimensions: { Version: "stable" } },
                    errors: { namespace: "AICanary/test-inference", metricName: "Errors5xx", dimensions: { Version: "stable" } },
                    latencyMs: { namespace: "AICanary/test-inference", metricName: "RequestTime", dimensions: { Version: "stable" } },
                    firstByteMs: { namespace: "AICanary/test-inference", metricName: "TimeToFirstByte", dimensions: { Version: "stable" } },
                },
                canary: {
                    requests: { namespace: "AICanary/test-inference", metricName: "Requests", dimensions: { Version: "canary" } },
                    errors: { namespace: "AICanary/test-inference", metricName: "Errors5xx", dimensions: { Version: "canary" } },
                    latencyMs: { namespace: "AICanary/test-inference", metricName: "RequestTime", dimensions: { Version: "canary" } },
                    firstByteMs: { namespace: "AICanary/test-inference", metricName: "TimeToFirstByte", dimensions: { Version: "canary" } },
                },
            },
        });
    });
});

describe("gRPC, with ingress, configured timeouts and retries", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({
            ...BASE_CONFIG,
            protocol: "grpc",
            port: "50051",
            requestTimeoutSeconds: "900",
            idleTimeoutSeconds: "1200",
            appmesh: JSON.stringify({
                maxRetries: 1,
                ingress: { enabled: true, allowedCidrs: ["203.0.113.0/24"], grpcServiceName: "inference.GRPCInferenceService" },
            }),
        });
    });

    test("router, nodes, both routes and the gateway agree on the protocol and port", () => {
        expect(g.one(T.router).inputs.spec.listeners[0].portMapping).toEqual({ port: 50051, protocol: "grpc" });
        for (const node of g.ofType(T.node)) {
            expect(node.inputs.spec.listeners[0].portMapping).toEqual({ port: 50051, protocol: "grpc" });
            expect(Object.keys(node.inputs.spec.listeners[0].timeout)).toEqual(["grpc"]);
        }
        for (const route of g.ofType(T.route)) expect(Object.keys(route.inputs.spec).filter((k) => k.endsWith("Route"))).toEqual(["grpcRoute"]);
        expect(routeBody(g.one(T.route, "-pin")).match).toEqual({ metadatas: [{ name: "x-canary", match: { exact: "always" } }] });
        expect(g.one("aws:appmesh/virtualGateway:VirtualGateway").inputs.spec.listeners[0].portMapping.protocol).toBe("grpc");
        expect(g.one("aws:appmesh/gatewayRoute:GatewayRoute").inputs.spec.grpcRoute.match).toEqual({ serviceName: "inference.GRPCInferenceService" });
    });

    test("configured timeouts and retries reach the routes", () => {
        const body = routeBody(g.one(T.route, "-weighted"));
        expect(body.timeout).toEqual({ perRequest: { unit: "s", value: 900 }, idle: { unit: "s", value: 1200 } });
        expect(body.retryPolicy).toEqual({
            maxRetries: 1,
            perRetryTimeout: { unit: "s", value: 900 },
            tcpRetryEvents: ["connection-error"],
            httpRetryEvents: ["stream-error"],
        });
    });

    test("gRPC model containers leave health to the mesh (no curl probe)", () => {
        const [model] = JSON.parse(g.one("aws:ecs/taskDefinition:TaskDefinition", "-stable").inputs.containerDefinitions);
        expect(model.name).toBe("model");
        expect(model).not.toHaveProperty("healthCheck");
    });
});

describe("bad config", () => {
    // Each value is refused by loadConfig (tests/config.test.ts has the full table); these
    // run the real program to show it stops before declaring anything, `rollout.*` included.
    test("every problem fails at start, named, and nothing is registered", async () => {
        const run = await runProgram({
            ...BASE_CONFIG,
            canaryWeight: "150",
            protocol: "tcp",
            canaryWieght: "25",
            rollout: JSON.stringify({ steps: [50, 10, 100], bakeSecond: 300 }),
        });
        for (const text of [
            'canaryWeight: got "150"',
            'protocol: got "tcp"',
            'canaryWieght: got "25"; expected a known key: did you mean "canaryWeight"?',
            "rollout.steps: got [50,10,100]; expected strictly ascending weights ending at 100",
            'rollout.bakeSecond: got 300; expected a known key: did you mean "bakeSeconds"?',
        ]) {
            expect(run.error?.message).toContain(text);
        }
        expect(run.graph.resources).toEqual([]);
        expect(run.graph.calls).toEqual([]);
    });

    test("a missing canaryWeight fails at start and registers nothing", async () => {
        const { canaryWeight: _, ...rest } = BASE_CONFIG;
        const run = await runProgram(rest);
        expect(run.error?.message).toMatch(/canaryWeight: got nothing .*an integer from 0 to 100/);
        expect(run.graph.resources).toEqual([]);
    });
});

test("createNamespace false looks up the existing namespace by name instead", async () => {
    const g = await deploy({ ...BASE_CONFIG, appmesh: JSON.stringify({ createNamespace: false, namespace: "shared.internal" }) });
    expect(g.ofType(T.namespace)).toEqual([]);
    const lookup = g.calls.find((c) => c.token.endsWith("getDnsNamespace"))!;
    expect(lookup.inputs).toEqual({ name: "shared.internal", type: "DNS_PRIVATE" });
    for (const node of g.ofType(T.node)) expect(node.inputs.spec.serviceDiscovery.awsCloudMap.namespaceName).toBe("shared.internal");
    expect(g.one(T.cloudMap, "-stable").inputs.dnsConfig.namespaceId).toMatch(/^ns-/);
});
