/**
 * The network the model services run in: a new VPC (private subnets for tasks behind
 * NAT, public subnets for a load balancer) or an existing one named in config, and the
 * security group of the model tasks, which admits only what the traffic backend needs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { NetworkConfig } from "../config/schema";
import { ec2Description } from "../awsText";
import { newVpc } from "../foundation/foundation";
import type { PlatformOutputs } from "../../contract/outputs";

/** Who may open connections to the model tasks' port: what the traffic backend says, before the network exists. */
export interface TaskIngressSource {
    description: string;
    cidrBlocks?: pulumi.Input<string>[];
    prefixListIds?: pulumi.Input<string>[];
}

export interface NetworkArgs {
    config: NetworkConfig;
    /** Port the model server listens on; the only port the tasks accept. */
    appPort: number;
    /** Who may reach that port, as the traffic backend needs. */
    appIngress: TaskIngressSource;
    /** The platform's VPC, when the stack is on one: `config` is then not read. */
    platform?: Pick<PlatformOutputs, "vpcId" | "cidrBlock" | "privateSubnetIds" | "publicSubnetIds" | "natAddresses">;
}

export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly cidrBlock: pulumi.Input<string>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    /** The NAT gateways' public addresses, where known (a VPC this stack or its platform made): what the internet sees the private subnets call from. */
    readonly natAddresses: pulumi.Output<string[]>;
    /** Security group of every model task, stable and canary alike. */
    readonly taskSecurityGroup: aws.ec2.SecurityGroup;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:network:Network", name, {}, opts);
        const { config } = args;
        this.cidrBlock = args.platform?.cidrBlock ?? config.cidrBlock;

        if (args.platform) {
            this.vpcId = pulumi.output(args.platform.vpcId);
            this.privateSubnetIds = pulumi.output(args.platform.privateSubnetIds);
            this.publicSubnetIds = pulumi.output(args.platform.publicSubnetIds);
            this.natAddresses = pulumi.output(args.platform.natAddresses);
        } else if (config.existing) {
            this.vpcId = pulumi.output(config.vpcId);
            this.privateSubnetIds = pulumi.output(config.privateSubnetIds);
            this.publicSubnetIds = pulumi.output(config.publicSubnetIds);
            this.natAddresses = pulumi.output<string[]>([]);
        } else {
            const vpc = newVpc(`${name}-vpc`, config, { parent: this });
            this.vpcId = vpc.vpcId;
            this.privateSubnetIds = vpc.privateSubnetIds;
            this.publicSubnetIds = vpc.publicSubnetIds;
            this.natAddresses = vpc.natAddresses;
        }

        this.taskSecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-tasks`,
            {
                vpcId: this.vpcId,
                // The group's description is immutable (changing it replaces the group and every
                // task using it), so it keeps its first wording; the rules say who is admitted.
                description: ec2Description("Model server tasks: the app port from inside the VPC only"),
                ingress: [{ ...args.appIngress, protocol: "tcp", fromPort: args.appPort, toPort: args.appPort }],
                egress: [
                    {
                        description: ec2Description("image pulls, CloudWatch and the traffic layer control plane"),
                        protocol: "-1",
                        fromPort: 0,
                        toPort: 0,
                        cidrBlocks: ["0.0.0.0/0"],
                    },
                ],
            },
            { parent: this },
        );

        this.registerOutputs({ vpcId: this.vpcId });
    }
}
