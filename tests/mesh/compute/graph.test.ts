/**
 * The compute graph: one ECS Fargate service per version, each joined to its own
 * virtual node, under the same engine-like mocks as the App Mesh graph; the weights
 * fetched from S3, the evaluation task, and ECS Exec.
 */
import { changedBetween, deploy, Graph, runProgram } from "../../harness/program";
import { BASE_CONFIG } from "../../harness/stacks";
import { loadConfig } from "../../../mesh/config/schema";
import { modelHealthTiming } from "../../../mesh/compute/containers";
import { Registered } from "../../harness/mocks";

const T = {
    node: "aws:appmesh/virtualNode:VirtualNode",
    cloudMap: "aws:servicediscovery/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    cluster: "aws:ecs/cluster:Cluster",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    vpc: "awsx:ec2:Vpc",
};
const VERSIONS = ["stable", "canary"] as const;

const containers = (g: Graph, version: string): any[] => JSON.parse(g.one(T.taskDef, `-${version}`).inputs.containerDefinitions);
const container = (g: Graph, version: string, name: string) => containers(g, version).find((c) => c.name === name);
const statements = (p: Registered): any[] => JSON.parse(p.inputs.policy).Statement;

describe("the compute graph for the default config", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy(BASE_CONFIG);
    });

    test("one cluster with Container Insights, one Fargate service and task definition per version", () => {
        expect(g.one(T.cluster).inputs.settings).toEqual([{ name: "containerInsights", value: "enabled" }]);
        expect(g.ofType(T.service).map((s) => s.name)).toEqual(["inference-stable", "inference-canary"]);
        for (const version of VERSIONS) {
            const service = g.one(T.service, `-${version}`);
            expect(service.inputs).toMatchObject({ launchType: "FARGATE", cluster: g.one(T.cluster).state.arn });
            expect(service.inputs.taskDefinition).toBe(g.one(T.taskDef, `-${version}`).state.arn);
            expect(service.inputs.networkConfiguration.assignPublicIp).toBe(false);
            expect(service.inputs.networkConfiguration.subnets).toEqual(g.one(T.vpc).state.privateSubnetIds);
            expect(service.inputs.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
        }
        expect(g.one(T.service, "-stable").inputs.desiredCount).toBe(2);
        expect(g.one(T.service, "-canary").inputs.desiredCount).toBe(1);
    });

    test("each Envoy points at its own version's virtual node", () => {
        for (const version of VERSIONS) {
            const envoy = container(g, version, "envoy");
            expect(envoy.environment).toEqual([{ name: "APPMESH_RESOURCE_ARN", value: g.one(T.node, `-${version}`).state.arn }]);
            expect(envoy.environment[0].value).toContain(`/virtualNode/${g.one(T.node, `-${version}`).state.name}`);
            expect(envoy).toMatchObject({ essential: true, user: "1337", image: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod" });
            expect(envoy.healthCheck.command.join(" ")).toContain("9901/server_info");
            expect(envoy.ulimits).toEqual([{ name: "nofile", softLimit: 15000, hardLimit: 15000 }]);
        }
    });

    test("the proxy configuration sends the node's listener port through Envoy and skips metadata", () => {
        for (const version of VERSIONS) {
            const td = g.one(T.taskDef, `-${version}`).inputs;
            const port = g.one(T.node, `-${version}`).inputs.spec.listeners[0].portMapping.port;
            expect(td.networkMode).toBe("awsvpc");
            expect(td.requiresCompatibilities).toEqual(["FARGATE"]);
            expect(td.proxyConfiguration).toEqual({
                type: "APPMESH",
                containerName: "envoy",
                properties: {
                    AppPorts: String(port),
                    EgressIgnoredIPs: "169.254.170.2,169.254.169.254",
                    IgnoredUID: "1337",
                    ProxyEgressPort: "15001",
                    ProxyIngressPort: "15000",
                },
            });
        }
    });

    test("the model container starts after Envoy is healthy and allows the model time to load", () => {
        const model = container(g, "canary", "model");
        expect(model.image).toBe("123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.5.0");
        expect(model.portMappings).toEqual([{ containerPort: 8080, protocol: "tcp" }]);
        expect(model.dependsOn).toEqual([{ containerName: "envoy", condition: "HEALTHY" }]);
        expect(model.healthCheck.startPeriod).toBe(300);
        expect(model.healthCheck.command.join(" ")).toContain("http://localhost:8080/health");
    });

    test("each service registers in its version's Cloud Map service, the one its node discovers", () => {
        for (const version of VERSIONS) {
            const cloudMap = g.one(T.cloudMap, `-${version}`);
            expect(g.one(T.service, `-${version}`).inputs.serviceRegistries).toEqual({ registryArn: cloudMap.state.arn });
            expect(g.one(T.node, `-${version}`).inputs.spec.serviceDiscovery.awsCloudMap.serviceName).toBe(cloudMap.state.name);
        }
    });

    test("the task role lets Envoy read its own node and nothing else", () => {
        for (const version of VERSIONS) {
            const taskRole = g.one(T.role, `-${version}-task`);
            expect(g.one(T.taskDef, `-${version}`).inputs.taskRoleArn).toBe(taskRole.state.arn);
            const policy = g.one(T.rolePolicy, `-${version}-task`);
            expect(policy.inputs.role).toBe(taskRole.id);
            expect(statements(policy)).toEqual([
                { Effect: "Allow", Action: ["appmesh:StreamAggregatedResources"], Resource: g.one(T.node, `-${version}`).state.arn },
            ]);
        }
    });

    test("the execution role writes only its own log group and pulls only its own ECR repository", () => {
        for (const version of VERSIONS) {
            const policy = statements(g.one(T.rolePolicy, `-${version}-execution`));
            const logGroup = g.one(T.logGroup, `-${version}`);
            expect(policy).toContainEqual({
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: `${logGroup.state.arn}:log-stream:*`,
            });
            expect(policy).toContainEqual({
                Effect: "Allow",
                Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                Resource: "arn:aws:ecr:us-west-2:123456789012:repository/llm-server",
            });
            expect(container(g, version, "model").logConfiguration.options["awslogs-group"]).toBe(logGroup.state.name);
        }
    });

    test("no policy names '*' except ecr:GetAuthorizationToken, which has no resource type", () => {
        for (const p of g.ofType(T.rolePolicy)) {
            for (const s of statements(p)) {
                if (s.Resource === "*") expect(s.Action).toEqual(["ecr:GetAuthorizationToken"]);
            }
        }
    });

    test("roles can only be assumed by ECS tasks of this account", () => {
        for (const role of g.ofType(T.role)) {
            const [statement] = JSON.parse(role.inputs.assumeRolePolicy).Statement;
            expect(statement.Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
            expect(statement.Condition).toEqual({ StringEquals: { "aws:SourceAccount": "123456789012" } });
        }
    });

    test("nothing on the tasks is open to the internet", () => {
        const sg = g.one(T.sg, "-tasks");
        expect(g.one(T.service, "-stable").inputs.networkConfiguration.securityGroups).toEqual([sg.id]);
        for (const group of g.ofType(T.sg)) {
            for (const rule of group.inputs.ingress ?? []) {
                expect(rule.cidrBlocks ?? []).not.toContain("0.0.0.0/0");
                expect(rule.ipv6CidrBlocks ?? []).not.toContain("::/0");
            }
        }
        expect(sg.inputs.ingress).toEqual([expect.objectContaining({ fromPort: 8080, toPort: 8080, cidrBlocks: ["10.0.0.0/16"] })]);
    });

    test("every log group keeps logs for a bounded time", () => {
        expect(g.ofType(T.logGroup)).toHaveLength(2);
        for (const lg of g.ofType(T.logGroup)) expect(lg.inputs.retentionInDays).toBe(30);
    });

    test("task families carry the stack name, so two stacks in one account do not collide", () => {
        expect(g.one(T.taskDef, "-stable").inputs.family).toBe("test-inference-stable");
    });

    test.each(VERSIONS)("changing the %s image touches only that version's task definition and service", async (version) => {
        const after = await deploy({
            ...BASE_CONFIG,
            [version]: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:9.9.9" }),
        });
        // A new task definition revision rolls the service onto it; nothing of the other version moves.
        expect(changedBetween(g, after)).toEqual([`${T.service}::inference-${version}`, `${T.taskDef}::inference-${version}`]);
        expect(after.one(T.taskDef, `-${version}`).inputs.containerDefinitions).toContain("llm-server:9.9.9");
    });

    test("moving the canary to another repository also touches only the canary's execution policy", async () => {
        const after = await deploy({ ...BASE_CONFIG, canary: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-next:1.0" }) });
        expect(changedBetween(g, after)).toEqual([
            `${T.service}::inference-canary`,
            `${T.taskDef}::inference-canary`,
            `${T.rolePolicy}::inference-canary-execution`,
        ]);
    });
});

describe("network", () => {
    test("an existing VPC is used as named, and no VPC is created", async () => {
        const g = await deploy({
            ...BASE_CONFIG,
            network: JSON.stringify({
                vpcId: "vpc-0123456789abcdef0",
                cidrBlock: "172.31.0.0/16",
                privateSubnetIds: ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
                publicSubnetIds: ["subnet-0123456789abcdef2"],
            }),
        });
        expect(g.ofType(T.vpc)).toEqual([]);
        expect(g.one(T.sg, "-tasks").inputs).toMatchObject({ vpcId: "vpc-0123456789abcdef0" });
        expect(g.one(T.sg, "-tasks").inputs.ingress[0].cidrBlocks).toEqual(["172.31.0.0/16"]);
        expect(g.one(T.service, "-canary").inputs.networkConfiguration.subnets).toEqual(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]);
    });
});

describe("sizes, images and load time per version", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({
            ...BASE_CONFIG,
            stable: JSON.stringify({ image: "ghcr.io/acme/llm:2" }),
            canary: JSON.stringify({ image: "repo/llm:2", cpu: 8192, memory: 32768, environment: { MODEL_ID: "m-2", TP: 1 } }),
            modelLoadSeconds: "1200",
        });
    });

    test("per-version CPU, memory and environment reach the task definitions", () => {
        expect(g.one(T.taskDef, "-canary").inputs).toMatchObject({ cpu: "8192", memory: "32768" });
        expect(g.one(T.taskDef, "-stable").inputs).toMatchObject({ cpu: "4096", memory: "16384" });
        // With the version and the namespace the application publishes its own counts under (the event gates).
        expect(container(g, "canary", "model").environment).toEqual([
            { name: "CANARY_METRIC_NAMESPACE", value: "AICanary/test-inference" },
            { name: "CANARY_VERSION", value: "canary" },
            { name: "MODEL_ID", value: "m-2" },
            { name: "TP", value: "1" },
        ]);
    });

    test("a non-ECR image needs no ECR permission", () => {
        const actions = statements(g.one(T.rolePolicy, "-stable-execution")).flatMap((s) => s.Action);
        expect(actions).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
    });

    test("the model's load time reaches its container's health check", () => {
        expect(container(g, "canary", "model").healthCheck).toMatchObject({ startPeriod: 300, interval: 90, retries: 10 });
    });
});

