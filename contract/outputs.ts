/**
 * What the program and the rollout agree on: the project's name (the namespace of its
 * config keys) and the stack outputs, as one schema the program's outputs are typed by
 * and the rollout parses what it reads with.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

/** The Pulumi project (`name` in Pulumi.yaml), which prefixes every config key: `<project>:canaryWeight`. */
export const PROJECT = "ai-inference-canary";

/** A stack's `serviceName` when its config sets none (the standalone stacks' resources are named after it). */
export const DEFAULT_SERVICE_NAME = "inference";

/** The platform's Pulumi project (`platform/Pulumi.yaml`): what many services share. */
export const PLATFORM_PROJECT = "ai-inference-platform";

const name = z.string().min(1);

/** When the rollout runs the stack's evaluation: before the canary gets traffic, after each step's bake, before the promotion. */
export const EVALUATION_MOMENTS = ["beforeTraffic", "eachStep", "beforePromotion"] as const;
export type EvaluationMoment = (typeof EVALUATION_MOMENTS)[number];

/** What the rollout needs to run a golden set: the runner it invokes, the set, the scorer the stack accepted, and how to reach each version. */
const goldenSetOutputs = z.object({
    functionName: name,
    object: name,
    scorer: z.record(z.string(), z.unknown()),
    url: name,
    path: name,
    pinHeader: name,
    pins: z.object({ stable: name, canary: name }),
    requestTimeoutSeconds: z.number().int(),
    /** The Region the runner signs its requests for (SigV4), when the service takes IAM auth. */
    signFor: name.optional(),
    detectLossPercent: z.number(),
    toleratedLossPercent: z.number(),
    sampling: z.boolean(),
    seed: z.number().int(),
    /** Pairs a second the runner sends during the steps (`evaluation.requestsPerSecond`), when the stack asks for paired evidence. */
    requestsPerSecond: z.number().optional(),
    /** `metrics.prometheus.countAbove.timeToFirstToken`, where the stack judges first tokens: the runner's are counted above the same bound. */
    firstTokenBoundSeconds: z.number().optional(),
});
export type GoldenSetOutputs = z.infer<typeof goldenSetOutputs>;

const metricRef = z.object({
    namespace: name,
    metricName: name,
    dimensions: z.record(z.string(), z.string()),
    /** The unit a latency metric is published in, when it is not milliseconds (the ALB's `TargetResponseTime` is in seconds). */
    unit: z.literal("Seconds").optional(),
});
const versionMetrics = z.object({
    requests: metricRef,
    errors: metricRef,
    /** Requests the traffic layer could not deliver to one of the version's targets (the ALB's `TargetConnectionErrorCount`, answered 502 or 503 by the load balancer): the judge counts them as 5xx. */
    connectionErrors: metricRef.optional(),
    /** Total request time. */
    latencyMs: metricRef,
    /** Time to the first response byte (time to first token, for a streaming server), where the backend measures it. */
    firstByteMs: metricRef.optional(),
    /** The model server's own metrics (`metrics.prometheus`), and GPU utilisation on GPU instances, where there are any. */
    server: z
        .object({
            timeToFirstToken: metricRef,
            interTokenLatency: metricRef,
            queueDepth: metricRef,
            generatedTokens: metricRef,
            requestTime: metricRef,
            /** Finished answers, all reasons together. */
            answers: metricRef,
            /** Answers cut off at the length limit (vLLM's `finished_reason="length"`). */
            answersCutOff: metricRef,
            /** Answers aborted before they finished (vLLM's `finished_reason="abort"`: the client went away, or the server gave up). */
            answersAborted: metricRef,
            /** Requests whose time to first token was at most `metrics.prometheus.countAbove.timeToFirstToken` (its `SampleCount`): the rest of `timeToFirstToken`'s are above it. */
            timeToFirstTokenWithin: metricRef,
            /** The same for the whole request time. */
            requestTimeWithin: metricRef,
            gpuUtilization: metricRef,
        })
        .partial()
        .optional(),
    /** The application's own counts the event gates read (`rollout.gates.events`), by metric name, with the version's dimension. */
    events: z.record(z.string(), metricRef).optional(),
});

