/**
 * GPU capacity for one version: EC2 instances of its own instance type in the stack's
 * private subnets, from an Auto Scaling group that ECS grows and shrinks through a
 * capacity provider with managed scaling (the group starts empty; ECS launches what the
 * version's tasks need). The AMI is AWS's current ECS GPU-optimized one, read from its
 * public SSM parameter at each deploy, never a pinned id that goes stale.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { containerInstancePolicy, containerInstanceTrustPolicy, putMetricDataPolicy } from "./iam";
import { ec2Description } from "../awsText";

/** AWS's public parameter naming the current ECS GPU-optimized Amazon Linux 2023 AMI (NVIDIA driver, container toolkit). */
export const GPU_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id";

export interface GpuCapacityArgs {
    instanceType: string;
    /** Root volume of each instance, GiB. */
    volumeGiB: number;
    /** Instances at most: enough for a deployment at the version's largest size (`instancesForDeployment`). */
    maxInstances: number;
    clusterName: pulumi.Input<string>;
    clusterArn: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Where the host's CloudWatch agent publishes GPU utilisation, and the dimension it is labelled with (the version, or a platform's pool). */
    metrics: { namespace: string; dimension: { name: string; value: string } };
    tags: Record<string, string>;
}

/**
 * The host's CloudWatch agent: GPU utilisation from nvidia-smi every minute, one series per
 * version or pool (its instances aggregated), in the stack's namespace. Tasks cannot see the
 * GPUs they did not reserve, so the instance measures them.
 */
function gpuAgentConfig(metrics: GpuCapacityArgs["metrics"]) {
    const { name, value } = metrics.dimension;
    return {
        metrics: {
            namespace: metrics.namespace,
            aggregation_dimensions: [[name]],
            metrics_collected: {
                nvidia_gpu: {
                    measurement: ["utilization_gpu", "memory_used", "memory_total"],
                    metrics_collection_interval: 60,
                    append_dimensions: { [name]: value },
                },
            },
        },
    };
}

export class GpuCapacity extends pulumi.ComponentResource {
    readonly capacityProvider: aws.ecs.CapacityProvider;

    constructor(name: string, args: GpuCapacityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:compute:GpuCapacity", name, {}, opts);
        const parent = { parent: this };
        const { tags } = args;

        const role = new aws.iam.Role(`${name}-instance`, { assumeRolePolicy: containerInstanceTrustPolicy(), tags }, parent);
        new aws.iam.RolePolicy(`${name}-instance`, { role: role.id, policy: containerInstancePolicy(args.clusterArn) }, parent);
        new aws.iam.RolePolicy(`${name}-gpu-metrics`, { role: role.id, policy: putMetricDataPolicy(args.metrics.namespace) }, parent);
        const profile = new aws.iam.InstanceProfile(`${name}-instance`, { role: role.name, tags }, parent);

        // Tasks have their own network interfaces (awsvpc) and security group; the instance itself takes no connections.
        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-instances`,
            {
                vpcId: args.vpcId,
                description: ec2Description("GPU container instances: no inbound; the ECS agent reaches AWS over HTTPS"),
                egress: [
                    { description: ec2Description("ECS, ECR and CloudWatch APIs"), protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
                ],
                tags,
            },
            parent,
        );

        const userData = pulumi.interpolate`#!/bin/bash
cat >> /etc/ecs/ecs.config <<'CONFIG'
ECS_CLUSTER=${args.clusterName}
ECS_ENABLE_GPU_SUPPORT=true
ECS_AWSVPC_BLOCK_IMDS=true
ECS_CONTAINER_STOP_TIMEOUT=120s
CONFIG
dnf install -y amazon-cloudwatch-agent
cat > /opt/aws/amazon-cloudwatch-agent/etc/gpu.json <<'AGENT'
${JSON.stringify(gpuAgentConfig(args.metrics))}
AGENT
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/gpu.json
`;
        const launchTemplate = new aws.ec2.LaunchTemplate(
            name,
            {
                imageId: `resolve:ssm:${GPU_AMI_PARAMETER}`,
                instanceType: args.instanceType,
                iamInstanceProfile: { arn: profile.arn },
                vpcSecurityGroupIds: [securityGroup.id],
                userData: userData.apply((text) => Buffer.from(text).toString("base64")),
                metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" },
                blockDeviceMappings: [
                    { deviceName: "/dev/xvda", ebs: { volumeSize: args.volumeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } },
                ],
                monitoring: { enabled: true },
                tagSpecifications: [{ resourceType: "instance", tags: { ...tags, Name: name } }],
                tags,
            },
            parent,
        );

        const group = new aws.autoscaling.Group(
            name,
            {
                minSize: 0,
                maxSize: args.maxInstances,
                vpcZoneIdentifiers: args.subnetIds,
                launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
                // ECS decides which instances may go (managed termination protection): never one that runs a task.
                protectFromScaleIn: true,
                healthCheckGracePeriod: 300,
                tags: [
                    { key: "AmazonECSManaged", value: "true", propagateAtLaunch: true },
                    ...Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
                ],
            },
            // Managed scaling owns the group's size from here on.
            { ...parent, ignoreChanges: ["desiredCapacity"] },
        );

        this.capacityProvider = new aws.ecs.CapacityProvider(
            name,
            {
                autoScalingGroupProvider: {
                    autoScalingGroupArn: group.arn,
                    managedTerminationProtection: "ENABLED",
                    managedDraining: "ENABLED",
                    managedScaling: {
                        status: "ENABLED",
                        targetCapacity: 100,
                        minimumScalingStepSize: 1,
                        maximumScalingStepSize: 10,
                        instanceWarmupPeriod: 300,
                    },
                },
                tags,
            },
            parent,
        );
        this.registerOutputs({ capacityProvider: this.capacityProvider.name });
    }
}
