/**
 * Container definitions, as plain data: the model server of each version, and the
 * log configuration every container shares. A traffic backend may add its own
 * containers beside the model server (`VersionJoin.sidecars`).
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig, EvaluationConfig, WeightsConfig } from "../config/schema";
import { Version } from "../../contract/versions";
import type { ContainerDefinition, LogTarget, VersionJoin } from "./join";

export const logsTo = (target: LogTarget, prefix: string) => ({
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

/**
 * How long a version's model may take to load: the stack's `modelLoadSeconds`, or by
 * default 300 s on Fargate and 900 s on GPUs, where a new instance, a large image and tens
 * of GB of weights come first. Per version, so a canary moving to GPUs leaves stable as it is.
 */
export function modelLoadSecondsOf(config: CanaryConfig, version: Version): number {
    return config.modelLoadSeconds ?? (config.versions[version].compute === "gpu" ? 900 : 300);
}

/**
 * The container health check's command: the configured one (exec form), or `curl` against
 * the health path; none with `healthCheck.command: none`, or for a gRPC server, which answers
 * the gRPC health protocol curl cannot speak.
 */
function healthCommand(config: CanaryConfig): string[] | undefined {
    const { command } = config.healthCheck;
    if (command === "none") return undefined;
    if (command) return ["CMD", ...command];
    return config.protocol === "grpc" ? undefined : ["CMD-SHELL", `curl -fsS http://localhost:${config.port}${config.healthCheck.path} || exit 1`];
}

/** Where the model server finds weights fetched from S3 (`MODEL_DIR`), read-only. */
export const WEIGHTS_DIR = "/models";
const WEIGHTS_VOLUME = "weights";
/** The AWS CLI that fetches weights, version pinned. */
const AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.27.26";

/**
 * Fetches a version's weights from S3 into the task's storage, and exits: the model
 * server starts only once it has succeeded. It runs as the traffic layer's bypass user
 * where there is one, so a proxy that lets nothing else out does not stand in its way.
 *
 * The region is set here, not left to the platform: on EC2 only ECS agents from 1.104.0
 * inject `AWS_REGION`, and with `ECS_AWSVPC_BLOCK_IMDS` the CLI cannot ask the instance,
 * so an older agent would send the sync to S3's global endpoint through the NAT gateway
 * instead of the regional one behind the VPC's gateway endpoint. ECS never overrides what
 * a task definition sets.
 */
export function weightsContainer(weights: WeightsConfig, join: VersionJoin, logs: LogTarget): ContainerDefinition {
    return {
        name: WEIGHTS_VOLUME,
        image: AWS_CLI_IMAGE,
        essential: false,
        ...(join.bypassUser ? { user: join.bypassUser } : {}),
        command: ["s3", "sync", weights.source, WEIGHTS_DIR, "--only-show-errors"],
        environment: [
            { name: "AWS_REGION", value: logs.region },
            { name: "AWS_DEFAULT_REGION", value: logs.region },
        ],
        mountPoints: [{ sourceVolume: WEIGHTS_VOLUME, containerPath: WEIGHTS_DIR }],
        logConfiguration: logsTo(logs, "weights"),
    };
}

/** The task's storage and volume for weights from S3, when the version has them. */
export const weightsStorage = (weights?: WeightsConfig) => (weights ? { sizeInGib: weights.storageGiB, volume: WEIGHTS_VOLUME } : undefined);

/** The model server: its own version's image, environment (with `added`, the program's own variables) and a health check that waits for the model to load. */
export function modelContainer(
    config: CanaryConfig,
    version: Version,
    join: VersionJoin,
    logs: LogTarget,
    added: Record<string, pulumi.Input<string>> = {},
): ContainerDefinition {
    const v = config.versions[version];
    const timing = modelHealthTiming(modelLoadSecondsOf(config, version));
    const environment: Record<string, pulumi.Input<string>> = { ...(v.weights ? { ...v.environment, MODEL_DIR: WEIGHTS_DIR } : v.environment), ...added };
    const dependsOn = [...(v.weights ? [{ containerName: WEIGHTS_VOLUME, condition: "SUCCESS" }] : []), ...(join.modelDependsOn ?? [])];
    return {
        name: "model",
        image: v.image,
        essential: true,
        ...(v.command ? { command: v.command } : {}),
        portMappings: [{ ...(join.modelPortName ? { name: join.modelPortName } : {}), containerPort: config.port, protocol: "tcp" }],
        environment: Object.entries(environment)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value })),
        // By reference: ECS reads each when a task starts; the task definition never holds the value.
        ...(Object.keys(v.secrets).length > 0
            ? {
                  secrets: Object.entries(v.secrets)
                      .sort(([a], [b]) => a.localeCompare(b))
                      .map(([name, valueFrom]) => ({ name, valueFrom })),
              }
            : {}),
        logConfiguration: logsTo(logs, "model"),
        ...(healthCommand(config)
            ? {
                  healthCheck: {
                      command: healthCommand(config),
                      interval: timing.interval,
                      timeout: 5,
                      retries: timing.retries,
                      startPeriod: timing.startPeriod,
                  },
              }
            : {}),
        ...(v.weights ? { mountPoints: [{ sourceVolume: WEIGHTS_VOLUME, containerPath: WEIGHTS_DIR, readOnly: true }] } : {}),
        ...(v.compute === "gpu" && v.gpu ? { resourceRequirements: [{ type: "GPU", value: String(v.gpu.gpusPerTask) }] } : {}),
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
    };
}

/**
 * The evaluation: the user's image, told where the service is and how to reach the canary
 * at any weight (send `PIN_HEADER: PIN_VALUE`), started after whatever the traffic layer's
 * join needs first.
 */
export function evaluationContainer(
    config: CanaryConfig,
    evaluation: EvaluationConfig,
    join: VersionJoin,
    url: pulumi.Input<string>,
    logs: LogTarget,
): ContainerDefinition {
    const environment: Record<string, pulumi.Input<string>> = {
        ...evaluation.environment,
        SERVICE_URL: url,
        PIN_HEADER: config.pinHeader,
        PIN_VALUE: config.pinValue,
    };
    return {
        name: "evaluation",
        image: evaluation.image,
        essential: true,
        ...(evaluation.command ? { command: evaluation.command } : {}),
        environment: Object.entries(environment)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value })),
        logConfiguration: logsTo(logs, "evaluation"),
        ...(join.modelDependsOn ? { dependsOn: join.modelDependsOn } : {}),
    };
}