/** What a version runs, as deployed: the rollout plans from this, never from local config alone. */
const deployedVersion = z.object({
    /** `fingerprint(definitionOf(version))` of the config the last successful update deployed. */
    fingerprint: name,
    /** The task definition revision the version's ECS service was last given. */
    taskDefinitionArn: name,
    /** The version's service component: an update of that version alone changes only resources under it (and its GPU capacity). */
    serviceUrn: name,
    /** The version's own GPU instances (their component), where they are or would be: an update of the version may change what is under it. */
    capacityUrn: name,
    /** Its task count's bounds, as deployed: the rollout sizes the canary from these. */
    scaling: z.object({
        /** The minimum in force: the canary's is raised by the rollout while it has traffic. */
        minCount: z.number().int().min(0),
        /** The minimum the config gives the version at rest. */
        restingMinCount: z.number().int().min(0),
        maxCount: z.number().int().min(1),
        /** The load one task is sized for. */
        requestsPerTaskPerMinute: z.number().positive(),
        /** The scalable target: all a capacity step may change. */
        targetUrn: name,
    }),
});

const shared = {
    /** The name clients call. */
    endpoint: name,
    /** What clients call, whole: scheme, host and port (absent from stacks deployed before 0.3.0). */
    url: name.optional(),
    /** The dashboard in the CloudWatch console (absent from stacks deployed before 0.3.0). */
    dashboardUrl: name.optional(),
    /** Where the rollout publishes the weight it verified at the traffic layer, for the dashboard (absent before 0.3.0). */
    weightMetric: metricRef.optional(),
    /** The weight deployed: what the traffic layer was told in the last successful update. */
    canaryWeight: z.number().int().min(0).max(100),
    stableWeight: z.number().int().min(0).max(100),
    clusterName: name,
    stableServiceName: name,
    canaryServiceName: name,
    vpcId: name,
    canaryErrorRateAlarmName: name,
    canaryLatencyAlarmName: name,
    /** The canary's alarms on the model server's own metrics (`alarms.timeToFirstTokenIncreasePercent`, ...): the rollout fails the canary when one fires. */
    canaryServerAlarmNames: z.array(name).optional(),
    dashboardName: name,
    versions: z.object({ stable: deployedVersion, canary: deployedVersion }),
    /** The one resource that carries the split: all a weight step may change. */
    trafficResourceUrn: name,
    /** The cluster's list of capacity providers (where it is or would be): it changes when a version moves between Fargate and GPUs. */
    capacityProvidersUrn: name,
    /** The evaluation the rollout runs (before the canary gets traffic, by `when`), when one is configured: the image's task, a golden set's runner, or both. */
    evaluation: z
        .object({
            taskDefinitionArn: name.optional(),
            subnetIds: z.array(name),
            securityGroupIds: z.array(name),
            timeoutSeconds: z.number().int(),
            when: z.array(z.enum(EVALUATION_MOMENTS)).optional(),
            goldenSet: goldenSetOutputs.optional(),
        })
        .optional(),
    /** Where the rollout reads each version's requests, 5xx and latency. */
    versionMetrics: z.object({ stable: versionMetrics, canary: versionMetrics }),
};

/**
 * What a stack on App Mesh is told by `pulumi preview`/`up` and by the rollout. AWS's notice in every
 * App Mesh guide page: "After September 30, 2026, you will no longer be able to access the AWS App
 * Mesh console or AWS App Mesh resources."
 */
export const APP_MESH_ENDED =
    "AWS ended App Mesh on 2026-09-30 and no longer serves its API or resources: this stack renders for reference only, and nothing on App Mesh deploys. " +
    "Use trafficBackend lattice (Pulumi.dev.yaml) or alb; a stack that still holds App Mesh resources: docs/traffic-backends.md#leaving-app-mesh";

const appMeshOutputs = z.object({
    ...shared,
    trafficBackend: z.literal("appmesh"),
    meshName: name,
    virtualServiceName: name,
    virtualRouterName: name,
    /** The route that carries the split. */
    weightedRouteName: name,
    pinRouteName: name,
    stableVirtualNodeName: name,
    canaryVirtualNodeName: name,
    /** Present when the ingress gateway is enabled. */
    ingressUrl: name.optional(),
});

const latticeOutputs = z.object({
    ...shared,
    trafficBackend: z.literal("lattice"),
    serviceNetworkId: name,
    latticeServiceArn: name,
    /** The listener whose default action carries the split. */
    listenerArn: name,
    pinRuleArn: name,
    stableTargetGroupArn: name,
    canaryTargetGroupArn: name,
});

