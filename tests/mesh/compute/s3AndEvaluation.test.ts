/**
 * The compute graph beyond the model server: the weights fetched from S3 before it starts
 * (on both backends), and the evaluation task (a task definition, not a service).
 */
import { deploy, Graph } from "../../harness/program";
import { BASE_CONFIG } from "../../harness/stacks";
import { loadConfig } from "../../../mesh/config/schema";
import { definitionOf, fingerprint } from "../../../contract/identity";
import { DEFAULT_CRITERIA } from "../../../contract/golden";

describe("model weights from S3", () => {
    const KEY = "arn:aws:kms:us-west-2:123456789012:key/0b2f7c4e-1d3a-4e5f-9a8b-7c6d5e4f3a2b";
    const CANARY = JSON.stringify({ image: "repo/vllm:0.6.3", weights: { source: "s3://acme-models/llama-3.1-8b-instruct", kmsKeyArn: KEY, storageGiB: 60 } });
    const T = { taskDef: "aws:ecs/taskDefinition:TaskDefinition", rolePolicy: "aws:iam/rolePolicy:RolePolicy", endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint" };
    const containers = (g: Graph, version: string) => JSON.parse(g.one(T.taskDef, `-${version}`).inputs.containerDefinitions);

    describe.each([
        ["App Mesh", {}, "1337"],
        ["Lattice", { trafficBackend: "lattice" }, undefined],
    ])("on %s", (_name, backend, user) => {
        let g: Graph;
        beforeAll(async () => {
            g = await deploy({ ...BASE_CONFIG, ...backend, canary: CANARY });
        });

        test("the weights are fetched into the task's storage, and the model server starts only once that succeeded", () => {
            const [model, fetch] = containers(g, "canary");
            expect(fetch).toMatchObject({
                name: "weights",
                essential: false,
                command: ["s3", "sync", "s3://acme-models/llama-3.1-8b-instruct", "/models", "--only-show-errors"],
                mountPoints: [{ sourceVolume: "weights", containerPath: "/models" }],
            });
            expect(fetch.image).toMatch(/^public\.ecr\.aws\/aws-cli\/aws-cli:\d+\.\d+\.\d+$/);
            expect(fetch.user).toBe(user);
            expect(model.mountPoints).toEqual([{ sourceVolume: "weights", containerPath: "/models", readOnly: true }]);
            expect(model.dependsOn[0]).toEqual({ containerName: "weights", condition: "SUCCESS" });
            expect(model.environment).toContainEqual({ name: "MODEL_DIR", value: "/models" });
            expect(g.one(T.taskDef, "-canary").inputs).toMatchObject({ ephemeralStorage: { sizeInGib: 60 }, volumes: [{ name: "weights" }] });
            expect(g.one(T.taskDef, "-stable").inputs).not.toHaveProperty("volumes");
        });

        test("the canary's task role may list and read that prefix only, and decrypt with its key", () => {
            const statements = JSON.parse(g.one(T.rolePolicy, "-canary-read").inputs.policy).Statement;
            expect(statements).toEqual([
                {
                    Effect: "Allow",
                    Action: ["s3:ListBucket"],
                    Resource: "arn:aws:s3:::acme-models",
                    Condition: { StringLike: { "s3:prefix": ["llama-3.1-8b-instruct", "llama-3.1-8b-instruct/*"] } },
                },
                { Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::acme-models/llama-3.1-8b-instruct/*" },
                { Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY },
            ]);
            expect(
                g.resources
                    .filter((r) => r.type === T.rolePolicy && r.name.startsWith("inference-stable"))
                    .map((r) => r.name)
                    .sort(),
            ).not.toContain("inference-stable-read");
        });

        test("S3 is reached through a gateway endpoint on the private subnets' route tables", () => {
            const endpoint = g.one(T.endpoint, "-s3");
            const vpcId = g.one("awsx:ec2:Vpc").state.vpcId;
            expect(endpoint.inputs).toMatchObject({ vpcId, serviceName: "com.amazonaws.us-west-2.s3", vpcEndpointType: "Gateway" });
            const lookup = g.calls.find((c) => c.token === "aws:ec2/getRouteTables:getRouteTables")!;
            expect(lookup.inputs.filters).toEqual([{ name: "association.subnet-id", values: g.one("awsx:ec2:Vpc").state.privateSubnetIds }]);
            expect(endpoint.inputs.routeTableIds).toHaveLength(2);
        });
    });

    test("no weights, no endpoint", async () => {
        const g = await deploy(BASE_CONFIG);
        expect(g.ofType(T.endpoint)).toEqual([]);
    });

    test("a canary that changes only its weights is a new canary; a bad source is refused", () => {
        const version = (source: string) => loadConfig({ ...BASE_CONFIG, canary: JSON.stringify({ image: "r/m:1", weights: { source } }) }).versions.canary;
        expect(fingerprint(definitionOf(version("s3://models/llama-3.1")))).not.toBe(fingerprint(definitionOf(version("s3://models/llama-3.2"))));
        expect(() => version("https://m.s3.amazonaws.com/llama")).toThrow('canary.weights.source: got "https://m.s3.amazonaws.com/llama"; expected an S3 URI');
    });
});

/**
 * The evaluation task the rollout runs before the canary gets traffic: declared inside the
 * stack's network, told the service's address and the pin header; on App Mesh a caller of
 * its own (a virtual node whose one backend is the virtual service, and an Envoy bound to
 * it), on Lattice a plain task in the associated VPC. It is a task definition, never a service.
 */
describe("the evaluation task", () => {
    const EVALUATION = JSON.stringify({
        image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-evals:3.1",
        command: ["pytest", "-q", "evals/"],
        environment: { SUITE: "smoke" },
    });
    const T = {
        taskDef: "aws:ecs/taskDefinition:TaskDefinition",
        node: "aws:appmesh/virtualNode:VirtualNode",
        service: "aws:ecs/service:Service",
        rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    };
    const containers = (g: Graph) => JSON.parse(g.one(T.taskDef, "-evaluation").inputs.containerDefinitions);
    const env = (c: { environment: { name: string; value: string }[] }) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));

    describe("on App Mesh", () => {
        let g: Graph;
        beforeAll(async () => {
            g = await deploy({ ...BASE_CONFIG, evaluation: EVALUATION });
        });

        test("a virtual node whose one backend is the virtual service, and an Envoy bound to it", () => {
            const node = g.one(T.node, "-evaluation");
            expect(node.inputs.spec).toEqual({
                backends: [{ virtualService: { virtualServiceName: g.one("aws:appmesh/virtualService:VirtualService").state.name } }],
            });
            const [evaluation, envoy] = containers(g);
            expect(envoy.environment).toEqual([{ name: "APPMESH_RESOURCE_ARN", value: node.state.arn }]);
            expect(evaluation.dependsOn).toEqual([{ containerName: "envoy", condition: "HEALTHY" }]);
            expect(g.one(T.taskDef, "-evaluation").inputs.proxyConfiguration.type).toBe("APPMESH");
            const [statement] = JSON.parse(g.one(T.rolePolicy, "-evaluation-task").inputs.policy).Statement;
            expect(statement.Resource).toBe(node.state.arn);
        });

        test("the evaluation is told where to call and how to reach the canary at any weight", () => {
            const [evaluation] = containers(g);
            expect(evaluation).toMatchObject({
                name: "evaluation",
                image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-evals:3.1",
                command: ["pytest", "-q", "evals/"],
            });
            expect(env(evaluation)).toEqual({ SERVICE_URL: "http://inference.ai.internal:8080", PIN_HEADER: "x-canary", PIN_VALUE: "always", SUITE: "smoke" });
        });

        test("it is a task definition the rollout runs, not a service, and the outputs say how to run it", () => {
            expect(g.ofType(T.service).map((s) => s.name)).toEqual(["inference-stable", "inference-canary"]);
            expect(g.outputs.evaluation).toEqual({
                taskDefinitionArn: g.one(T.taskDef, "-evaluation").state.arn,
                subnetIds: g.one("awsx:ec2:Vpc").state.privateSubnetIds,
                securityGroupIds: [g.one("aws:ec2/securityGroup:SecurityGroup", "-network-tasks").id],
                timeoutSeconds: 1800,
                when: ["beforeTraffic"],
            });
        });
    });

    test("on Lattice, a plain task in the associated VPC, calling the Lattice endpoint", async () => {
        const g = await deploy({ ...BASE_CONFIG, trafficBackend: "lattice", evaluation: EVALUATION });
        expect(containers(g).map((c: { name: string }) => c.name)).toEqual(["evaluation"]);
        const url = env(containers(g)[0]).SERVICE_URL;
        expect(url).toBe(`http://${g.outputs.endpoint}:8080`);
        expect(g.ofType(T.node)).toEqual([]);
    });
});

describe("the golden set's runner", () => {
    const T = {
        fn: "aws:lambda/function:Function",
        role: "aws:iam/role:Role",
        rolePolicy: "aws:iam/rolePolicy:RolePolicy",
        logGroup: "aws:cloudwatch/logGroup:LogGroup",
        taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    };
    const GOLDEN = JSON.stringify({ goldenSet: "s3://acme-evals/chat/golden.jsonl", scorer: { kind: "contains", caseSensitive: false }, detectLossPercent: 4 });
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({ ...BASE_CONFIG, trafficBackend: "lattice", evaluation: GOLDEN });
    });

    test("a Lambda function in the private subnets, with the tasks' security groups, its own log group and this file's handler; no evaluation task without an image", () => {
        const fn = g.one(T.fn);
        expect(fn.inputs).toMatchObject({ runtime: "nodejs22.x", handler: "index.handler", timeout: 900 });
        const outputs = g.outputs as { evaluation: { subnetIds: string[]; securityGroupIds: string[] } };
        expect(fn.inputs.vpcConfig).toEqual({ subnetIds: outputs.evaluation.subnetIds, securityGroupIds: outputs.evaluation.securityGroupIds });
        expect(fn.inputs.loggingConfig).toMatchObject({ logGroup: g.one(T.logGroup, "-golden-logs").state.name });
        expect(g.ofType(T.taskDef).map((t) => t.name)).not.toContainEqual(expect.stringMatching(/evaluation/));
    });

    test("its role: Lambda's VPC actions scoped to these subnets and groups, its own log group; no S3, no metrics API", () => {
        const role = g.one(T.role, "-golden-role");
        expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "lambda.amazonaws.com" });
        const statements = JSON.parse(g.one(T.rolePolicy, "-golden-policy").inputs.policy).Statement;
        const actions = statements.flatMap((s: { Action: string[] }) => s.Action);
        expect(actions.filter((a: string) => /^(s3|cloudwatch):/.test(a))).toEqual([]);
        const create = statements.find((s: { Action: string[] }) => s.Action.includes("ec2:CreateNetworkInterface"));
        const outputs = g.outputs as { evaluation: { subnetIds: string[]; securityGroupIds: string[] } };
        expect(create.Resource).toEqual([
            "arn:aws:ec2:us-west-2:123456789012:network-interface/*",
            ...outputs.evaluation.subnetIds.map((id) => `arn:aws:ec2:us-west-2:123456789012:subnet/${id}`),
            ...outputs.evaluation.securityGroupIds.map((id) => `arn:aws:ec2:us-west-2:123456789012:security-group/${id}`),
        ]);
        const star = statements.filter((s: { Resource: unknown }) => s.Resource === "*").flatMap((s: { Action: string[] }) => s.Action);
        expect(star).toEqual(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]);
        const logs = statements.find((s: { Action: string[] }) => s.Action.includes("logs:PutLogEvents"));
        expect(logs.Resource).toBe(`${g.one(T.logGroup, "-golden-logs").state.arn}:*`);
    });

    test("the outputs tell the rollout the runner, the set, the scorer as accepted, and each version's pin", () => {
        const outputs = g.outputs as { evaluation: { goldenSet: Record<string, unknown>; taskDefinitionArn?: string }; url: string };
        expect(outputs.evaluation.taskDefinitionArn).toBeUndefined();
        expect(outputs.evaluation.goldenSet).toEqual({
            functionName: g.one(T.fn).state.name,
            object: "s3://acme-evals/chat/golden.jsonl",
            scorer: { kind: "contains", caseSensitive: false, tolerance: 0, criteria: DEFAULT_CRITERIA },
            url: outputs.url,
            path: "/v1/chat/completions",
            pinHeader: "x-canary",
            pins: { stable: "stable", canary: "always" },
            requestTimeoutSeconds: 300,
            detectLossPercent: 4,
            toleratedLossPercent: 0,
            sampling: false,
            seed: 1,
        });
    });
});

test("behind IAM auth, the runner's role is in the service's auth policy and may invoke that service only; it signs for the stack's Region", async () => {
    const g = await deploy({
        ...BASE_CONFIG,
        trafficBackend: "lattice",
        lattice: JSON.stringify({ authType: "AWS_IAM", allowedPrincipals: ["arn:aws:iam::123456789012:role/callers"] }),
        evaluation: JSON.stringify({ goldenSet: "s3://acme-evals/chat/golden.jsonl" }),
    });
    const role = g.one("aws:iam/role:Role", "-golden-role");
    const auth = JSON.parse(g.one("aws:vpclattice/authPolicy:AuthPolicy").inputs.policy).Statement[0];
    expect(auth.Principal.AWS).toEqual(["arn:aws:iam::123456789012:role/callers", role.state.arn]);
    const service = g.one("aws:vpclattice/service:Service");
    const statements = JSON.parse(g.one("aws:iam/rolePolicy:RolePolicy", "-golden-policy").inputs.policy).Statement;
    expect(statements.find((s: { Action: string[] }) => s.Action.includes("vpc-lattice-svcs:Invoke")).Resource).toBe(`${service.state.arn}/*`);
    expect((g.outputs as { evaluation: { goldenSet: { signFor: string } } }).evaluation.goldenSet.signFor).toBe("us-west-2");
});
