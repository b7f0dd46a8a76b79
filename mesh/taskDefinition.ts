/**
 * The containers of one version's task, as plain data: the model server and, on App
 * Mesh, the Envoy sidecar that joins the task to its own virtual node.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig, Version } from "./config";
import { VersionAttachment } from "./traffic/backend";

/** Envoy runs as this user; the proxy configuration exempts its own traffic from redirection. */
const ENVOY_UID = "1337";
const ENVOY_INGRESS_PORT = 15000;
const ENVOY_EGRESS_PORT = 15001;
/** ECS task metadata and EC2 instance metadata: must bypass Envoy or credentials break. */
const METADATA_IPS = ["169.254.170.2", "169.254.169.254"];

export interface TaskContainersArgs extends LogTarget {
    config: CanaryConfig;
    version: Version;
    attachment: VersionAttachment;
}

interface LogTarget {
    logGroupName: pulumi.Input<string>;
    region: pulumi.Input<string>;
}

const logsTo = (target: LogTarget, prefix: string) => ({
    logDriver: "awslogs",
    options: { "awslogs-group": target.logGroupName, "awslogs-region": target.region, "awslogs-stream-prefix": prefix },
});

/** ECS's limits on a container health check: start period, interval and retries. */
const ECS_MAX_START_PERIOD = 300;
const ECS_MAX_RETRIES = 10;

/**
 * Health-check timing that gives the model `modelLoadSeconds` to load before ECS gives
 * up on the task. ECS caps the start period at 300 s, so a longer load is covered by
 * failures that do not yet count: up to 10 retries, spaced out as far as needed. The
 * price of a long load time is slower detection of a model that dies later.
 */
export function modelHealthTiming(modelLoadSeconds: number): { startPeriod: number; interval: number; retries: number } {
    const startPeriod = Math.min(ECS_MAX_START_PERIOD, modelLoadSeconds);
    const beyond = modelLoadSeconds - startPeriod;
    if (beyond <= 90) return { startPeriod, interval: 30, retries: 3 };
    const interval = Math.max(30, Math.ceil(beyond / ECS_MAX_RETRIES));
    return { startPeriod, interval, retries: Math.min(ECS_MAX_RETRIES, Math.ceil(beyond / interval)) };
}

/** Name of the model server's port mapping, by which ECS registers it in a Lattice target group. */
export const MODEL_PORT_NAME = "model";

/** The model server: its own version's image, environment and a health check that waits for the model to load. */
function modelContainer(args: TaskContainersArgs) {
    const { config } = args;
    const v = config.versions[args.version];
    const httpHealth = config.protocol !== "grpc";
    const timing = modelHealthTiming(config.modelLoadSeconds);
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
                      interval: timing.interval,
                      timeout: 5,
                      retries: timing.retries,
                      startPeriod: timing.startPeriod,
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
