/**
 * Cloud Map: the private DNS namespace the versions register in, and one Cloud Map
 * service per version. Each version's virtual node discovers its tasks through these
 * services, so the node specs take their names from here, never from config strings.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Version, VERSIONS } from "./config";
import { CanaryModel } from "./model";

export interface ServiceDiscoveryArgs {
    model: CanaryModel;
}

export class ServiceDiscovery extends pulumi.ComponentResource {
    /** Name of the Cloud Map namespace, as AWS reports it. */
    readonly namespaceName: pulumi.Output<string>;
    readonly namespaceId: pulumi.Output<string>;
    /** Per version, the Cloud Map service its tasks register in. */
    readonly services: Record<Version, aws.servicediscovery.Service>;

    constructor(name: string, args: ServiceDiscoveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:discovery:ServiceDiscovery", name, {}, opts);
        const { model } = args;

        const namespace = aws.servicediscovery.getDnsNamespaceOutput(
            { name: model.config.namespace, type: "DNS_PRIVATE" },
            { parent: this },
        );
        this.namespaceName = namespace.name;
        this.namespaceId = namespace.id;

        this.services = {} as Record<Version, aws.servicediscovery.Service>;
        for (const version of VERSIONS) {
            this.services[version] = new aws.servicediscovery.Service(
                `${name}-${version}`,
                {
                    name: model.config.versions[version].discoveryName,
                    dnsConfig: {
                        namespaceId: this.namespaceId,
                        // A short TTL so callers notice replaced tasks within a health-check interval.
                        dnsRecords: [{ type: "A", ttl: 10 }],
                        routingPolicy: "MULTIVALUE",
                    },
                    // ECS reports task health to Cloud Map; without this, stopped tasks linger.
                    healthCheckCustomConfig: {},
                },
                { parent: this },
            );
        }

        this.registerOutputs({ namespaceName: this.namespaceName, namespaceId: this.namespaceId });
    }
}
