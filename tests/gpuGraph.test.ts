/**
 * GPU versions, under the same engine-like mocks: the committed GPU stack
 * (`Pulumi.gpu.yaml`), a stack whose canary alone moves to GPUs, and the capacity step
 * the rollout makes. (Every committed stack's task scaling is checked in stacks.test.ts.)
 */
import { changedBetween, deploy, Graph } from "./harness/program";
import { BASE_CONFIG, stackConfig } from "./harness/stacks";
import { Registered } from "./harness/mocks";
import { GPU_AMI_PARAMETER } from "../mesh/compute/gpuCapacity";
import { modelHealthTiming } from "../mesh/compute/containers";

const T = {
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    group: "aws:autoscaling/group:Group",
    provider: "aws:ecs/capacityProvider:CapacityProvider",
    association: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    cluster: "aws:ecs/cluster:Cluster",
    service: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    role: "aws:iam/role:Role",
    profile: "aws:iam/instanceProfile:InstanceProfile",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    target: "aws:appautoscaling/target:Target",
    policy: "aws:appautoscaling/policy:Policy",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    vpc: "awsx:ec2:Vpc",
};
const VERSIONS = ["stable", "canary"] as const;
const model = (g: Graph, version: string) => JSON.parse(g.one(T.taskDef, `-${version}`).inputs.containerDefinitions).find((c: any) => c.name === "model");
const statements = (p: Registered): any[] => JSON.parse(p.inputs.policy).Statement;

describe("the GPU stack (Pulumi.gpu.yaml)", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy(stackConfig("gpu"));
    });

    test("each version has its own instances: the ECS GPU AMI resolved from AWS's SSM parameter at launch, IMDSv2 only, an encrypted root volume", () => {
        for (const version of VERSIONS) {
            const lt = g.one(T.launchTemplate, `-${version}-gpu`);
            expect(lt.inputs).toMatchObject({
                imageId: `resolve:ssm:${GPU_AMI_PARAMETER}`,
                instanceType: "g6.xlarge",
                metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3", encrypted: "true" } }],
            });
            const userData = Buffer.from(lt.inputs.userData, "base64").toString();
            expect(userData).toContain(`ECS_CLUSTER=${g.one(T.cluster).state.name}`);
            expect(userData).toContain("ECS_ENABLE_GPU_SUPPORT=true");
            expect(userData).toContain("ECS_AWSVPC_BLOCK_IMDS=true");
            expect(lt.inputs.iamInstanceProfile.arn).toBe(g.one(T.profile, `-${version}-gpu-instance`).state.arn);
            // The instances take no connections; tasks have their own interfaces.
            const sg = g.one(T.sg, `-${version}-gpu-instances`);
            expect(sg.inputs.ingress).toBeUndefined();
            expect(sg.inputs.egress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 443, toPort: 443 })]);
            expect(lt.inputs.vpcSecurityGroupIds).toEqual([sg.id]);
        }
        expect(g.calls.map((c) => c.token)).not.toContain("aws:ssm/getParameter:getParameter");
    });

    test("an Auto Scaling group per version, empty until ECS needs it, managed by a capacity provider the cluster knows", () => {
        for (const version of VERSIONS) {
            const group = g.one(T.group, `-${version}-gpu`);
            expect(group.inputs).toMatchObject({ minSize: 0, maxSize: 4, protectFromScaleIn: true, vpcZoneIdentifiers: g.one(T.vpc).state.privateSubnetIds });
            expect(group.inputs.launchTemplate).toEqual({ id: g.one(T.launchTemplate, `-${version}-gpu`).id, version: "1" });
            expect(group.inputs.tags).toContainEqual({ key: "AmazonECSManaged", value: "true", propagateAtLaunch: true });
            const provider = g.one(T.provider, `-${version}-gpu`);
            expect(provider.inputs.autoScalingGroupProvider).toMatchObject({
                autoScalingGroupArn: group.state.arn,
                managedTerminationProtection: "ENABLED",
                managedScaling: { status: "ENABLED", targetCapacity: 100 },
            });
        }
        expect(g.one(T.association).inputs).toEqual({
            clusterName: g.one(T.cluster).state.name,
            capacityProviders: ["FARGATE", g.one(T.provider, "-stable-gpu").state.name, g.one(T.provider, "-canary-gpu").state.name],
        });
    });

    test("services place their tasks through their own capacity provider; tasks reserve a GPU and run vLLM's command on weights fetched first", () => {
        for (const version of VERSIONS) {
            const service = g.one(T.service, `-${version}`);
            expect(service.inputs.launchType).toBeUndefined();
            expect(service.inputs.capacityProviderStrategies).toEqual([{ capacityProvider: g.one(T.provider, `-${version}-gpu`).state.name, weight: 1, base: 0 }]);
            const td = g.one(T.taskDef, `-${version}`);
            expect(td.inputs).toMatchObject({ requiresCompatibilities: ["EC2"], networkMode: "awsvpc", cpu: "3584", memory: "14336", volumes: [{ name: "weights" }] });
            // Fargate's ephemeral storage does not exist on EC2: the weights live on the instance's volume.
            expect(td.inputs.ephemeralStorage).toBeUndefined();
            const m = model(g, version);
            expect(m.resourceRequirements).toEqual([{ type: "GPU", value: "1" }]);
            expect(m.command).toEqual(expect.arrayContaining(["--model", "/models", "--port", "8000"]));
            expect(m.dependsOn).toEqual([{ containerName: "weights", condition: "SUCCESS" }]);
            // 900 s of model load: the health check allows for a new instance, the image and the weights.
            const timing = modelHealthTiming(900);
            expect(m.healthCheck).toMatchObject({ startPeriod: timing.startPeriod, interval: timing.interval, retries: timing.retries });
        }
    });

    test("the instance role may only do what the ECS agent does, on this cluster and its container instances", () => {
        const cluster = g.one(T.cluster).state.arn;
        for (const version of VERSIONS) {
            const trust = JSON.parse(g.one(T.role, `-${version}-gpu-instance`).inputs.assumeRolePolicy).Statement[0];
            expect(trust.Principal).toEqual({ Service: "ec2.amazonaws.com" });
            const s = statements(g.one(T.rolePolicy, `-${version}-gpu-instance`));
            expect(s.filter((x) => x.Resource === "*")).toEqual([expect.objectContaining({ Action: ["ecs:DiscoverPollEndpoint"] })]);
            expect(s.find((x) => x.Action.includes("ecs:RegisterContainerInstance")).Resource).toBe(cluster);
            expect(s.find((x) => x.Action.includes("ecs:Poll")).Resource).toBe(`${cluster.replace(":cluster/", ":container-instance/")}/*`);
            expect(s.flatMap((x) => x.Action).filter((a: string) => !a.startsWith("ecs:"))).toEqual([]);
        }
    });

    test("the weights come through the S3 gateway endpoint, readable by each version's task role at that prefix only", () => {
        expect(g.one(T.endpoint).inputs.vpcEndpointType).toBe("Gateway");
        for (const version of VERSIONS) {
            const s = statements(g.one(T.rolePolicy, `-${version}-read`));
            expect(s.find((x) => x.Action.includes("s3:GetObject")).Resource).toBe("arn:aws:s3:::my-model-bucket/llama-3.1-8b-instruct/*");
        }
    });

    test("a new instance type for the canary changes its launch template, not stable's instances", async () => {
        const gpu = stackConfig("gpu");
        const after = await deploy({ ...gpu, canary: JSON.stringify({ ...JSON.parse(gpu.canary), gpu: { instanceType: "g6e.xlarge" } }) });
        expect(changedBetween(g, after)).toEqual([`${T.launchTemplate}::inference-canary-gpu`]);
    });
});

