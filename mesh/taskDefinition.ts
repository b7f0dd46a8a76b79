/**
 * The containers of one version's task, as plain data: the model server and, on App
 * Mesh, the Envoy sidecar that joins the task to its own virtual node.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig, Version } from "./config";
import { VersionAttachment } from "./traffic/backend";

/** Envoy runs as this user; the proxy configuration exempts its own traffic from redirection. */
export const ENVOY_UID = "1337";
export const ENVOY_INGRESS_PORT = 15000;
export const ENVOY_EGRESS_PORT = 15001;
/** ECS task metadata and EC2 instance metadata: must bypass Envoy or credentials break. */
export const METADATA_IPS = ["169.254.170.2", "169.254.169.254"];

export interface TaskContainersArgs extends LogTarget {
    config: CanaryConfig;
    version: Version;
    attachment: VersionAttachment;
}

export interface LogTarget {
    logGroupName: pulumi.Input<string>;
    region: pulumi.Input<string>;
}

const logsTo = (target: LogTarget, prefix: string) => ({
    logDriver: "awslogs",
    options: { "awslogs-group": target.logGroupName, "awslogs-region": target.region, "awslogs-stream-prefix": prefix },
});

/** Name of the model server's port mapping, by which ECS registers it in a Lattice target group. */
export const MODEL_PORT_NAME = "model";

/** The model server: its own version's image, environment and a health check that waits for the model to load. */
function modelContainer(args: TaskContainersArgs) {
    const { config } = args;
    const v = config.versions[args.version];
    const httpHealth = config.protocol !== "grpc";
    const appMesh = args.attachment.kind === "appmesh";
    return {
        name: "model",
        image: v.image,
        essential: true,
        portMappings: [{ ...(appMesh ? {} : { name: MODEL_PORT_NAME }), containerPort: config.port, protocol: "tcp" }],
        environment: Object.entries(v.environment)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value })),
        logConfiguration: logsTo(args, "model"),
        ...(httpHealth
            ? {
                  healthCheck: {
                      command: ["CMD-SHELL", `curl -fsS http://localhost:${config.port}${config.healthCheck.path} || exit 1`],
                      interval: 30,
                      timeout: 5,
                      retries: 3,
                      startPeriod: config.modelLoadSeconds,
                  },
              }
            : {}),
        // Outbound calls made before Envoy is ready would fail, since iptables already redirect them.
        ...(appMesh ? { dependsOn: [{ containerName: "envoy", condition: "HEALTHY" }] } : {}),
    };
}

/**
 * An App Mesh Envoy bound to one mesh resource (a version's virtual node, or the ingress
 * gateway): the ARN decides which config the control plane streams to it.
 */
export function envoyContainer(envoyImage: string, resourceArn: pulumi.Input<string>, logs: LogTarget) {
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

/** Container definitions, ready for `TaskDefinition.containerDefinitions`: App Mesh adds the Envoy sidecar. */
export function taskContainers(args: TaskContainersArgs): pulumi.Output<string> {
    const a = args.attachment;
    const containers =
        a.kind === "appmesh" ? [modelContainer(args), envoyContainer(args.config.envoyImage, a.virtualNodeArn, args)] : [modelContainer(args)];
    return pulumi.jsonStringify(pulumi.output(containers));
}

/** Sends the task's traffic through Envoy, except Envoy's own and metadata calls. */
export function appMeshProxyConfiguration(config: CanaryConfig) {
    return {
        type: "APPMESH",
        containerName: "envoy",
        properties: {
            AppPorts: String(config.port),
            EgressIgnoredIPs: METADATA_IPS.join(","),
            IgnoredUID: ENVOY_UID,
            ProxyEgressPort: String(ENVOY_EGRESS_PORT),
            ProxyIngressPort: String(ENVOY_INGRESS_PORT),
        },
    };
}
