/**
 * `Platform`: what the services of one AI application share, declared once: the VPC (new or
 * existing), its S3 gateway endpoint, the Lattice service network (new or existing) with the
 * VPC's one association, a private hosted zone for the services' names, and the ECS cluster. Each service is a stack of
 * the project at the repository root that names this stack in `platform` and declares only
 * its own resources; destroying one leaves this and the others as they are.
 *
 * The ECS cluster is shared too, with its GPU capacity: a cluster's capacity providers are
 * one list that PutClusterCapacityProviders replaces whole, so only one stack may own it.
 * The platform owns it, with a pool of instances per GPU instance type (`gpuPools`), and a
 * service's GPU version is placed on the pool of its instance type.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Declared, PlatformOutputs } from "../contract/outputs";
import { associateVpc, clusterCapacityProviders, ecsCluster, newVpc, s3GatewayEndpoint, serviceNetwork } from "../mesh/foundation/foundation";
import { PlatformConfig } from "./config";
import { ec2Description } from "../mesh/awsText";
import { GpuCapacity } from "../mesh/compute/gpuCapacity";
import { platformDashboardBody } from "./dashboard";

export class Platform extends pulumi.ComponentResource {
    readonly outputs: Declared<PlatformOutputs>;
    /** Its dashboard in the console: the cluster and the GPU pools. */
    readonly dashboardUrl: pulumi.Output<string>;

    constructor(name: string, args: { config: PlatformConfig; stack: string }, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:platform:Platform", name, {}, opts);
        const { config } = args;
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const net = config.network;
        const vpc = net.existing
            ? {
                  vpcId: pulumi.output(net.vpcId),
                  privateSubnetIds: pulumi.output(net.privateSubnetIds),
                  publicSubnetIds: pulumi.output(net.publicSubnetIds),
                  natAddresses: pulumi.output<string[]>([]),
              }
            : newVpc(`${name}-vpc`, net, parent);

        if (net.s3GatewayEndpoint === "create") {
            s3GatewayEndpoint(`${name}-s3`, { vpcId: vpc.vpcId, privateSubnetIds: vpc.privateSubnetIds, existingVpc: net.existing, region }, parent);
        }
        // Who may call the services: the platform's tasks (each service puts its tasks in this group), nothing else in the VPC.
        const callers = new aws.ec2.SecurityGroup(
            `${name}-callers`,
            {
                vpcId: vpc.vpcId,
                description: ec2Description("Tasks of the services on this platform: what may call them through Lattice"),
                egress: [
                    {
                        description: ec2Description("the services through Lattice, and what tasks reach"),
                        protocol: "-1",
                        fromPort: 0,
                        toPort: 0,
                        cidrBlocks: ["0.0.0.0/0"],
                    },
                ],
            },
            parent,
        );
        const association = { vpcId: vpc.vpcId, callers: callers.id, ports: config.latticePorts };
        const existing = config.serviceNetwork.existingId;
        if (existing && config.serviceNetwork.associateVpc) associateVpc(`${name}-lattice`, { ...association, serviceNetworkId: existing }, parent);
        const serviceNetworkId = existing ?? serviceNetwork(`${name}-lattice`, association, parent).id;
        const { cluster, gpuPools } = this.cluster(name, config, vpc, args.stack);
        const dashboard = new aws.cloudwatch.Dashboard(
            `${name}-dashboard`,
            {
                dashboardName: `platform-${args.stack}`,
                dashboardBody: platformDashboardBody({ region, clusterName: cluster.name, gpuNamespace: platformMetricNamespace(args.stack), gpuPools }),
            },
            parent,
        );
        this.dashboardUrl = pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${dashboard.dashboardName}`;
        const zone = new aws.route53.Zone(
            `${name}-zone`,
            { name: config.zoneName, comment: "Names of the AI inference services on this platform", vpcs: [{ vpcId: vpc.vpcId }] },
            parent,
        );

        this.outputs = {
            vpcId: vpc.vpcId,
            cidrBlock: net.cidrBlock,
            privateSubnetIds: vpc.privateSubnetIds,
            publicSubnetIds: vpc.publicSubnetIds,
            serviceNetworkId,
            latticePorts: config.latticePorts,
            callerSecurityGroupId: callers.id,
            // A hosted zone's resource id is its zone id.
            zoneId: zone.id,
            zoneName: zone.name,
            clusterName: cluster.name,
            clusterArn: cluster.arn,
            gpuPools,
            natAddresses: vpc.natAddresses,
        };
        this.registerOutputs({});
    }

    /** The services' cluster and its GPU pools, each listed in the cluster's capacity providers with Fargate. */
    private cluster(name: string, config: PlatformConfig, vpc: { vpcId: pulumi.Input<string>; privateSubnetIds: pulumi.Input<string[]> }, stack: string) {
        const parent = { parent: this };
        const cluster = ecsCluster(name, parent);
        const pools = Object.entries(config.gpuPools).map(([instanceType, pool]) => {
            const capacity = new GpuCapacity(
                `${name}-gpu-${instanceType.replace(".", "-")}`,
                {
                    instanceType,
                    volumeGiB: pool.volumeGiB,
                    maxInstances: pool.maxInstances,
                    clusterName: cluster.name,
                    clusterArn: cluster.arn,
                    vpcId: vpc.vpcId,
                    subnetIds: vpc.privateSubnetIds,
                    metrics: { namespace: platformMetricNamespace(stack), dimension: { name: "Pool", value: instanceType } },
                    tags: { "ai-canary:pool": instanceType },
                },
                parent,
            );
            return { instanceType, pool, capacity };
        });
        if (pools.length > 0) {
            clusterCapacityProviders(
                name,
                cluster.name,
                pools.map((p) => p.capacity.capacityProvider.name),
                parent,
            );
        }
        const gpuPools = Object.fromEntries(
            pools.map(({ instanceType, pool, capacity }) => [
                instanceType,
                { capacityProviderName: capacity.capacityProvider.name, maxInstances: pool.maxInstances, volumeGiB: pool.volumeGiB },
            ]),
        );
        return { cluster, gpuPools };
    }
}

/** Where a platform's GPU instances publish their utilisation, by pool. */
const platformMetricNamespace = (stack: string) => `AICanary/platform-${stack}`;
