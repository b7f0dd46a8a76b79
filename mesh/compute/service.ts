/**
 * ECS tasks with their own log group, execution role and (when they need one) task role:
 * as a long-running service (the model services, the App Mesh ingress gateway), or as a
 * task definition the rollout runs once (the evaluation). They run on Fargate, or on a
 * version's own GPU instances through its capacity provider. Every task gets the same
 * least-privilege roles and bounded log retention.
 *
 * The components' type tokens keep their first names ("FargateTask", "FargateService"):
 * a new token would change every URN under them, and Pulumi would replace the services.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { execCommandPolicy, executionPolicy, logStreamWritePolicy, SecretReferences, serviceTrustPolicy } from "./iam";
import { DEPLOYMENT } from "./gpuInstances";
import type { LogTarget, TaskJoin } from "./join";

/** Where a task runs: Fargate, or EC2 GPU instances reached through a capacity provider. */
export type Placement = { kind: "fargate" } | { kind: "gpu"; capacityProviderName: pulumi.Input<string>; dependsOn: pulumi.Resource[] };

export interface EcsTaskArgs {
    /** Task definition family; account-wide, so it should carry the stack name. */
    family: string;
    /** CPU units and memory (MiB) of one task: a valid Fargate size, or what it reserves on its instance. */
    cpu: number;
    memory: number;
    /** Container definitions (JSON), given where the service's containers log. */
    containers: (logs: LogTarget) => pulumi.Input<string>;
    /** The image the tasks pull; a private ECR image's repository is the only one the execution role may read. */
    image: string;
    /** Secrets the containers name by reference: the only ones the execution role may read. */
    secrets?: SecretReferences;
    /** Storage of the task's own (Fargate ephemeral storage, GiB; on EC2 the instance's volume) and the volume on it the containers share. */
    storage?: { sizeInGib: number; volume: string };
    /** What the tasks' code may read besides what the join allows (e.g. model weights), as a policy document. */
    readPolicy?: pulumi.Input<string>;
    /** A log stream of the task's own log group its code writes to (the metrics collector's). */
    metricsStream?: string;
    /** ECS Exec into the tasks: the task role may open Session Manager's channels. */
    execCommand?: boolean;
    join: TaskJoin;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    logRetentionDays: number;
    tags: Record<string, string>;
}

export interface EcsServiceArgs extends EcsTaskArgs {
    desiredCount: number;
    /** Service Auto Scaling owns the task count: `desiredCount` is only the count at creation. */
    autoscaled?: boolean;
    placement?: Placement;
    clusterArn: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
}

/** A task definition with its log group and roles, run by whoever runs it. */
export class EcsTask extends pulumi.ComponentResource {
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly taskRole?: aws.iam.Role;
    readonly executionRole: aws.iam.Role;
    readonly taskDefinition: aws.ecs.TaskDefinition;

    constructor(name: string, args: EcsTaskArgs & { placement?: Placement }, opts?: pulumi.ComponentResourceOptions, type = "ai-canary:compute:FargateTask") {
        super(type, name, {}, opts);
        const parent = { parent: this };
        const { tags, join } = args;
        const onGpu = args.placement?.kind === "gpu";

        this.logGroup = new aws.cloudwatch.LogGroup(name, { retentionInDays: args.logRetentionDays, tags }, parent);

        const assumeRolePolicy = serviceTrustPolicy("ecs-tasks.amazonaws.com", args.accountId);
        if (join.taskPolicy || args.readPolicy || args.metricsStream || args.execCommand) {
            this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags }, parent);
            if (join.taskPolicy) new aws.iam.RolePolicy(`${name}-task`, { role: this.taskRole.id, policy: join.taskPolicy }, parent);
            if (args.readPolicy) new aws.iam.RolePolicy(`${name}-read`, { role: this.taskRole.id, policy: args.readPolicy }, parent);
            if (args.metricsStream) {
                new aws.iam.RolePolicy(
                    `${name}-metrics`,
                    { role: this.taskRole.id, policy: logStreamWritePolicy(this.logGroup.arn, args.metricsStream) },
                    parent,
                );
            }
            if (args.execCommand) new aws.iam.RolePolicy(`${name}-exec`, { role: this.taskRole.id, policy: execCommandPolicy() }, parent);
        }
        this.executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy, tags }, parent);
        new aws.iam.RolePolicy(
            `${name}-execution`,
            { role: this.executionRole.id, policy: executionPolicy(this.logGroup.arn, args.image, args.secrets) },
            parent,
        );

        this.taskDefinition = new aws.ecs.TaskDefinition(
            name,
            {
                family: args.family,
                cpu: String(args.cpu),
                memory: String(args.memory),
                // awsvpc on EC2 too: each task has its own interface and security group, as the traffic backends expect.
                networkMode: "awsvpc",
                requiresCompatibilities: [onGpu ? "EC2" : "FARGATE"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                executionRoleArn: this.executionRole.arn,
                taskRoleArn: this.taskRole?.arn,
                containerDefinitions: args.containers({ logGroupName: this.logGroup.name, region: args.region }),
                proxyConfiguration: join.proxyConfiguration,
                // On EC2 a volume without a host path lives on the instance's own disk, sized by its launch template.
                ...(args.storage
                    ? { ...(onGpu ? {} : { ephemeralStorage: { sizeInGib: args.storage.sizeInGib } }), volumes: [{ name: args.storage.volume }] }
                    : {}),
                tags,
            },
            parent,
        );
        // A subclass registers its own outputs once it has declared the rest.
        if (new.target === EcsTask) this.registerOutputs({ taskDefinitionArn: this.taskDefinition.arn });
    }
}

/** A long-running service of the task: ECS keeps its tasks healthy and rolls back a failing deployment. */
export class EcsService extends EcsTask {
    readonly service: aws.ecs.Service;

    constructor(name: string, args: EcsServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super(name, args, opts, "ai-canary:compute:FargateService");
        const parent = { parent: this };
        const { tags, join } = args;
        const placement = args.placement ?? { kind: "fargate" };

        this.service = new aws.ecs.Service(
            name,
            {
                cluster: args.clusterArn,
                taskDefinition: this.taskDefinition.arn,
                desiredCount: args.desiredCount,
                ...(placement.kind === "gpu"
                    ? { capacityProviderStrategies: [{ capacityProvider: placement.capacityProviderName, weight: 1, base: 0 }] }
                    : { launchType: "FARGATE" }),
                networkConfiguration: { subnets: args.subnetIds, securityGroups: args.securityGroupIds, assignPublicIp: false },
                ...join.service?.({ name, opts: parent, accountId: args.accountId, tags }),
                // ECS Exec reaches only tasks started with it: turning it on starts new ones (ECS's guide says so).
                ...(args.execCommand ? { enableExecuteCommand: true, forceNewDeployment: true, triggers: { execCommand: "on" } } : {}),
                // Keep serving on the old tasks until new ones pass their health checks (GPU capacity is sized for it).
                deploymentMinimumHealthyPercent: DEPLOYMENT.minimumHealthyPercent,
                deploymentMaximumPercent: DEPLOYMENT.maximumPercent,
                deploymentCircuitBreaker: { enable: true, rollback: true },
                propagateTags: "SERVICE",
                tags,
            },
            {
                ...parent,
                // An update must not reset the count Service Auto Scaling has set.
                ...(args.autoscaled ? { ignoreChanges: ["desiredCount"] } : {}),
                ...(placement.kind === "gpu" ? { dependsOn: placement.dependsOn } : {}),
            },
        );

        this.registerOutputs({ serviceName: this.service.name });
    }
}