describe("capacity steps and GPU canaries", () => {
    const gpuCanary = {
        image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.5.0",
        compute: "gpu",
        cpu: 4096,
        memory: 14336,
        gpu: { instanceType: "g6.xlarge" },
    };
    let base: Graph;
    beforeAll(async () => {
        base = await deploy(BASE_CONFIG);
    });

    test("the rollout's raised minimum changes the canary's scalable target and nothing else", async () => {
        const raised = await deploy({ ...BASE_CONFIG, canaryMinCount: "3" });
        expect(changedBetween(base, raised)).toEqual([`${T.target}::inference-canary-scaling`]);
        expect(raised.one(T.target, "-canary-scaling").inputs.minCapacity).toBe(3);
        // The service's count is only its count at creation; autoscaling owns it.
        expect(raised.one(T.service, "-canary").inputs.desiredCount).toBe(1);
    });

    test("a canary alone on GPUs: only it gets instances; stable stays on Fargate, untouched", async () => {
        const after = await deploy({ ...BASE_CONFIG, canary: JSON.stringify(gpuCanary) });
        expect(after.ofType(T.group).map((r) => r.name)).toEqual(["inference-canary-gpu"]);
        expect(after.one(T.service, "-stable").inputs.launchType).toBe("FARGATE");
        expect(JSON.stringify(after.one(T.taskDef, "-stable").inputs)).toBe(JSON.stringify(base.one(T.taskDef, "-stable").inputs));
    });
});
