/**
 * The evaluation task the rollout runs before the canary gets traffic: declared inside the
 * stack's network, told the service's address and the pin header; on App Mesh a caller of
 * its own (a virtual node whose one backend is the virtual service, and an Envoy bound to
 * it), on Lattice a plain task in the associated VPC. It is a task definition, never a service.
 */
import { deploy, Graph } from "./harness/program";
import { BASE_CONFIG } from "./harness/stacks";

const EVALUATION = JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-evals:3.1", command: ["pytest", "-q", "evals/"], environment: { SUITE: "smoke" } });
const T = { taskDef: "aws:ecs/taskDefinition:TaskDefinition", node: "aws:appmesh/virtualNode:VirtualNode", service: "aws:ecs/service:Service", rolePolicy: "aws:iam/rolePolicy:RolePolicy" };
const containers = (g: Graph) => JSON.parse(g.one(T.taskDef, "-evaluation").inputs.containerDefinitions);
const env = (c: { environment: { name: string; value: string }[] }) => Object.fromEntries(c.environment.map((e) => [e.name, e.value]));

describe("on App Mesh", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({ ...BASE_CONFIG, evaluation: EVALUATION });
    });

    test("a virtual node whose one backend is the virtual service, and an Envoy bound to it", () => {
        const node = g.one(T.node, "-evaluation");
        expect(node.inputs.spec).toEqual({ backends: [{ virtualService: { virtualServiceName: g.one("aws:appmesh/virtualService:VirtualService").state.name } }] });
        const [evaluation, envoy] = containers(g);
        expect(envoy.environment).toEqual([{ name: "APPMESH_RESOURCE_ARN", value: node.state.arn }]);
        expect(evaluation.dependsOn).toEqual([{ containerName: "envoy", condition: "HEALTHY" }]);
        expect(g.one(T.taskDef, "-evaluation").inputs.proxyConfiguration.type).toBe("APPMESH");
        const [statement] = JSON.parse(g.one(T.rolePolicy, "-evaluation-task").inputs.policy).Statement;
        expect(statement.Resource).toBe(node.state.arn);
    });

    test("the evaluation is told where to call and how to reach the canary at any weight", () => {
        const [evaluation] = containers(g);
        expect(evaluation).toMatchObject({ name: "evaluation", image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-evals:3.1", command: ["pytest", "-q", "evals/"] });
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
