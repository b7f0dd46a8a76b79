/**
 * The VPC Lattice backend's graph, under the same engine-like mocks as App Mesh, and the
 * listener's specs it is built from.
 */
import { changedBetween, deploy, Graph, runProgram } from "../../../harness/program";
import { BASE_CONFIG } from "../../../harness/stacks";
import { Registered } from "../../../harness/mocks";
import { loadConfig } from "../../../../mesh/config/schema";
import { latticeIdleTimeout, listenerProtocol } from "../../../../mesh/traffic/lattice/specs";

const T = {
    network: "aws:vpclattice/serviceNetwork:ServiceNetwork",
    vpcAssociation: "aws:vpclattice/serviceNetworkVpcAssociation:ServiceNetworkVpcAssociation",
    service: "aws:vpclattice/service:Service",
    serviceAssociation: "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation",
    targetGroup: "aws:vpclattice/targetGroup:TargetGroup",
    listener: "aws:vpclattice/listener:Listener",
    rule: "aws:vpclattice/listenerRule:ListenerRule",
    authPolicy: "aws:vpclattice/authPolicy:AuthPolicy",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    ecsService: "aws:ecs/service:Service",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    filter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
    vpc: "awsx:ec2:Vpc",
};
const VERSIONS = ["stable", "canary"] as const;
const LATTICE = { ...BASE_CONFIG, trafficBackend: "lattice" };

const containers = (g: Graph, version: string): any[] => JSON.parse(g.one(T.taskDef, `-${version}`).inputs.containerDefinitions);
const statements = (p: Registered): any[] => JSON.parse(p.inputs.policy).Statement;
const splitOf = (g: Graph) => g.one(T.listener).inputs.defaultAction.forwards[0].targetGroups;

