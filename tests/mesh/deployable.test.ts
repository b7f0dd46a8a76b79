/**
 * What AWS (or the Pulumi CLI) would refuse or misrun, as the project's own rules: each
 * rule as a table, and each committed stack and feature path rendered under the mocks and
 * held to it. The team's AWS request check checks the same against AWS's models; these keep
 * the rules in CI from a clean clone. Every taggable resource on the feature paths says which
 * service and stack it serves (`tests/stacks.test.ts` checks every committed stack).
 */
import { deploy, Graph, securityGroupDescriptions } from "../harness/program";
import { BASE_CONFIG, stackConfig } from "../harness/stacks";
import { IMPLICIT_SUBNETS, MAIN_ROUTE_TABLE } from "../harness/mocks";
import { expectTagged } from "../harness/tags";
import { ec2Description } from "../../mesh/awsText";
import { DEPLOYMENT, instancesForDeployment, tasksPerInstance } from "../../mesh/compute/gpuInstances";
import { containerInstanceTrustPolicy } from "../../mesh/compute/iam";
import { accessLogPattern } from "../../mesh/traffic/appmesh/accessLogMetrics";
import { loadConfig } from "../../mesh/config/schema";
import { ConfigError } from "../../mesh/config/errors";
import { adjustObjectValue, parsePropertyPath, removeConfigValue, setAllConfigJson, setConfigValue } from "../e2e/standins/pulumiConfig";
import { wholeValueJson } from "../../rollout/adapters/pulumiStack";

const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const WEIGHTS = { source: "s3://my-model-bucket/llama-3.2-1b", storageGiB: 40 };
const GPU_CANARY = {
    image: `${ECR}/vllm-openai:v0.9.0`,
    compute: "gpu",
    gpu: { instanceType: "g6e.xlarge" },
    cpu: 3584,
    memory: 28672,
    scaling: { minCount: 0, maxCount: 2 },
    command: ["--model", "/models", "--port", "8000"],
    weights: WEIGHTS,
};

const committed = (stack: string) => deploy(stackConfig(stack));

/** The feature paths no committed stack takes (each committed stack's own render is checked in stacks.test.ts). */
const FEATURE_PATHS: [string, Record<string, string>][] = [
    ["alb with access logs", { ...BASE_CONFIG, trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["10.0.0.0/8"], accessLogs: true }) }],
    [
        "lattice with AWS_IAM",
        { ...stackConfig("dev"), lattice: JSON.stringify({ authType: "AWS_IAM", allowedPrincipals: ["arn:aws:iam::123456789012:role/caller"] }) },
    ],
    [
        "appmesh with weights, metrics, egress hosts and a GPU canary",
        {
            ...stackConfig("appmesh"),
            // The GPU canary rests at 0 tasks, which no weight may be put on by hand.
            canaryWeight: "0",
            metrics: JSON.stringify({ prometheus: { server: "vllm" } }),
            appmesh: JSON.stringify({ namespace: "ai-dev.internal", egressHosts: ["huggingface.co"] }),
            stable: JSON.stringify({ image: `${ECR}/llm-server:1.4.0`, scaling: { minCount: 1, maxCount: 2 }, weights: WEIGHTS }),
            canary: JSON.stringify(GPU_CANARY),
        },
    ],
];

describe("EC2 descriptions: up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*", () => {
    test.each([
        ["image pulls, CloudWatch and the traffic layer control plane", true],
        ["GPU container instances: no inbound; the ECS agent reaches AWS over HTTPS", true],
        ["to the model tasks (Envoy) [443] #1 @a+b=c&d {x}!$*", true],
        ["image pulls, CloudWatch and the traffic layer's control plane", false],
        ['a "quoted" word', false],
        ["caf\u00e9", false],
        ["x".repeat(255), true],
        ["x".repeat(256), false],
    ])("%j accepted: %s", (text, ok) => {
        if (ok) expect(ec2Description(text)).toBe(text);
        else expect(() => ec2Description(text)).toThrow("EC2 refuses the description");
    });

    test.each(FEATURE_PATHS)("every security group and rule description of %s", async (_name, config) => {
        const texts = securityGroupDescriptions(await deploy(config));
        expect(texts.length).toBeGreaterThan(1);
        for (const text of texts) expect(() => ec2Description(text)).not.toThrow();
    });
});

test.each(FEATURE_PATHS)("%s: its types' taggability is the SDK's, and every taggable resource is tagged", async (_, config) => {
    expectTagged(await deploy(config), loadConfig(config).serviceName);
});

