/** The VPC a stack creates, or one that exists already. */
import { VPC_ID, SUBNET_ID, CIDR } from "./patterns";
import { integer, matching, oneOf, rule, section, stringList } from "../../contract/fields";

/** A VPC this stack creates, or one that already exists (`vpcId` with its subnets). */
export const networkSection = section(
    {
        cidrBlock: matching(CIDR, 'an IPv4 CIDR block from /16 to /24, e.g. "10.0.0.0/16"')
            .default("10.0.0.0/16")
            .describe("CIDR of the new VPC, or of the existing one."),
        availabilityZones: integer(2, 4).optional().describe("Zones of a new VPC, one NAT gateway each; default 2."),
        vpcId: matching(VPC_ID, 'a VPC id, e.g. "vpc-0123456789abcdef0"').optional().describe("An existing VPC to use instead of creating one."),
        privateSubnetIds: stringList(SUBNET_ID, 'subnet ids, e.g. ["subnet-0123456789abcdef0"]')
            .optional()
            .describe("The existing VPC's subnets for the tasks (required with vpcId)."),
        publicSubnetIds: stringList(SUBNET_ID, 'subnet ids, e.g. ["subnet-0123456789abcdef0"]')
            .optional()
            .describe("The existing VPC's public subnets (required with vpcId)."),
        s3GatewayEndpoint: oneOf(["create", "existing"])
            .default("create")
            .describe(
                "Weights from S3 need the VPC's S3 gateway endpoint on the private subnets' route tables: `create` declares one; `existing` uses the one an existing VPC already has (AWS refuses a second endpoint for S3 on the same route tables).",
            ),
    },
    {
        rules: [
            rule<Record<string, unknown>>(
                ["vpcId", "availabilityZones", "privateSubnetIds", "publicSubnetIds", "s3GatewayEndpoint"],
                "with vpcId: both subnet lists, no availabilityZones; without it: no subnet lists, s3GatewayEndpoint create",
                (n, report) => {
                    const existing = n.vpcId !== undefined;
                    for (const key of ["privateSubnetIds", "publicSubnetIds"]) {
                        if (existing && n[key] === undefined)
                            report(key, undefined, "a non-empty list of subnet ids of the VPC in vpcId (required with vpcId)");
                        if (!existing && n[key] !== undefined) report(key, n[key], "no subnet ids unless vpcId names an existing VPC");
                    }
                    if (existing && n.availabilityZones !== undefined)
                        report("availabilityZones", n.availabilityZones, "no availabilityZones with vpcId: the existing VPC's subnets decide");
                    if (!existing && n.s3GatewayEndpoint === "existing")
                        report("s3GatewayEndpoint", n.s3GatewayEndpoint, '"create" unless vpcId names an existing VPC: a new VPC has no endpoint yet');
                },
            ),
        ],
    },
    // The rule above guarantees the subnets whenever vpcId is set.
).transform(({ vpcId, cidrBlock, privateSubnetIds, publicSubnetIds, availabilityZones, s3GatewayEndpoint }) =>
    vpcId && privateSubnetIds && publicSubnetIds
        ? { existing: true as const, vpcId, cidrBlock, privateSubnetIds, publicSubnetIds, s3GatewayEndpoint }
        : { existing: false as const, cidrBlock, availabilityZones: availabilityZones ?? 2, s3GatewayEndpoint },
);
