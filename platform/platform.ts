/**
 * `Platform`: what the services of one AI application share, declared once: the VPC (new or
 * existing), its S3 gateway endpoint, the Lattice service network with the VPC's one
 * association, and a private hosted zone for the services' names. Each service is a stack of
 * the project at the repository root that names this stack in `platform` and declares only
 * its own resources; destroying one leaves this and the others as they are.
 *
 * ECS clusters stay per service: a cluster's capacity providers are one list
 * (PutClusterCapacityProviders replaces it whole), so two stacks could not each attach their
 * own GPU capacity to a shared cluster without undoing the other's. A cluster costs nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Declared, PlatformOutputs } from "../mesh/contract";
import { newVpc, s3GatewayEndpoint, serviceNetwork } from "../mesh/platform/shared";
import { PlatformConfig } from "./config";
import { ec2Description } from "../mesh/awsText";

export class Platform extends pulumi.ComponentResource {
    readonly outputs: Declared<PlatformOutputs>;

    constructor(name: string, args: { config: PlatformConfig }, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:platform:Platform", name, {}, opts);
        const { config } = args;
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const net = config.network;
        const vpc = net.existing
            ? { vpcId: pulumi.output(net.vpcId), privateSubnetIds: pulumi.output(net.privateSubnetIds), publicSubnetIds: pulumi.output(net.publicSubnetIds) }
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
                egress: [{ description: ec2Description("the services through Lattice, and what tasks reach"), protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }],
            },
            parent,
        );
        const lattice = serviceNetwork(`${name}-lattice`, { vpcId: vpc.vpcId, callers: callers.id, ports: config.latticePorts }, parent);
        const zone = new aws.route53.Zone(`${name}-zone`, { name: config.zoneName, comment: "Names of the AI inference services on this platform", vpcs: [{ vpcId: vpc.vpcId }] }, parent);

        this.outputs = {
            vpcId: vpc.vpcId,
            cidrBlock: net.cidrBlock,
            privateSubnetIds: vpc.privateSubnetIds,
            publicSubnetIds: vpc.publicSubnetIds,
            serviceNetworkId: lattice.id,
            latticePorts: config.latticePorts,
            callerSecurityGroupId: callers.id,
            // A hosted zone's resource id is its zone id.
            zoneId: zone.id,
            zoneName: zone.name,
        };
        this.registerOutputs({});
    }
}