describe("GPU capacity for a deployment's surge", () => {
    test.each([
        // instance, task (cpu, memory MiB, GPUs), maxCount -> tasks per instance, instances
        ["g6.xlarge", { cpu: 3584, memory: 14336, gpus: 1 }, 4, 1, 8],
        ["g6.12xlarge", { cpu: 4096, memory: 16384, gpus: 1 }, 4, 4, 2],
        ["g6.12xlarge", { cpu: 4096, memory: 16384, gpus: 2 }, 3, 2, 3],
        ["g6.12xlarge", { cpu: 24576, memory: 16384, gpus: 1 }, 4, 2, 4],
        ["p5.48xlarge", { cpu: 8192, memory: 65536, gpus: 8 }, 1, 1, 2],
        ["g6e.xlarge", { cpu: 3584, memory: 28672, gpus: 1 }, 1, 1, 2],
    ])("%s with %j at maxCount %i: %i per instance, %i instances", (instanceType, task, maxCount, perInstance, instances) => {
        expect(tasksPerInstance(instanceType, task)).toBe(perInstance);
        expect(instancesForDeployment(instanceType, task, maxCount)).toBe(instances);
    });

    test("the services deploy with the surge the capacity is sized for, keeping every old task until new ones are healthy", async () => {
        const g = await committed("gpu");
        for (const version of ["stable", "canary"]) {
            const service = g.one("aws:ecs/service:Service", `-${version}`);
            expect(service.inputs).toMatchObject({ deploymentMaximumPercent: DEPLOYMENT.maximumPercent, deploymentMinimumHealthyPercent: 100 });
            expect(g.one("aws:autoscaling/group:Group", `-${version}-gpu`).inputs.maxSize).toBe(
                instancesForDeployment("g6.xlarge", { cpu: 3584, memory: 14336, gpus: 1 }, 4),
            );
        }
    });
});