describe("the Lattice graph for the default config", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({ ...LATTICE, canaryWeight: "25" });
    });

    test("warns of nothing", () => {
        expect(g.warnings).toEqual([]);
    });

    test("declares a service network, a service, two target groups, a listener and a pin rule per version, and no App Mesh", () => {
        for (const type of [T.network, T.vpcAssociation, T.service, T.serviceAssociation, T.listener]) {
            expect(g.ofType(type)).toHaveLength(1);
        }
        expect(g.ofType(T.rule).map((r) => r.name)).toEqual(["inference-lattice-pin-stable", "inference-lattice-pin"]);
        expect(g.ofType(T.targetGroup).map((t) => t.name)).toEqual(["inference-lattice-stable", "inference-lattice-canary"]);
        expect(g.resources.filter((r) => r.type.startsWith("aws:appmesh/") || r.type.startsWith("aws:servicediscovery/"))).toEqual([]);
        expect(g.ofType(T.filter)).toEqual([]);
    });

    test("every reference is the referenced resource's real id", () => {
        const network = g.one(T.network);
        const service = g.one(T.service);
        expect(g.one(T.vpcAssociation).inputs).toMatchObject({
            serviceNetworkIdentifier: network.id,
            vpcIdentifier: g.one(T.vpc).state.vpcId,
            securityGroupIds: [g.one(T.sg, "-lattice-clients").id],
        });
        expect(g.one(T.serviceAssociation).inputs).toMatchObject({ serviceIdentifier: service.id, serviceNetworkIdentifier: network.id });
        expect(g.one(T.listener).inputs.serviceIdentifier).toBe(service.id);
        for (const rule of g.ofType(T.rule))
            expect(rule.inputs).toMatchObject({ serviceIdentifier: service.id, listenerIdentifier: g.one(T.listener).state.listenerId });
        expect(splitOf(g).map((t: any) => t.targetGroupIdentifier)).toEqual([g.one(T.targetGroup, "-stable").id, g.one(T.targetGroup, "-canary").id]);
    });

    test("the listener's default action splits 75/25", () => {
        expect(splitOf(g).map((t: any) => t.weight)).toEqual([75, 25]);
        expect(g.one(T.listener).inputs).toMatchObject({ protocol: "HTTP", port: 8080 });
    });

    test("the pin rules send the pin header to the canary (pinValue) or to stable (stablePinValue), ahead of the default action", () => {
        expect(g.one(T.rule, "-pin").inputs).toMatchObject({
            priority: 10,
            match: { httpMatch: { headerMatches: [{ name: "x-canary", caseSensitive: true, match: { exact: "always" } }] } },
            action: { forward: { targetGroups: [{ targetGroupIdentifier: g.one(T.targetGroup, "-canary").id, weight: 100 }] } },
        });
        expect(g.one(T.rule, "-pin-stable").inputs).toMatchObject({
            priority: 11,
            match: { httpMatch: { headerMatches: [{ name: "x-canary", caseSensitive: true, match: { exact: "stable" } }] } },
            action: { forward: { targetGroups: [{ targetGroupIdentifier: g.one(T.targetGroup, "-stable").id, weight: 100 }] } },
        });
    });

    test("target groups are IP targets on the model port with the shared health check", () => {
        for (const tg of g.ofType(T.targetGroup)) {
            expect(tg.inputs.type).toBe("IP");
            expect(tg.inputs.config).toMatchObject({ vpcIdentifier: g.one(T.vpc).state.vpcId, port: 8080, protocol: "HTTP", protocolVersion: "HTTP1" });
            expect(tg.inputs.config.healthCheck).toMatchObject({
                path: "/health",
                healthCheckIntervalSeconds: 10,
                healthCheckTimeoutSeconds: 5,
                healthyThresholdCount: 2,
                unhealthyThresholdCount: 5,
            });
        }
    });

    test("the service keeps idle connections for long generations and needs no auth by default", () => {
        expect(g.one(T.service).inputs).toMatchObject({ authType: "NONE", idleTimeoutSeconds: 300 });
        expect(g.ofType(T.authPolicy)).toEqual([]);
    });

    test("tasks run the model alone and ECS registers each version in its own target group", () => {
        for (const version of VERSIONS) {
            const [model, ...others] = containers(g, version);
            expect(others).toEqual([]);
            expect(model.name).toBe("model");
            expect(model).not.toHaveProperty("dependsOn");
            expect(model.portMappings).toEqual([{ name: "model", containerPort: 8080, protocol: "tcp" }]);
            const td = g.one(T.taskDef, `-${version}`).inputs;
            expect(td).not.toHaveProperty("proxyConfiguration");
            expect(td).not.toHaveProperty("taskRoleArn");

            const service = g.one(T.ecsService, `-${version}`).inputs;
            expect(service).not.toHaveProperty("serviceRegistries");
            const infrastructureRole = g.one(T.role, `-${version}-lattice`);
            expect(service.vpcLatticeConfigurations).toEqual([
                { roleArn: infrastructureRole.state.arn, targetGroupArn: g.one(T.targetGroup, `-${version}`).state.arn, portName: "model" },
            ]);
        }
    });

    test("the infrastructure role is ECS's, and may register targets in its own version's group only", () => {
        for (const version of VERSIONS) {
            const role = g.one(T.role, `-${version}-lattice`);
            const [trust] = JSON.parse(role.inputs.assumeRolePolicy).Statement;
            expect(trust.Principal).toEqual({ Service: "ecs.amazonaws.com" });
            const policy = statements(g.one(T.rolePolicy, `-${version}-lattice`));
            expect(policy[0]).toMatchObject({ Resource: g.one(T.targetGroup, `-${version}`).state.arn });
            expect(policy[0].Action).toContain("vpc-lattice:RegisterTargets");
        }
        for (const p of g.ofType(T.rolePolicy)) {
            for (const s of statements(p)) {
                if (s.Resource !== "*") continue;
                for (const action of s.Action) expect(action).toMatch(/^(ecr:GetAuthorizationToken|ec2:Describe\w+)$/);
            }
        }
    });

    test("the tasks admit the app port from VPC Lattice's prefix list only", () => {
        const lookup = g.calls.find((c) => c.token.endsWith("getManagedPrefixList"))!;
        expect(lookup.inputs.name).toBe("com.amazonaws.us-west-2.vpc-lattice");
        const rules = g.one(T.sg, "-network-tasks").inputs.ingress;
        expect(rules).toEqual([expect.objectContaining({ fromPort: 8080, toPort: 8080, prefixListIds: [expect.stringMatching(/^pl-/)] })]);
        expect(rules[0]).not.toHaveProperty("cidrBlocks");
    });

    test("alarms read Lattice's own metrics for the canary's target group", () => {
        const canaryTg = g.one(T.targetGroup, "-canary").id;
        const [requests, errors] = g.one(T.alarm, "-canary-errors").inputs.metricQueries;
        expect(requests.metric).toMatchObject({ namespace: "AWS/VpcLattice", metricName: "TotalRequestCount", dimensions: { TargetGroup: canaryTg } });
        expect(errors.metric).toMatchObject({ namespace: "AWS/VpcLattice", metricName: "HTTPCode_5XX_Count", dimensions: { TargetGroup: canaryTg } });
        expect(g.one(T.alarm, "-canary-latency").inputs).toMatchObject({ namespace: "AWS/VpcLattice", metricName: "RequestTime", extendedStatistic: "p99" });
    });

    test("outputs share the App Mesh backend's common keys and add Lattice's own", () => {
        expect(g.outputs).toMatchObject({
            trafficBackend: "lattice",
            endpoint: g.one(T.service).state.dnsEntries[0].domainName,
            canaryWeight: 25,
            stableWeight: 75,
            clusterName: g.one("aws:ecs/cluster:Cluster").state.name,
            latticeServiceArn: g.one(T.service).state.arn,
            listenerArn: g.one(T.listener).state.arn,
            stableTargetGroupArn: g.one(T.targetGroup, "-stable").state.arn,
            canaryTargetGroupArn: g.one(T.targetGroup, "-canary").state.arn,
        });
        expect(g.outputs).not.toHaveProperty("meshName");
    });
});