const albOutputs = z.object({
    ...shared,
    trafficBackend: z.literal("alb"),
    loadBalancerArn: name,
    /** The listener whose default action carries the split (HTTPS with a certificate, else HTTP). */
    listenerArn: name,
    pinRuleArn: name,
    stableTargetGroupArn: name,
    canaryTargetGroupArn: name,
});

const stackOutputs = z.discriminatedUnion("trafficBackend", [appMeshOutputs, latticeOutputs, albOutputs]);

/** What a platform stack exports, and its services read through a `StackReference`. */
const platformOutputs = z.object({
    vpcId: name,
    /** The VPC's CIDR: what the services' tasks and load balancers admit traffic from. */
    cidrBlock: name,
    privateSubnetIds: z.array(name).min(1),
    publicSubnetIds: z.array(name).min(1),
    /** The Lattice service network the VPC is associated with: services on the platform join it. */
    serviceNetworkId: name,
    /** The listener ports the service network's security group admits. */
    latticePorts: z.array(z.number().int()),
    /** The security group whose members may call the services through Lattice: every service puts its tasks in it. */
    callerSecurityGroupId: name,
    /** The private hosted zone for the services' names, associated with the VPC. */
    zoneId: name,
    zoneName: name,
    /** The ECS cluster every service's tasks run in. */
    clusterName: name,
    clusterArn: name,
    /** The cluster's GPU capacity by instance type: a service's GPU version runs on the pool of its type. */
    gpuPools: z.record(name, z.object({ capacityProviderName: name, maxInstances: z.number().int(), volumeGiB: z.number().int() })),
    /**
     * The NAT gateways' public addresses, where the platform made the VPC (none listed for an
     * existing one, or from a platform deployed before they were exported): an internet-facing
     * load balancer sees the golden set's runner arrive from them.
     */
    natAddresses: z.array(name).default([]),
});

export type PlatformOutputs = z.output<typeof platformOutputs>;
/** The outputs a service reads of its platform. */
export const PLATFORM_OUTPUT_KEYS = Object.keys(platformOutputs.shape) as (keyof PlatformOutputs)[];
/** A platform stack's outputs as read back, or an error naming the stack and what is missing or wrong. */
export function parsePlatformOutputs(raw: unknown, stack: string): PlatformOutputs {
    return parseOutputs(platformOutputs, raw, `platform stack ${stack}`, "the platform");
}

/** Outputs parsed with their schema, or one error naming every field that is not what `program` exports. */
function parseOutputs<S extends z.ZodType>(schema: S, raw: unknown, what: string, program: string): z.output<S> {
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "(outputs)"}: ${i.message}`).join("; ");
    throw new Error(`${what}'s outputs are not what this version of ${program} exports (${problems}); run \`pulumi up\` on it with this version first`);
}

export type StackOutputs = z.output<typeof stackOutputs>;
export type AppMeshOutputs = z.output<typeof appMeshOutputs>;
export type LatticeOutputs = z.output<typeof latticeOutputs>;
export type AlbOutputs = z.output<typeof albOutputs>;
export type VersionMetrics = z.output<typeof versionMetrics>;
export type MetricRef = z.output<typeof metricRef>;
export type ServerMetricRefs = NonNullable<VersionMetrics["server"]>;

/** Milliseconds in one unit of a latency metric: what a threshold in milliseconds is divided by, and a value multiplied by. */
export const msPerUnit = (ref: { unit?: unknown }): number => (ref.unit === "Seconds" ? 1000 : 1);

/** The outputs as the program declares them: each value may still be an output of a resource. */
export type Declared<T> = { [K in keyof T]: NonNullable<T[K]> extends string | number | boolean | readonly unknown[] ? pulumi.Input<T[K]> : Declared<T[K]> };

/** A stack's outputs as read back (`pulumi stack output --json`), or an error naming what is missing or wrong. */
export function parseStackOutputs(raw: unknown, stack: string): StackOutputs {
    // A stack that was created (`pulumi stack init`, `config set`) but never deployed has no outputs at all.
    if (typeof raw === "object" && raw !== null && Object.keys(raw).length === 0) {
        throw new Error(`stack ${stack} has not been deployed yet (it has no outputs): deploy it first with \`pulumi up\`, then run this again`);
    }
    return parseOutputs(stackOutputs, raw, `stack ${stack}`, "the program");
}
