/**
 * What services share, as functions a caller declares under its own parent: the VPC, the
 * VPC's S3 gateway endpoint, the Lattice service network with its one VPC association
 * (or an association with a service network that exists already), and the ECS cluster with
 * its one list of capacity providers.
 * A standalone stack declares them inline (under the same parents and names as always, so
 * no URN moves); a platform stack declares them once for every service on it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
// The package's root also loads its classic modules, a tenth of a second per program load, for nothing used here.
import * as awsxEc2 from "@pulumi/awsx/ec2";
import { ec2Description } from "../awsText";

/** A new VPC's subnets, as `awsx` creates them: public and private in each zone, one NAT gateway per zone. */
export interface Vpc {
    vpcId: pulumi.Output<string>;
    privateSubnetIds: pulumi.Output<string[]>;
    publicSubnetIds: pulumi.Output<string[]>;
    /** The NAT gateways' public addresses: where the VPC's private subnets reach the internet from. */
    natAddresses: pulumi.Output<string[]>;
}

export function newVpc(name: string, args: { cidrBlock: string; availabilityZones: number }, opts: pulumi.ComponentResourceOptions): Vpc {
    const vpc = new awsxEc2.Vpc(
        name,
        {
            cidrBlock: args.cidrBlock,
            numberOfAvailabilityZones: args.availabilityZones,
            enableDnsHostnames: true,
            enableDnsSupport: true,
            // Tasks pull images and reach AWS APIs (and App Mesh's control plane) through NAT; one per AZ
            // keeps an AZ outage from cutting the other AZ off.
            natGateways: { strategy: "OnePerAz" },
        },
        opts,
    );
    // `eips` are the NAT gateways' Elastic IPs (awsx creates one per NAT gateway).
    const natAddresses = vpc.eips.apply((eips) => pulumi.all((eips ?? []).map((eip) => eip.publicIp)));
    return { vpcId: vpc.vpcId, privateSubnetIds: vpc.privateSubnetIds, publicSubnetIds: vpc.publicSubnetIds, natAddresses };
}

/**
 * Weights from S3 travel through a gateway endpoint on the private subnets' route tables: no
 * NAT, no internet. Subnets without a route table of their own use the main one, so an
 * existing VPC's main table is covered too. AWS refuses a second S3 endpoint on the same
 * tables, so one VPC has one, declared once.
 */
export function s3GatewayEndpoint(
    name: string,
    args: { vpcId: pulumi.Input<string>; privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>; existingVpc: boolean; region: pulumi.Input<string> },
    opts: pulumi.CustomResourceOptions,
): aws.ec2.VpcEndpoint {
    const lookup = (filter: { name: string; values: pulumi.Input<pulumi.Input<string>[]> }) =>
        aws.ec2.getRouteTablesOutput({ vpcId: args.vpcId, filters: [filter] }, opts).ids;
    const explicit = lookup({ name: "association.subnet-id", values: args.privateSubnetIds });
    const routeTableIds = args.existingVpc
        ? pulumi.all([explicit, lookup({ name: "association.main", values: ["true"] })]).apply(([a, b]) => [...new Set([...a, ...b])])
        : explicit;
    return new aws.ec2.VpcEndpoint(
        name,
        { vpcId: args.vpcId, serviceName: pulumi.interpolate`com.amazonaws.${args.region}.s3`, vpcEndpointType: "Gateway", routeTableIds },
        opts,
    );
}

/** Who may reach the services through a VPC association: anything in the VPC (`cidrBlock`), or only members of a security group (`callers`: a platform's tasks). */
type Association = { vpcId: pulumi.Input<string>; ports: number[] } & ({ cidrBlock: pulumi.Input<string> } | { callers: pulumi.Input<string> });

/** A new Lattice service network and its association with the VPC. */
export function serviceNetwork(name: string, args: Association, opts: pulumi.CustomResourceOptions): aws.vpclattice.ServiceNetwork {
    const network = new aws.vpclattice.ServiceNetwork(`${name}-network`, { authType: "NONE" }, opts);
    associateVpc(name, { ...args, serviceNetworkId: network.id }, opts);
    return network;
}

/**
 * A service network's association with the VPC (a VPC is associated directly with one
 * service network at most), through a security group that admits callers on the services'
 * listener ports.
 */
export function associateVpc(name: string, args: Association & { serviceNetworkId: pulumi.Input<string> }, opts: pulumi.CustomResourceOptions): void {
    const from = "callers" in args ? { securityGroups: [args.callers] } : { cidrBlocks: [args.cidrBlock] };
    const clients = new aws.ec2.SecurityGroup(
        `${name}-clients`,
        {
            vpcId: args.vpcId,
            description: ec2Description("VPC Lattice service network: callers inside the VPC"),
            ingress: args.ports.map((port) => ({
                description: ec2Description(args.ports.length === 1 ? "inference callers in the VPC" : `inference callers in the VPC, port ${port}`),
                protocol: "tcp",
                fromPort: port,
                toPort: port,
                ...from,
            })),
        },
        opts,
    );
    new aws.vpclattice.ServiceNetworkVpcAssociation(
        `${name}-vpc`,
        { vpcIdentifier: args.vpcId, serviceNetworkIdentifier: args.serviceNetworkId, securityGroupIds: [clients.id] },
        opts,
    );
}

/** The ECS cluster the tasks run in, with Container Insights: the scaling policies and the dashboards read its task counts. */
export function ecsCluster(name: string, opts: pulumi.CustomResourceOptions): aws.ecs.Cluster {
    return new aws.ecs.Cluster(`${name}-cluster`, { settings: [{ name: "containerInsights", value: "enabled" }] }, opts);
}

/** The cluster's capacity providers, named once: a service's outputs point at them whether they exist yet or not. */
export const capacityProvidersName = (name: string) => `${name}-capacity`;

/**
 * The cluster's one list of capacity providers: Fargate and the GPU providers.
 * PutClusterCapacityProviders replaces the list whole, so one stack owns it.
 */
export function clusterCapacityProviders(
    name: string,
    clusterName: pulumi.Input<string>,
    gpuProviders: pulumi.Input<string>[],
    opts: pulumi.CustomResourceOptions,
): aws.ecs.ClusterCapacityProviders {
    return new aws.ecs.ClusterCapacityProviders(capacityProvidersName(name), { clusterName, capacityProviders: ["FARGATE", ...gpuProviders] }, opts);
}
