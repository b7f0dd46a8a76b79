/**
 * The compute that runs the model: one ECS Fargate service per version. A version's
 * resources read only that version's config and traffic attachment, so changing the
 * canary's image never touches the stable service, and the other way round.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CanaryConfig, Version } from "./config";
import { VersionAttachment } from "./traffic/backend";
import { appMeshProxyConfiguration, taskContainers } from "./taskDefinition";
import { ecsTasksTrustPolicy, envoyPolicy, executionPolicy } from "./iam";

export interface ModelServiceArgs {
    config: CanaryConfig;
    version: Version;
    /** How this version's tasks join the traffic layer. */
    attachment: VersionAttachment;
    clusterArn: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
}

export class ModelService extends pulumi.ComponentResource {
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly taskRole: aws.iam.Role;
    readonly executionRole: aws.iam.Role;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    readonly service: aws.ecs.Service;

    constructor(name: string, args: ModelServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:compute:ModelService", name, {}, opts);
        const { config, version, attachment } = args;
        const v = config.versions[version];
        const parent = { parent: this };
        const tags = { "ai-canary:version": version };

        this.logGroup = new aws.cloudwatch.LogGroup(name, { retentionInDays: config.logRetentionDays, tags }, parent);

        const assumeRolePolicy = ecsTasksTrustPolicy(args.accountId);
        this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags }, parent);
        new aws.iam.RolePolicy(
            `${name}-envoy`,
            { role: this.taskRole.id, policy: envoyPolicy(attachment.virtualNodeArn) },
            parent,
        );
        this.executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy, tags }, parent);
        new aws.iam.RolePolicy(
            `${name}-execution`,
            { role: this.executionRole.id, policy: executionPolicy(this.logGroup.arn, v.image) },
            parent,
        );

        this.taskDefinition = new aws.ecs.TaskDefinition(
            name,
            {
                // Families are account-wide, so the stack name keeps two stacks' tasks apart.
                family: `${pulumi.getStack()}-${config.serviceName}-${version}`,
                cpu: String(v.cpu),
                memory: String(v.memory),
                networkMode: "awsvpc",
                requiresCompatibilities: ["FARGATE"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                executionRoleArn: this.executionRole.arn,
                taskRoleArn: this.taskRole.arn,
                containerDefinitions: taskContainers({
                    config,
                    version,
                    attachment,
                    logGroupName: this.logGroup.name,
                    region: args.region,
                }),
                proxyConfiguration: appMeshProxyConfiguration(config),
                tags,
            },
            parent,
        );

        this.service = new aws.ecs.Service(
            name,
            {
                cluster: args.clusterArn,
                taskDefinition: this.taskDefinition.arn,
                desiredCount: v.desiredCount,
                launchType: "FARGATE",
                networkConfiguration: {
                    subnets: args.subnetIds,
                    securityGroups: args.securityGroupIds,
                    assignPublicIp: false,
                },
                serviceRegistries: { registryArn: attachment.discoveryServiceArn },
                // Keep serving on the old tasks until new ones pass their health checks.
                deploymentMinimumHealthyPercent: 100,
                deploymentMaximumPercent: 200,
                deploymentCircuitBreaker: { enable: true, rollback: true },
                propagateTags: "SERVICE",
                tags,
            },
            parent,
        );

        this.registerOutputs({ serviceName: this.service.name });
    }
}