describe("model load time", () => {
    test.each([
        [0, { startPeriod: 0, interval: 30, retries: 3 }],
        [300, { startPeriod: 300, interval: 30, retries: 3 }],
        [600, { startPeriod: 300, interval: 30, retries: 10 }],
        [1800, { startPeriod: 300, interval: 150, retries: 10 }],
        [3300, { startPeriod: 300, interval: 300, retries: 10 }],
    ])("%d s to load: %j, within ECS's limits and covering the load", (seconds, timing) => {
        const t = modelHealthTiming(seconds);
        expect(t).toEqual(timing);
        expect(t.startPeriod + t.interval * t.retries).toBeGreaterThanOrEqual(seconds);
        expect(t.startPeriod).toBeLessThanOrEqual(300);
        expect(t.interval).toBeLessThanOrEqual(300);
        expect(t.retries).toBeLessThanOrEqual(10);
    });
});

describe("secrets by reference", () => {
    const TOKEN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:hf-token-AbCdEf";
    const PARAM = "arn:aws:ssm:us-west-2:123456789012:parameter/llm/api-key";
    const KEY = "arn:aws:kms:us-west-2:123456789012:key/0b2f7c4e-1d3a-4e5f-9a8b-7c6d5e4f3a2b";
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({
            ...BASE_CONFIG,
            canary: JSON.stringify({
                image: "repo/llm:2",
                environment: { MODEL_ID: "m" },
                secrets: { HF_TOKEN: TOKEN, API_KEY: PARAM },
                secretsKmsKeyArn: KEY,
            }),
        });
    });

    test("reach the container only by reference, never in its environment", () => {
        const model = container(g, "canary", "model");
        expect(model.secrets).toEqual([
            { name: "API_KEY", valueFrom: PARAM },
            { name: "HF_TOKEN", valueFrom: TOKEN },
        ]);
        expect(model.environment).toEqual([
            { name: "CANARY_METRIC_NAMESPACE", value: "AICanary/test-inference" },
            { name: "CANARY_VERSION", value: "canary" },
            { name: "MODEL_ID", value: "m" },
        ]);
        expect(container(g, "stable", "model")).not.toHaveProperty("secrets");
    });

    test("only that version's execution role may read them, and decrypt with their key", () => {
        const canary = statements(g.one(T.rolePolicy, "-canary-execution"));
        expect(canary).toContainEqual({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: [TOKEN] });
        expect(canary).toContainEqual({ Effect: "Allow", Action: ["ssm:GetParameters"], Resource: [PARAM] });
        expect(canary).toContainEqual({ Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY });
        const stable = JSON.stringify(statements(g.one(T.rolePolicy, "-stable-execution")));
        for (const arn of [TOKEN, PARAM, KEY]) expect(stable).not.toContain(arn);
        for (const p of g.ofType(T.rolePolicy).filter((r) => r.name.endsWith("-task"))) expect(JSON.stringify(statements(p))).not.toContain("secretsmanager");
    });

    test("a value set with --secret in a version's config is refused before anything is declared, pointing to secrets", async () => {
        const run = await runProgram(
            { ...BASE_CONFIG, canary: JSON.stringify({ image: "repo/llm:2", environment: { HF_TOKEN: "hf_abc" } }) },
            { secretKeys: ["canary"] },
        );
        expect(run.error?.message).toContain(
            '- canary: got "(a secret)"; expected no secret values: canary is written into a task definition in plain text; keep the secret in Secrets Manager or SSM and name it in canary.secrets',
        );
        expect(run.graph.resources).toEqual([]);
    });
});

