/**
 * Model weights from S3: fetched into the task's own storage before the model server
 * starts, through the VPC's S3 gateway endpoint, by a task role that may read that
 * prefix only. On App Mesh the fetch runs as Envoy's ignored user, so the mesh's
 * DROP_ALL egress stays shut for everything else.
 */
import { deploy, Graph } from "./harness/program";
import { BASE_CONFIG } from "./harness/stacks";
import { definitionOf, fingerprint } from "../mesh/canary/version";
import { loadConfig } from "../mesh/config/schema";

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
        expect(g.resources.filter((r) => r.type === T.rolePolicy && r.name.startsWith("inference-stable")).map((r) => r.name).sort()).not.toContain("inference-stable-read");
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
