/**
 * The platform stack's config (`ai-inference-platform:*`): the network the services share,
 * their Lattice service network and the ports their listeners use, the private zone for their names, and the GPU
 * capacity of their cluster. Validated
 * before anything is declared, the way a service's config is.
 */
import { networkSection } from "../mesh/config/network";
import { gpuVolumeGiB } from "../mesh/config/versionSection";
import { z } from "zod";
import { boolean, dnsName, integer, integerList, matching, refuseUnknownKeys, rule, section, sectionMap } from "../contract/fields";
import { ConfigError, problemsOf } from "../mesh/config/errors";
import { asWritten } from "../mesh/config/schema";
import { GPU_INSTANCE_TYPES } from "../mesh/compute/gpuInstances";

/**
 * One pool of GPU instances of one type in the platform's cluster, which every service's GPU
 * versions of that type share: an Auto Scaling group that starts empty and that ECS grows
 * and shrinks (managed scaling) for the tasks placed on it.
 */
const gpuPool = section({
    maxInstances: integer(1, 100).describe("Instances at most, for every service's tasks on this pool together: what a GPU quota allows."),
    volumeGiB: gpuVolumeGiB,
});

/** A Lattice service network's id, or its ARN (needed for one shared from another account through AWS RAM). */
const SERVICE_NETWORK = /^((sn-[0-9a-z]{17})|(arn:[a-z0-9-]+:vpc-lattice:[a-zA-Z0-9-]+:\d{12}:servicenetwork\/sn-[0-9a-z]{17}))$/;

const serviceNetworkSection = section(
    {
        existingId: matching(SERVICE_NETWORK, "a service network id (sn- and 17 characters) or its ARN")
            .optional()
            .describe(
                "A service network that exists already (a network team's, or one shared with this account through AWS RAM): the services join it instead of a new one.",
            ),
        associateVpc: boolean()
            .default(true)
            .describe(
                "Associate the VPC with it, through a security group that admits the platform's tasks alone. `false` when the VPC is associated with it already: who may call is then what that association's security groups admit.",
            ),
    },
    {
        rules: [
            rule<{ existingId?: string; associateVpc: boolean }>(
                ["existingId", "associateVpc"],
                "associateVpc may be false only with existingId",
                (v, report) => {
                    if (!v.associateVpc && !v.existingId)
                        report(
                            "associateVpc",
                            v.associateVpc,
                            "true unless existingId is set: the platform associates the service network it creates with its VPC",
                        );
                },
            ),
        ],
    },
);

export const platformSchema = z
    .looseObject({
        network: networkSection.describe("The VPC the services share: one this stack creates, or an existing one (vpcId with its subnets)."),
        zoneName: dnsName().default("ai.internal").describe("The private hosted zone for the services' names, e.g. `embedder.ai.internal`."),
        latticePorts: integerList(1, 65535)
            .default([80, 443])
            .describe(
                "The ports services on the platform listen on through Lattice (80 for HTTP, 443 for HTTPS, HTTP/2 and gRPC): the service network's security group admits the platform's tasks on these alone.",
            ),
        serviceNetwork: serviceNetworkSection.describe("The Lattice service network the services join: a new one (the default), or one that exists already."),
        gpuPools: sectionMap(GPU_INSTANCE_TYPES, "a GPU instance type (a g5, g6, g6e, p4d or p5 size)", gpuPool, "instance type").describe(
            'The cluster\'s GPU capacity, by instance type, e.g. `{"g6.xlarge": {"maxInstances": 2}}`: a service\'s GPU version runs on the pool of its `gpu.instanceType`.',
        ),
    })
    .check(refuseUnknownKeys(["network", "zoneName", "latticePorts", "serviceNetwork", "gpuPools"]));

export type PlatformConfig = z.output<typeof platformSchema>;

/** Reads and validates a platform stack's config, naming every problem at once. */
export function loadPlatformConfig(raw: Record<string, unknown>): PlatformConfig {
    const result = platformSchema.safeParse(asWritten(raw), { reportInput: true });
    if (!result.success) throw new ConfigError(problemsOf(result.error.issues));
    return result.data;
}