describe("Lattice isolation", () => {
    let base: Graph;
    beforeAll(async () => {
        base = await deploy(LATTICE);
    });

    test("a weight change touches only the listener", async () => {
        const after = await deploy({ ...LATTICE, canaryWeight: "25" });
        expect(changedBetween(base, after)).toEqual([`${T.listener}::inference-lattice-listener`]);
        expect(splitOf(after).map((t: any) => t.weight)).toEqual([75, 25]);
    });

    test("a canary image change touches only the canary's task definition and service", async () => {
        const after = await deploy({ ...LATTICE, canary: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:2.0.0" }) });
        expect(changedBetween(base, after)).toEqual([`${T.ecsService}::inference-canary`, `${T.taskDef}::inference-canary`]);
    });
});

describe("Lattice protocols and options", () => {
    test("gRPC uses an HTTPS listener and target groups of protocol version GRPC, health-checked over HTTP/2", async () => {
        const g = await deploy({ ...LATTICE, protocol: "grpc" });
        expect(g.one(T.listener).inputs).toMatchObject({ protocol: "HTTPS", port: 443 });
        for (const tg of g.ofType(T.targetGroup)) {
            expect(tg.inputs.config.protocolVersion).toBe("GRPC");
            expect(tg.inputs.config.healthCheck.protocolVersion).toBe("HTTP2");
        }
        expect(g.one(T.sg, "-lattice-clients").inputs.ingress[0]).toMatchObject({ fromPort: 443, toPort: 443 });
    });

    test("AWS_IAM auth lets only the listed principals invoke the service; a custom domain name becomes the endpoint", async () => {
        const principal = "arn:aws:iam::123456789012:role/eval-runner";
        const g = await deploy({
            ...LATTICE,
            lattice: JSON.stringify({ authType: "AWS_IAM", allowedPrincipals: [principal], customDomainName: "llm.example.internal" }),
        });
        const service = g.one(T.service);
        expect(service.inputs).toMatchObject({ authType: "AWS_IAM", customDomainName: "llm.example.internal" });
        const policy = g.one(T.authPolicy);
        expect(policy.inputs.resourceIdentifier).toBe(service.state.arn);
        expect(JSON.parse(policy.inputs.policy).Statement).toEqual([
            { Effect: "Allow", Principal: { AWS: [principal] }, Action: "vpc-lattice-svcs:Invoke", Resource: `${service.state.arn}/*` },
        ]);
        expect(g.outputs.endpoint).toBe("llm.example.internal");
    });
});

describe("Lattice config refusals", () => {
    test.each([
        [{ trafficBackend: "istio" }, "trafficBackend"],
        [{ maxRetries: "1" }, "maxRetries"],
        [{ outlierDetection: "{}" }, "outlierDetection"],
        [{ namespace: "ai.internal" }, "namespace"],
        [{ envoyImage: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod" }, "envoyImage"],
        [{ ingress: JSON.stringify({ enabled: true }) }, "ingress"],
        [{ appmesh: JSON.stringify({ maxRetries: 1 }) }, "appmesh"],
        [{ requestTimeoutSeconds: "900" }, "requestTimeoutSeconds"],
        [{ idleTimeoutSeconds: "900", requestTimeoutSeconds: "300" }, "idleTimeoutSeconds"],
        [{ lattice: JSON.stringify({ authType: "AWS_IAM" }) }, "lattice.allowedPrincipals"],
        [{ rollout: JSON.stringify({ latencyMetric: "firstByte" }) }, "rollout.latencyMetric"],
        [{ protocol: "grpc", lattice: JSON.stringify({ customDomainName: "llm.example.internal" }) }, "lattice.certificateArn"],
    ])("%j is refused at start, naming %s", (overrides, key) => {
        const raw: Record<string, string> = { ...LATTICE, ...overrides };
        expect(() => loadConfig(raw)).toThrow(`- ${key}: got`);
    });

    test("the program stops before declaring anything", async () => {
        const run = await runProgram({ ...LATTICE, maxRetries: "1" });
        expect(run.error).toBeInstanceOf(Error);
        expect(run.graph.resources).toEqual([]);
    });
});

describe("the listener's specs (specs.ts)", () => {
    const configWith = (raw: Record<string, string>) => loadConfig({ ...BASE_CONFIG, trafficBackend: "lattice", ...raw });

    test("HTTP/1.1 listens on the model's port; HTTP/2 and gRPC need HTTPS on 443", () => {
        expect(listenerProtocol(configWith({ port: "8000" }))).toEqual({ protocol: "HTTP", port: 8000 });
        expect(listenerProtocol(configWith({ protocol: "http2" }))).toEqual({ protocol: "HTTPS", port: 443 });
        expect(listenerProtocol(configWith({ protocol: "grpc" }))).toEqual({ protocol: "HTTPS", port: 443 });
    });

    test("the idle timeout stays inside Lattice's 60-600 s", () => {
        expect(latticeIdleTimeout(configWith({ requestTimeoutSeconds: "30" }))).toBe(60);
        expect(latticeIdleTimeout(configWith({ requestTimeoutSeconds: "450" }))).toBe(450);
        expect(latticeIdleTimeout(configWith({ requestTimeoutSeconds: "600" }))).toBe(600);
    });
});