describe("the model container's own health check", () => {
    const check = async (healthCheck?: unknown) => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "lattice", ...(healthCheck ? { healthCheck: JSON.stringify(healthCheck) } : {}) });
        return JSON.parse(g.one("aws:ecs/taskDefinition:TaskDefinition", "-canary").inputs.containerDefinitions)[0].healthCheck;
    };

    test("curl against the health path by default; an image without curl names its own command, or none at all", async () => {
        expect((await check())?.command).toEqual(["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"]);
        expect((await check({ command: ["/usr/local/bin/healthcheck", "--port", "8080"] }))?.command).toEqual([
            "CMD",
            "/usr/local/bin/healthcheck",
            "--port",
            "8080",
        ]);
        // The target group's check alone: the rollout then counts a running task as healthy (rollout/adapters/aws.ts waitHealthy).
        expect(await check({ command: "none" })).toBeUndefined();
    });

    test("a command that is neither a list of arguments nor none is refused", () => {
        expect(() => loadConfig({ ...BASE_CONFIG, healthCheck: JSON.stringify({ command: "curl localhost" }) })).toThrow(
            'healthCheck.command: got "curl localhost"; expected a non-empty list of arguments, e.g. ["/bin/health", "--port", "8000"], or "none"',
        );
    });
});

