/**
 * The platform stack's config (`ai-inference-platform:*`): the network the services share,
 * the ports their Lattice listeners use, and the private zone for their names. Validated
 * before anything is declared, the way a service's config is.
 */
import { z } from "zod";
import { dnsName, integerList, refuseUnknownKeys } from "../mesh/config/fields";
import { ConfigError, problemsOf } from "../mesh/config/errors";
import { asWritten, networkSection } from "../mesh/config/schema";

const platformSchema = z
    .looseObject({
        network: networkSection.describe("The VPC the services share: one this stack creates, or an existing one (vpcId with its subnets)."),
        zoneName: dnsName().default("ai.internal").describe("The private hosted zone for the services' names, e.g. `embedder.ai.internal`."),
        latticePorts: integerList(1, 65535)
            .default([80, 443])
            .describe("The ports services on the platform listen on through Lattice (80 for HTTP, 443 for HTTPS, HTTP/2 and gRPC): the service network's security group admits callers in the VPC on these alone."),
    })
    .check(refuseUnknownKeys(["network", "zoneName", "latticePorts"]));

export type PlatformConfig = z.output<typeof platformSchema>;

/** Reads and validates a platform stack's config, naming every problem at once. */
export function loadPlatformConfig(raw: Record<string, unknown>): PlatformConfig {
    const result = platformSchema.safeParse(asWritten(raw), { reportInput: true });
    if (!result.success) throw new ConfigError(problemsOf(result.error.issues));
    return result.data;
}
