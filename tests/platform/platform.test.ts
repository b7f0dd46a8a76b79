/**
 * A shared platform and services on it, under the engine-like mocks, each service's
 * `StackReference` answered with the platform stack's rendered outputs, as the engine
 * answers it: what the platform declares once, what each service declares of its own,
 * names and tags that say which service a resource serves, and config that is refused.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { changedBetween, deploy, Graph, platformReferences, runProgram } from "../harness/program";
import { ROOT, stackConfig } from "../harness/stacks";
import { parsePlatformOutputs, PLATFORM_PROJECT } from "../../contract/outputs";
import platformProgram = require("../../platform/index");

const T = {
    vpc: "awsx:ec2:Vpc",
    s3: "aws:ec2/vpcEndpoint:VpcEndpoint",
    serviceNetwork: "aws:vpclattice/serviceNetwork:ServiceNetwork",
    vpcAssociation: "aws:vpclattice/serviceNetworkVpcAssociation:ServiceNetworkVpcAssociation",
    serviceAssociation: "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation",
    zone: "aws:route53/zone:Zone",
    ecsService: "aws:ecs/service:Service",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    latticeListener: "aws:vpclattice/listener:Listener",
    cluster: "aws:ecs/cluster:Cluster",
    capacityProviders: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    provider: "aws:ecs/capacityProvider:CapacityProvider",
    group: "aws:autoscaling/group:Group",
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    target: "aws:appautoscaling/target:Target",
};
const REF = "organization/ai-inference-platform/rag";
const WEIGHTS = { source: "s3://my-models/bge-base", storageGiB: 30 };

let platform: Graph;
let embedder: Graph;
let gateway: Graph;
let llm: Graph;
let references: Record<string, Record<string, unknown>>;
beforeAll(async () => {
    platform = await deploy(stackConfig("rag", PLATFORM_PROJECT), { program: platformProgram, project: PLATFORM_PROJECT, stack: "rag" });
    references = await platformReferences(REF);
    // The embedder fetches its weights from S3: on a platform, through the platform's endpoint.
    const embedderConfig = stackConfig("rag-embedder");
    const withWeights = (v: string) => JSON.stringify({ ...JSON.parse(v), weights: WEIGHTS });
    embedder = await deploy(
        { ...embedderConfig, stable: withWeights(embedderConfig.stable), canary: withWeights(embedderConfig.canary) },
        { stack: "rag-embedder" },
    );
    gateway = await deploy(stackConfig("rag-gateway"), { stack: "rag-gateway" });
    llm = await deploy(stackConfig("rag-llm"), { stack: "rag-llm" });
});

test("the platform project is its own, and declares the VPC, its S3 endpoint, the service network with its one association, and the zone", () => {
    const project = yaml.load(fs.readFileSync(path.join(ROOT, "platform", "Pulumi.yaml"), "utf8")) as { name: string; main: string };
    expect(project).toMatchObject({ name: PLATFORM_PROJECT, main: "index.ts" });
    for (const type of [T.vpc, T.s3, T.serviceNetwork, T.vpcAssociation, T.zone]) expect(platform.ofType(type)).toHaveLength(1);
    expect(platform.one(T.zone).inputs).toMatchObject({ name: "rag.internal", vpcs: [{ vpcId: platform.one(T.vpc).state.vpcId }] });
    // The association's security group admits the platform's Lattice ports from its callers' group alone, not the whole VPC.
    const callers = platform.one(T.sg, "-callers");
    expect(platform.one(T.sg, "-lattice-clients").inputs.ingress).toEqual([
        { description: "inference callers in the VPC", protocol: "tcp", fromPort: 80, toPort: 80, securityGroups: [callers.id] },
    ]);
    expect(callers.inputs.ingress).toBeUndefined();
    const outputs = parsePlatformOutputs(platform.outputs, "rag");
    expect(outputs).toMatchObject({
        vpcId: platform.one(T.vpc).state.vpcId,
        serviceNetworkId: platform.one(T.serviceNetwork).id,
        zoneName: "rag.internal",
        latticePorts: [80],
    });
});

test("the AWS request check's platform outputs (tests/awscheck/stack-refs.json) are the contract's, shaped as AWS returns them", () => {
    const refs = JSON.parse(fs.readFileSync(path.join(ROOT, "tests", "awscheck", "stack-refs.json"), "utf8"))[REF];
    expect(Object.keys(parsePlatformOutputs(refs, "rag")).sort()).toEqual(Object.keys(parsePlatformOutputs(platform.outputs, "rag")).sort());
    expect(refs.privateSubnetIds.every((id: string) => /^subnet-[0-9a-f]{17}$/.test(id))).toBe(true);
    expect(refs.serviceNetworkId).toMatch(/^sn-[0-9a-z]{17}$/);
});

test.each([
    ["associates the VPC with an existing service network, admitting its tasks alone", true, 1],
    ["joins an existing service network the VPC is already associated with, declaring neither", false, 0],
])("a platform on an existing service network %s", async (_, associateVpc, associations) => {
    const existingId = "arn:aws:vpc-lattice:us-west-2:210987654321:servicenetwork/sn-0a1b2c3d4e5f60718";
    const g = await deploy(
        { ...stackConfig("rag", PLATFORM_PROJECT), serviceNetwork: JSON.stringify({ existingId, associateVpc }) },
        { program: platformProgram, project: PLATFORM_PROJECT, stack: "rag" },
    );
    expect(g.ofType(T.serviceNetwork)).toEqual([]);
    expect(g.ofType(T.vpcAssociation)).toHaveLength(associations);
    if (associateVpc) {
        expect(g.one(T.vpcAssociation).inputs).toMatchObject({ serviceNetworkIdentifier: existingId, securityGroupIds: [g.one(T.sg, "-lattice-clients").id] });
        expect(g.one(T.sg, "-lattice-clients").inputs.ingress[0].securityGroups).toEqual([g.one(T.sg, "-callers").id]);
    }
    expect(parsePlatformOutputs(g.outputs, "rag").serviceNetworkId).toBe(existingId);
});

test("the gateway (internet-facing, with a golden set) admits the golden set's runner from the platform's NAT gateways, besides its users", () => {
    expect(platform.outputs.natAddresses).toEqual(["198.51.100.10", "198.51.100.11"]);
    const entry = gateway.ofType("aws:ec2/securityGroup:SecurityGroup").find((sg) => sg.name.endsWith("-alb-entry"))!;
    expect(entry.inputs.ingress.map((r: { cidrBlocks: string[] }) => r.cidrBlocks)).toEqual([["203.0.113.0/24"], ["198.51.100.10/32", "198.51.100.11/32"]]);
});

test("across the platform and two services there is one VPC, one VPC association and one S3 gateway endpoint", () => {
    const all = [platform, embedder, gateway];
    for (const type of [T.vpc, T.vpcAssociation, T.s3, T.serviceNetwork, T.zone]) {
        expect(all.reduce((n, g) => n + g.ofType(type).length, 0)).toBe(1);
    }
});

test("the services share the platform's ECS cluster: their services and scaling targets are in it, and none declares its own", () => {
    const cluster = platform.one(T.cluster);
    expect(cluster.inputs.settings).toEqual([{ name: "containerInsights", value: "enabled" }]);
    for (const g of [embedder, gateway, llm]) {
        expect(g.ofType(T.cluster)).toEqual([]);
        for (const service of g.ofType(T.ecsService)) expect(service.inputs.cluster).toBe(cluster.state.arn);
        for (const target of g.ofType(T.target)) expect(target.inputs.resourceId).toMatch(new RegExp(`^service/${cluster.state.name}/`));
        expect(g.outputs.clusterName).toBe(cluster.state.name);
    }
});

test("a GPU service runs on the platform's pool of its instance type: the platform owns the instances and the cluster's capacity providers", () => {
    // The platform: one pool of g6.xlarge, listed with Fargate in the cluster's one capacity provider list.
    const group = platform.one(T.group);
    expect(group.inputs).toMatchObject({ minSize: 0, maxSize: 8 });
    expect(platform.one(T.launchTemplate).inputs.instanceType).toBe("g6.xlarge");
    expect(Buffer.from(platform.one(T.launchTemplate).inputs.userData, "base64").toString()).toContain(`ECS_CLUSTER=${platform.one(T.cluster).state.name}`);
    const provider = platform.one(T.provider);
    expect(platform.one(T.capacityProviders).inputs).toMatchObject({
        clusterName: platform.one(T.cluster).state.name,
        capacityProviders: ["FARGATE", provider.state.name],
    });
    expect(parsePlatformOutputs(platform.outputs, "rag").gpuPools).toEqual({
        "g6.xlarge": { capacityProviderName: provider.state.name, maxInstances: 8, volumeGiB: 200 },
    });
    // The LLM's versions are placed on it, and the LLM declares no capacity of its own.
    for (const version of ["stable", "canary"]) {
        expect(llm.one(T.ecsService, `-${version}`).inputs.capacityProviderStrategies).toEqual([{ capacityProvider: provider.state.name, weight: 1, base: 0 }]);
    }
    for (const type of [T.group, T.launchTemplate, T.provider, T.capacityProviders]) {
        expect([embedder, gateway, llm].reduce((n, g) => n + g.ofType(type).length, 0)).toBe(0);
    }
    // A pool's GPU utilisation is the pool's, not a version's: the LLM's outputs name none.
    expect(JSON.stringify(llm.outputs.versionMetrics)).not.toContain("nvidia_smi");
});

test("the platform's dashboard graphs its cluster and each pool's reservation and GPU utilisation, as the pool's hosts publish it", () => {
    const body = JSON.parse(platform.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody);
    const lines = body.widgets.flatMap((w: { properties: { metrics: unknown[][] } }) => w.properties.metrics);
    const cluster = platform.one(T.cluster).state.name;
    expect(lines).toContainEqual(["ECS/ContainerInsights", "TaskCount", "ClusterName", cluster, expect.anything()]);
    expect(lines).toContainEqual([
        "AWS/ECS/ManagedScaling",
        "CapacityProviderReservation",
        "CapacityProviderName",
        platform.one(T.provider).state.name,
        "ClusterName",
        cluster,
        expect.anything(),
    ]);
    // The GPU line reads the namespace and the dimension the CloudWatch agent on the pool's instances is configured with.
    const userData = Buffer.from(platform.one(T.launchTemplate).inputs.userData, "base64").toString();
    const agent = JSON.parse(/<<'AGENT'\n(.*)\nAGENT/s.exec(userData)![1]).metrics;
    expect(agent.metrics_collected.nvidia_gpu.append_dimensions).toEqual({ Pool: "g6.xlarge" });
    expect(agent.aggregation_dimensions).toEqual([["Pool"]]);
    expect(lines).toContainEqual([agent.namespace, "nvidia_smi_utilization_gpu", "Pool", "g6.xlarge", expect.anything()]);
    expect(platform.outputs.dashboardUrl).toMatch(/#dashboards\/dashboard\/platform-rag$/);
});

test("a GPU version needs a pool of its type on the platform, with its volume, big enough for its deployment: each named, nothing declared", async () => {
    const llmConfig = stackConfig("rag-llm");
    const change = (v: string, gpu: object, scaling?: object) => {
        const parsed = JSON.parse(v);
        return JSON.stringify({ ...parsed, gpu: { ...parsed.gpu, ...gpu }, ...(scaling ? { scaling: { ...parsed.scaling, ...scaling } } : {}) });
    };
    const run = await runProgram(
        {
            ...llmConfig,
            stable: change(llmConfig.stable, { volumeGiB: 300 }, { maxCount: 5 }),
            canary: change(llmConfig.canary, { instanceType: "g6e.xlarge" }),
        },
        { stack: "rag-llm", stackReferences: references },
    );
    expect(run.error?.message).toContain(
        'canary.gpu.instanceType: got "g6e.xlarge"; expected an instance type the platform has a GPU pool of (g6.xlarge), or add one to the platform\'s gpuPools',
    );
    expect(run.error?.message).toContain("stable.gpu.volumeGiB: got 300; expected 200, the volume of the platform's g6.xlarge instances");
    expect(run.error?.message).toContain(
        "stable.scaling.maxCount: got 5; expected a count whose deployment fits the platform's g6.xlarge pool (8 instances; this needs 10), or a larger pool",
    );
    expect(run.graph.resources).toEqual([]);
});

test("each service declares only its own resources, in the platform's VPC and service network", () => {
    const vpcId = platform.one(T.vpc).state.vpcId;
    expect(embedder.one(T.sg, "-network-tasks").inputs.vpcId).toBe(vpcId);
    expect(gateway.one(T.sg, "-alb-entry").inputs.vpcId).toBe(vpcId);
    expect(gateway.one(T.lb).inputs.subnets).toEqual(platform.one(T.vpc).state.publicSubnetIds);
    expect(embedder.one(T.serviceAssociation).inputs.serviceNetworkIdentifier).toBe(platform.one(T.serviceNetwork).id);
    expect(embedder.one(T.ecsService, "-canary").inputs.networkConfiguration.subnets).toEqual(platform.one(T.vpc).state.privateSubnetIds);
    // Every service's tasks are among the platform's callers, beside their own group.
    for (const g of [embedder, gateway]) {
        expect(g.one(T.ecsService, "-stable").inputs.networkConfiguration.securityGroups).toEqual([
            g.one(T.sg, "-network-tasks").id,
            platform.one(T.sg, "-callers").id,
        ]);
    }
    // The tasks admit the platform VPC's CIDR where the backend admits a CIDR (the ALB's nodes are in it).
    expect(gateway.one(T.sg, "-network-tasks").inputs.ingress[0].cidrBlocks).toEqual(["10.60.0.0/16"]);
    expect(embedder.outputs).toMatchObject({ vpcId, serviceNetworkId: platform.one(T.serviceNetwork).id });
});

test("a service's resources are named after it and tagged with it, its stack and its platform", () => {
    for (const [g, service, stack] of [
        [embedder, "embedder", "rag-embedder"],
        [gateway, "gateway", "rag-gateway"],
    ] as const) {
        for (const version of ["stable", "canary"]) {
            const ecs = g.one(T.ecsService, `-${version}`);
            expect(ecs.state.name).toMatch(new RegExp(`^${service}-${version}-[0-9a-f]{7}$`));
            expect(ecs.inputs.tags).toEqual({
                "ai-canary:service": service,
                "ai-canary:stack": stack,
                "ai-canary:platform": "rag",
                "ai-canary:version": version,
            });
        }
        for (const alarm of g.ofType(T.alarm)) {
            expect(alarm.state.name).toMatch(new RegExp(`^${service}-observability-canary-`));
            expect(alarm.inputs.alarmDescription).toMatch(new RegExp(`^${service} \\(stack ${stack}\\): canary `));
            expect(alarm.inputs.tags).toMatchObject({ "ai-canary:service": service, "ai-canary:platform": "rag" });
        }
    }
    expect(platform.one(T.zone).inputs.tags).toEqual({ "ai-canary:stack": "rag", "ai-canary:platform": "rag" });
});

test("each service has a stable name in the platform's zone, and a caller's containers get its callees' URLs by that name", () => {
    const zoneId = platform.one(T.zone).id;
    const service = embedder.one("aws:vpclattice/service:Service");
    expect(service.inputs.customDomainName).toBe("embedder.rag.internal");
    expect(embedder.one("aws:route53/record:Record").inputs).toEqual({
        zoneId,
        name: "embedder.rag.internal",
        type: "CNAME",
        ttl: 300,
        records: [service.state.dnsEntries[0].domainName],
        tags: undefined,
    });
    expect(embedder.outputs).toMatchObject({ endpoint: "embedder.rag.internal", url: "http://embedder.rag.internal:80" });
    // The Lattice listener is on HTTP's own port, so the name alone reaches it.
    expect(embedder.one(T.latticeListener).inputs).toMatchObject({ protocol: "HTTP", port: 80 });
    const lb = gateway.one(T.lb);
    expect(gateway.one("aws:route53/record:Record").inputs).toMatchObject({
        zoneId,
        name: "gateway.rag.internal",
        type: "A",
        aliases: [{ name: lb.state.dnsName, zoneId: lb.state.zoneId, evaluateTargetHealth: true }],
    });
    for (const version of ["stable", "canary"]) {
        const [model] = JSON.parse(gateway.one("aws:ecs/taskDefinition:TaskDefinition", `-${version}`).inputs.containerDefinitions);
        expect(model.environment).toEqual([
            { name: "CANARY_METRIC_NAMESPACE", value: "AICanary/rag-gateway-gateway" },
            { name: "CANARY_VERSION", value: version },
            { name: "EMBEDDER_URL", value: "http://embedder.rag.internal" },
            { name: "LLM_MODEL", value: "llama-3.1-8b-instruct" },
            { name: "LLM_URL", value: "http://llm.rag.internal" },
            { name: "RERANKER_URL", value: "http://reranker.rag.internal" },
        ]);
        const [callee] = JSON.parse(embedder.one("aws:ecs/taskDefinition:TaskDefinition", `-${version}`).inputs.containerDefinitions);
        expect(callee.environment.map((e: { name: string }) => e.name)).not.toContain("GATEWAY_URL");
    }
});

test("a weight change in one service changes only that service's split resource", async () => {
    const after = await deploy({ ...stackConfig("rag-gateway"), canaryWeight: "25" }, { stack: "rag-gateway" });
    expect(changedBetween(gateway, after)).toEqual(["aws:lb/listener:Listener::gateway-alb-listener"]);
});

test("a service whose Lattice listener port the platform does not admit fails before anything is created, naming both", async () => {
    const grpc = {
        ...stackConfig("rag-embedder"),
        protocol: "grpc",
        lattice: JSON.stringify({ certificateArn: "arn:aws:acm:us-west-2:123456789012:certificate/0e0a3f2c-1d1a-4c1b-9e5c-2f7a1b2c3d4e" }),
    };
    const run = await runProgram(grpc, { stack: "rag-embedder", stackReferences: references });
    expect(run.error?.message).toContain(
        "protocol: got \"grpc\"; expected a protocol whose Lattice listener port the platform's service network admits (80; grpc listens on 443), or add 443 to the platform's latticePorts",
    );
    expect(run.graph.resources).toEqual([]);
    // Without a certificate, the stable name in the private zone cannot serve HTTPS: refused first, with how to get one.
    const noCert = await runProgram({ ...stackConfig("rag-embedder"), protocol: "grpc" }, { stackReferences: references });
    expect(noCert.error?.message).toContain("lattice.certificateArn: got nothing");
    expect(noCert.error?.message).toContain("AWS Private CA");
});

test.each([
    ["a network beside a platform", { network: JSON.stringify({ cidrBlock: "10.1.0.0/16" }) }, "network: got", "no network with platform"],
    ["App Mesh on a platform", { trafficBackend: "appmesh" }, "platform: got", "App Mesh stacks stand alone"],
    ["a platform that is no stack name", { platform: "rag" }, 'platform: got "rag"', "org/ai-inference-platform/stack"],
    [
        "a key under a misspelt namespace",
        { "ai-inference-canry:calls": '["reranker"]' },
        "ai-inference-canry:calls",
        'did you mean "ai-inference-canary:calls"?',
    ],
    ["calling itself", { calls: '["embedder"]' }, "calls: got", "services other than this one (embedder)"],
    [
        "an environment name a callee's URL takes",
        { calls: '["reranker"]', canary: JSON.stringify({ image: "r/m:1", environment: { RERANKER_URL: "http://x" } }) },
        "canary.environment.RERANKER_URL",
        "not set: calls sets RERANKER_URL",
    ],
])("refuses %s", async (_, change, key, text) => {
    const run = await runProgram({ ...stackConfig("rag-embedder"), ...change }, { stackReferences: references });
    expect(run.error?.message).toContain(key);
    expect(run.error?.message).toContain(text);
    expect(run.graph.resources).toEqual([]);
});

test("calls without a platform is refused: callees are found by name on one", async () => {
    const run = await runProgram({ ...stackConfig("dev"), calls: '["embedder"]' });
    expect(run.error?.message).toContain('calls: got ["embedder"]; expected no calls unless platform is set');
});

test("a platform stack's config is validated the same way: every problem named, nothing declared", async () => {
    const run = await runProgram(
        {
            zoneName: "not a zone",
            latticePorts: "[0]",
            colour: "blue",
            serviceNetwork: JSON.stringify({ existingId: "sn-123", associateVpc: false }),
            gpuPools: JSON.stringify({ "g6.xlarg": { maxInstances: 2 }, "g5.xlarge": { maxInstances: 0 } }),
        },
        { program: platformProgram, project: PLATFORM_PROJECT },
    );
    expect(run.error?.message).toMatch(/zoneName: got "not a zone"/);
    expect(run.error?.message).toContain(
        'gpuPools.g6.xlarg: got "g6.xlarg"; expected a GPU instance type (a g5, g6, g6e, p4d or p5 size): did you mean "g6.xlarge"?',
    );
    expect(run.error?.message).toMatch(/gpuPools\.g5\.xlarge\.maxInstances: got 0; expected an integer from 1 to 100/);
    expect(run.error?.message).toContain('serviceNetwork.existingId: got "sn-123"; expected a service network id (sn- and 17 characters) or its ARN');
    const noNetwork = await runProgram({ serviceNetwork: JSON.stringify({ associateVpc: false }) }, { program: platformProgram, project: PLATFORM_PROJECT });
    expect(noNetwork.error?.message).toContain("serviceNetwork.associateVpc: got false; expected true unless existingId is set");
    expect(run.error?.message).toMatch(/latticePorts: got \[0\]/);
    expect(run.error?.message).toMatch(/colour/);
    expect(run.graph.resources).toEqual([]);
});

test("the program names a key under a misspelt namespace together with the other problems, in one error", async () => {
    const run = await runProgram({ ...stackConfig("rag-embedder"), "ai-inference-canry:port": "8000", canaryWeight: "150" }, { stackReferences: references });
    expect(run.error?.message).toMatch(/- ai-inference-canry:port: got "\(set\)".*\n {2}- canaryWeight: got "150"; expected an integer from 0 to 100/);
    expect(run.graph.resources).toEqual([]);
});

test("`pulumi config set canaryWeight 10 && pulumi up` on rag-llm, whose canary rests at 0 tasks, is refused; once the rollout has raised its minimum, the split renders", async () => {
    const weighted = { ...stackConfig("rag-llm"), canaryWeight: "10" };
    const refused = await runProgram(weighted, { stack: "rag-llm", stackReferences: references });
    expect(refused.error?.message).toContain("canaryWeight: got 10; expected 0 while canary.scaling.minCount is 0");
    expect(refused.graph.resources).toEqual([]);
    const raised = await deploy({ ...weighted, canaryMinCount: "1" }, { stack: "rag-llm", stackReferences: references });
    const listener = raised.one("aws:vpclattice/listener:Listener");
    expect(listener.inputs.defaultAction.forwards[0].targetGroups.map((t: { weight: number }) => t.weight)).toEqual([90, 10]);
});
