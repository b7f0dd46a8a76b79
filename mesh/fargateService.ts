/**
 * One ECS Fargate service with its own log group, task role and execution role. The
 * model services and the ingress gateway are both built from it, so every task gets
 * the same least-privilege roles and bounded log retention.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { ecsInfrastructureTrustPolicy, ecsTasksTrustPolicy, executionPolicy, latticeRegistrationPolicy } from "./iam";

export interface FargateServiceArgs {
    /** Task definition family; account-wide, so it should carry the stack name. */
    family: string;
    /** CPU units and memory (MiB) of one task, a valid Fargate size. */
    cpu: number;
    memory: number;
    desiredCount: number;
    /** Container definitions (JSON), given the name of the service's own log group. */
    containers: (logGroupName: pulumi.Output<string>) => pulumi.Input<string>;
    /** Images the tasks pull; a private ECR image's repository is the only one the execution role may read. */
    image: string;
    /** What the tasks' own code (or sidecar) may call, as a policy document; no task role without one. */
    taskPolicy?: pulumi.Input<string>;
    proxyConfiguration?: aws.types.input.ecs.TaskDefinitionProxyConfiguration;
    /** Cloud Map service the tasks register in. */
    registryArn?: pulumi.Input<string>;
    /** VPC Lattice target group ECS registers the tasks in, by the name of the container port that serves it. */
    vpcLattice?: { targetGroupArn: pulumi.Input<string>; portName: string };
    /** Target group the tasks register in, with the container and port that serve it. */
    loadBalancer?: { targetGroupArn: pulumi.Input<string>; containerName: string; containerPort: number };
    clusterArn: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    accountId: pulumi.Input<string>;
    logRetentionDays: number;
    /** Seconds a new task may fail load balancer health checks while it starts. */
    healthCheckGracePeriodSeconds?: number;
    tags: Record<string, string>;
}

export class FargateService extends pulumi.ComponentResource {
    readonly logGroup: aws.cloudwatch.LogGroup;
    readonly taskRole?: aws.iam.Role;
    readonly executionRole: aws.iam.Role;
    readonly taskDefinition: aws.ecs.TaskDefinition;
    readonly service: aws.ecs.Service;

    constructor(name: string, args: FargateServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:compute:FargateService", name, {}, opts);
        const parent = { parent: this };
        const tags = args.tags;

        this.logGroup = new aws.cloudwatch.LogGroup(name, { retentionInDays: args.logRetentionDays, tags }, parent);

        const assumeRolePolicy = ecsTasksTrustPolicy(args.accountId);
        if (args.taskPolicy) {
            this.taskRole = new aws.iam.Role(`${name}-task`, { assumeRolePolicy, tags }, parent);
            new aws.iam.RolePolicy(`${name}-task`, { role: this.taskRole.id, policy: args.taskPolicy }, parent);
        }
        this.executionRole = new aws.iam.Role(`${name}-execution`, { assumeRolePolicy, tags }, parent);
        new aws.iam.RolePolicy(
            `${name}-execution`,
            { role: this.executionRole.id, policy: executionPolicy(this.logGroup.arn, args.image) },
            parent,
        );

        this.taskDefinition = new aws.ecs.TaskDefinition(
            name,
            {
                family: args.family,
                cpu: String(args.cpu),
                memory: String(args.memory),
                networkMode: "awsvpc",
                requiresCompatibilities: ["FARGATE"],
                runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
                executionRoleArn: this.executionRole.arn,
                taskRoleArn: this.taskRole?.arn,
                containerDefinitions: args.containers(this.logGroup.name),
                proxyConfiguration: args.proxyConfiguration,
                tags,
            },
            parent,
        );

        let vpcLatticeConfigurations: aws.types.input.ecs.ServiceVpcLatticeConfiguration[] | undefined;
        if (args.vpcLattice) {
            const infrastructureRole = new aws.iam.Role(
                `${name}-lattice`,
                { assumeRolePolicy: ecsInfrastructureTrustPolicy(args.accountId), tags },
                parent,
            );
            new aws.iam.RolePolicy(
                `${name}-lattice`,
                { role: infrastructureRole.id, policy: latticeRegistrationPolicy(args.vpcLattice.targetGroupArn) },
                parent,
            );
            vpcLatticeConfigurations = [{ roleArn: infrastructureRole.arn, ...args.vpcLattice }];
        }

        this.service = new aws.ecs.Service(
            name,
            {
                cluster: args.clusterArn,
                taskDefinition: this.taskDefinition.arn,
                desiredCount: args.desiredCount,
                launchType: "FARGATE",
                networkConfiguration: { subnets: args.subnetIds, securityGroups: args.securityGroupIds, assignPublicIp: false },
                serviceRegistries: args.registryArn ? { registryArn: args.registryArn } : undefined,
                loadBalancers: args.loadBalancer ? [args.loadBalancer] : undefined,
                vpcLatticeConfigurations,
                healthCheckGracePeriodSeconds: args.healthCheckGracePeriodSeconds,
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