describe("ECS Exec (debug.execCommand)", () => {
    // On Lattice a version's tasks need no task role of their own: with ECS Exec they get one.
    const lattice = { ...BASE_CONFIG, trafficBackend: "lattice" };
    const on = { ...lattice, debug: JSON.stringify({ execCommand: true }) };
    const ssmMessages = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"];

    test("on: each version's service runs its tasks with it, started anew, and only its task role may open Session Manager's channels", async () => {
        const g = await deploy(on);
        for (const version of VERSIONS) {
            const service = g.one(T.service, `-${version}`);
            expect(service.inputs).toMatchObject({ enableExecuteCommand: true, forceNewDeployment: true, triggers: { execCommand: "on" } });
            const taskRole = g.one(T.role, `-${version}-task`);
            expect(g.one(T.taskDef, `-${version}`).inputs.taskRoleArn).toBe(taskRole.state.arn);
            expect(statements(g.one(T.rolePolicy, `-${version}-exec`))).toEqual([{ Effect: "Allow", Action: ssmMessages, Resource: "*" }]);
            expect(g.one(T.rolePolicy, `-${version}-exec`).inputs.role).toBe(taskRole.id);
        }
        // No other role, the execution roles included, is given the channel actions.
        const withSsmMessages = g.ofType(T.rolePolicy).filter((p) => p.inputs.policy.includes("ssmmessages:"));
        expect(withSsmMessages.map((p) => p.name).sort()).toEqual(["inference-canary-exec", "inference-stable-exec"]);
        expect(
            g
                .ofType(T.role)
                .filter((r) => r.name.endsWith("-task"))
                .map((r) => r.name),
        ).toEqual(["inference-stable-task", "inference-canary-task"]);
    });

    test("off, the default: no service has it, no role has the channel actions, and no version has a task role for it", async () => {
        const g = await deploy(lattice);
        for (const version of VERSIONS) expect(g.one(T.service, `-${version}`).inputs.enableExecuteCommand).toBeUndefined();
        expect(g.ofType(T.rolePolicy).filter((p) => p.inputs.policy.includes("ssmmessages:"))).toEqual([]);
        expect(g.ofType(T.role).filter((r) => r.name.endsWith("-task"))).toEqual([]);
    });
});

/**
 * Model weights from S3: fetched into the task's own storage before the model server
 * starts, through the VPC's S3 gateway endpoint, by a task role that may read that
 * prefix only. On App Mesh the fetch runs as Envoy's ignored user, so the mesh's
 * DROP_ALL egress stays shut for everything else.
 */
