/**
 * How a task joins App Mesh: an Envoy sidecar bound to one mesh resource (a version's
 * virtual node, or the ingress gateway), the proxy configuration that sends the task's
 * traffic through it, and the one permission it needs.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ContainerDefinition, LogTarget } from "../../compute/join";
import { logsTo } from "../../compute/containers";
import { policyDocument } from "../../compute/iam";

/** Envoy runs as this user; the proxy configuration exempts its own traffic from redirection. */
export const ENVOY_UID = "1337";
const ENVOY_INGRESS_PORT = 15000;
const ENVOY_EGRESS_PORT = 15001;
/** ECS task metadata and EC2 instance metadata: must bypass Envoy or credentials break. */
const METADATA_IPS = ["169.254.170.2", "169.254.169.254"];

/** The ARN decides which config the App Mesh control plane streams to this Envoy. */
export function envoyContainer(envoyImage: string, resourceArn: pulumi.Input<string>, logs: LogTarget): ContainerDefinition {
    return {
        name: "envoy",
        image: envoyImage,
        essential: true,
        user: ENVOY_UID,
        environment: [{ name: "APPMESH_RESOURCE_ARN", value: resourceArn }],
        healthCheck: {
            command: ["CMD-SHELL", "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE"],
            interval: 5,
            timeout: 2,
            retries: 3,
            startPeriod: 10,
        },
        // Long-lived streaming connections add up; Envoy's default file limit is too low under load.
        ulimits: [{ name: "nofile", softLimit: 15000, hardLimit: 15000 }],
        logConfiguration: logsTo(logs, "envoy"),
    };
}

/** Sends the task's traffic through Envoy, except Envoy's own and metadata calls. */
export function appMeshProxyConfiguration(appPort: number) {
    return {
        type: "APPMESH",
        containerName: "envoy",
        properties: {
            AppPorts: String(appPort),
            EgressIgnoredIPs: METADATA_IPS.join(","),
            IgnoredUID: ENVOY_UID,
            ProxyEgressPort: String(ENVOY_EGRESS_PORT),
            ProxyIngressPort: String(ENVOY_INGRESS_PORT),
        },
    };
}

/** The task role: its Envoy may read its own mesh resource's config (node or gateway), and nothing else. */
export function envoyPolicy(meshResourceArn: pulumi.Input<string>): pulumi.Output<string> {
    return policyDocument([{ Effect: "Allow", Action: ["appmesh:StreamAggregatedResources"], Resource: meshResourceArn }]);
}