test("a GPU instance's role trusts EC2 as AWS documents for the container instance role: no condition EC2 does not set", async () => {
    expect(JSON.parse(containerInstanceTrustPolicy())).toEqual({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    const g = await committed("gpu");
    for (const version of ["stable", "canary"]) {
        const role = g.one("aws:iam/role:Role", `-${version}-gpu-instance`);
        expect(JSON.parse(role.inputs.assumeRolePolicy)).toEqual(JSON.parse(containerInstanceTrustPolicy()));
    }
});

test("the weights fetch names its region, whatever the ECS agent injects", async () => {
    const g = await committed("gpu");
    for (const version of ["stable", "canary"]) {
        const fetch = JSON.parse(g.one("aws:ecs/taskDefinition:TaskDefinition", `-${version}`).inputs.containerDefinitions).find(
            (c: { name: string }) => c.name === "weights",
        );
        expect(fetch.environment).toEqual([
            { name: "AWS_REGION", value: "us-west-2" },
            { name: "AWS_DEFAULT_REGION", value: "us-west-2" },
        ]);
    }
});

describe("minimum task counts", () => {
    // At weight 0: a canary with no task may not take a weight (config.test.ts), but may rest.
    const withScaling = (version: string, minCount: number) => ({
        ...BASE_CONFIG,
        canaryWeight: "0",
        [version]: JSON.stringify({ ...JSON.parse(BASE_CONFIG[version]), scaling: { minCount } }),
    });
    const problems = (raw: Record<string, string>) => {
        try {
            loadConfig({ trafficBackend: "lattice", ...raw });
            return [];
        } catch (e) {
            return (e as ConfigError).problems.map((p) => `${p.key}: ${p.expected}`);
        }
    };
    test.each([
        ["stable", 0, ["stable.scaling.minCount: at least 1 for stable: it serves all traffic, and autoscaling cannot scale a version out from zero tasks"]],
        ["stable", 1, []],
        ["canary", 0, []],
    ])("%s at %i: %j", (version, minCount, expected) => {
        expect(problems(withScaling(version, minCount))).toEqual(expected);
    });
});

describe("metric filters name the field their value reads", () => {
    test.each([
        ["stable", undefined, "1", '{ $.version = "stable" }'],
        ["canary", undefined, "$.duration", '{ ($.version = "canary") && ($.duration = *) }'],
        ["stable", "($.code >= 500)", "1", '{ ($.version = "stable") && (($.code >= 500)) }'],
        ["canary", undefined, "$.response_duration", '{ ($.version = "canary") && ($.response_duration = *) }'],
    ] as const)("%s, condition %s, value %s: %s", (version, condition, value, pattern) => {
        expect(accessLogPattern(version, condition, value)).toBe(pattern);
    });

    test("every App Mesh metric filter whose value is a field names it in its pattern", async () => {
        const g = await committed("appmesh");
        const filters = g.ofType("aws:cloudwatch/logMetricFilter:LogMetricFilter");
        expect(filters.length).toBe(8);
        for (const f of filters) {
            const value = f.inputs.metricTransformation.value as string;
            if (value.startsWith("$.")) expect(f.inputs.pattern).toContain(`(${value} = *)`);
        }
    });
});

describe("the S3 gateway endpoint for weights", () => {
    const existingVpc = (extra: object = {}) => ({
        ...BASE_CONFIG,
        trafficBackend: "lattice",
        network: JSON.stringify({
            vpcId: "vpc-0123456789abcdef0",
            privateSubnetIds: ["subnet-0123456789abcdef0", IMPLICIT_SUBNETS[0]],
            publicSubnetIds: ["subnet-0123456789abcdef1"],
            ...extra,
        }),
        stable: JSON.stringify({ image: `${ECR}/llm-server:1.4.0`, weights: WEIGHTS }),
    });
    const endpoints = (g: Graph) => g.ofType("aws:ec2/vpcEndpoint:VpcEndpoint");

    test("on an existing VPC it covers subnets that use the main route table implicitly", async () => {
        const [endpoint] = endpoints(await deploy(existingVpc()));
        expect(endpoint.inputs.routeTableIds).toHaveLength(2);
        expect(endpoint.inputs.routeTableIds).toContain(MAIN_ROUTE_TABLE);
    });

    test("an existing VPC's own endpoint is used, not duplicated (AWS refuses a second one for S3 on the same route tables)", async () => {
        expect(endpoints(await deploy(existingVpc({ s3GatewayEndpoint: "existing" })))).toEqual([]);
    });

    test('"existing" is refused for a VPC the stack creates', () => {
        expect(() => loadConfig({ ...BASE_CONFIG, trafficBackend: "lattice", network: JSON.stringify({ s3GatewayEndpoint: "existing" }) })).toThrow(
            'network.s3GatewayEndpoint: got "existing"; expected "create" unless vpcId names an existing VPC',
        );
    });
});

describe("config paths as the Pulumi CLI reads them (the stand-in's, from Pulumi's own code)", () => {
    test.each([
        ["p:stable.command[0]", ["p:stable", "command", 0]],
        ["p:stable.command.0", ["p:stable", "command", "0"]],
        ['p:stable.environment["A.B"]', ["p:stable", "environment", "A.B"]],
        ["p:canaryWeight", ["p:canaryWeight"]],
    ])("%s is %j", (path, segments) => {
        expect(parsePropertyPath(path)).toEqual(segments);
    });

    test.each([
        ["8000", 8000],
        ["0.90", "0.90"],
        ["007", "007"],
        ["true", true],
        ["--port", "--port"],
    ])("--path stores %j as %j", (value, stored) => {
        expect(adjustObjectValue(value)).toEqual(stored);
    });

    const doc = { "p:stable": { image: "a", command: ["--port", "8000"] } };
    test("`.0` on an array is refused, as the CLI refuses it", () => {
        expect(() => setConfigValue(doc, "p:stable.command.0", "--model", true, "p")).toThrow("key for an array must be an int");
    });
    test("a key without a namespace is the project's, as the CLI reads it", () => {
        expect(setConfigValue({}, "stable.image", "b", true, "p")).toEqual({ "p:stable": { image: "b" } });
        expect(setConfigValue({}, "aws:region", "us-west-2", false, "p")).toEqual({ "aws:region": "us-west-2" });
    });
    test("an index sets the element, and turns a numeric string into a number that a string list refuses", () => {
        const next = setConfigValue(doc, "p:stable.command[1]", "9000", true, "p");
        expect(next["p:stable"]).toEqual({ image: "a", command: ["--port", 9000] });
        expect(() => loadConfig({ ...BASE_CONFIG, trafficBackend: "lattice", stable: JSON.stringify(next["p:stable"]) })).toThrow("stable.command");
        expect(removeConfigValue(next, "p:stable.command[1]", true, "p")["p:stable"]).toEqual({ image: "a", command: ["--port"] });
    });
    test("a whole value set as JSON round-trips every field's type and drops fields it does not name", () => {
        const promoted = { image: "b", command: ["--port", "8000", "--gpu-memory-utilization", "0.90"], scaling: { minCount: 2 }, environment: { N: "1" } };
        expect(setAllConfigJson(doc, wholeValueJson("p:stable", promoted))["p:stable"]).toEqual(promoted);
    });
});
