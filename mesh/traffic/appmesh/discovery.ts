/**
 * Cloud Map: the private DNS namespace the versions register in (created here, or an
 * existing one), one Cloud Map service per version, and the record that makes the
 * virtual service's name resolve. Each version's virtual node discovers its tasks
 * through these services, so the node specs take their names from here.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AppMeshCanaryConfig } from "../../config/schema";
import { Version, byVersion } from "../../../contract/versions";
import { CanaryModel } from "../../canary/model";
import { discoveryName } from "./config";

/** Address the virtual service's name resolves to: never dialled, because Envoy intercepts it. */
const VIRTUAL_SERVICE_PLACEHOLDER_IP = "10.10.10.10";

export interface ServiceDiscoveryArgs {
    model: CanaryModel<AppMeshCanaryConfig>;
    /** VPC the namespace's private hosted zone serves, when the namespace is created. */
    vpcId: pulumi.Input<string>;
}

export class ServiceDiscovery extends pulumi.ComponentResource {
    /** Name of the Cloud Map namespace, as AWS reports it. */
    readonly namespaceName: pulumi.Output<string>;
    readonly namespaceId: pulumi.Output<string>;
    /** Per version, the Cloud Map service its tasks register in. */
    readonly services: Record<Version, aws.servicediscovery.Service>;

    constructor(name: string, args: ServiceDiscoveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:discovery:ServiceDiscovery", name, {}, opts);
        const { config } = args.model;

        const namespace = config.appmesh.createNamespace
            ? new aws.servicediscovery.PrivateDnsNamespace(
                  `${name}-namespace`,
                  { name: config.appmesh.namespace, vpc: args.vpcId, description: "AI inference canary" },
                  { parent: this },
              )
            : aws.servicediscovery.getDnsNamespaceOutput({ name: config.appmesh.namespace, type: "DNS_PRIVATE" }, { parent: this });
        this.namespaceName = namespace.name;
        this.namespaceId = namespace.id;

        const cloudMapService = (logical: string, serviceName: string) =>
            new aws.servicediscovery.Service(
                logical,
                {
                    name: serviceName,
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

        this.services = byVersion((version) => cloudMapService(`${name}-${version}`, discoveryName(config, version)));

        // A caller's app resolves the virtual service's name before its Envoy intercepts the
        // connection, so the name needs an A record. Envoy routes by name, not by this
        // address, so any non-loopback address works; AWS's App Mesh guide does the same.
        const frontDoor = cloudMapService(`${name}-service`, config.serviceName);
        new aws.servicediscovery.Instance(
            `${name}-service-address`,
            {
                serviceId: frontDoor.id,
                instanceId: "virtual-service",
                attributes: { AWS_INSTANCE_IPV4: VIRTUAL_SERVICE_PLACEHOLDER_IP },
            },
            { parent: this },
        );

        this.registerOutputs({ namespaceName: this.namespaceName, namespaceId: this.namespaceId });
    }
}
