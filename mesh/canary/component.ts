/**
 * `InferenceCanary`: the whole canary for one AI inference service, from a validated
 * config: the network, the traffic backend that renders the canary model, one ECS
 * service per version joined to that backend (on Fargate or on its own GPU instances,
 * its task count owned by Service Auto Scaling), and the canary's alarms and dashboard.
 */
import { calleeVariable } from "../config/shared";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CanaryConfig, EvaluationConfig, minCount } from "../config/schema";
import { Version, VERSIONS, byVersion } from "../../contract/versions";
import { Declared, StackOutputs } from "../../contract/outputs";
import { canaryModel, splitWeights } from "./model";
import { definitionOf, fingerprint } from "../../contract/identity";
import { Network } from "./network";
import { CanaryObservability } from "./observability";
import { TrafficBackend, TrafficBackendKind } from "../traffic/backend";
import { modelService } from "../compute/modelService";
import { GpuCapacity } from "../compute/gpuCapacity";
import { instancesForDeployment } from "../compute/gpuInstances";
import { taskScaling } from "../compute/scaling";
import { eventMetricRefs, serverMetricRefs } from "../compute/serverMetrics";
import { EcsService, EcsTask, Placement } from "../compute/service";
import { evaluationContainer } from "../compute/containers";
import { GoldenSetRunner, runnerRoleFor } from "../evaluation/runner";
import { capacityProvidersName, clusterCapacityProviders, ecsCluster, s3GatewayEndpoint } from "../foundation/foundation";
import type { PlatformOutputs } from "../../contract/outputs";
import { UNPINNED_SLOW_SECONDS } from "../../contract/schedule";

/** A version's GPU capacity: named once, as the outputs point at it whether it exists yet or not. */
const gpuCapacityName = (name: string, version: Version) => `${name}-${version}-gpu`;

export interface InferenceCanaryArgs {
    /** Validated stack config, from `loadConfig`. */
    config: CanaryConfig;
    /** The traffic backend that renders the canary, from `trafficBackendFor(config)`. */
    traffic: TrafficBackendKind;
    /** The platform the stack is on (`platformOf(config.platform)`): its VPC and service network are used, not declared. */
    platform?: PlatformOutputs;
}

export class InferenceCanary extends pulumi.ComponentResource {
    readonly network: Network;
    readonly traffic: TrafficBackend;
    /** The stack's own cluster, or on a platform the platform's. */
    readonly cluster: { name: pulumi.Output<string>; arn: pulumi.Output<string> };
    readonly services: Record<Version, EcsService>;
    /** Each GPU version's own instances (on a platform, its pool's are the platform's). */
    readonly gpuCapacity: Partial<Record<Version, GpuCapacity>> = {};
    readonly scalingTargets: Record<Version, aws.appautoscaling.Target>;
    readonly observability: CanaryObservability;
    /** The evaluation the rollout runs before the canary gets traffic, when configured. */
    readonly evaluation?: EcsTask;
    /** The golden set's runner the rollout invokes, when `evaluation.goldenSet` is set. */
    readonly goldenSetRunner?: GoldenSetRunner;
    /** The stack outputs, as `StackOutputs` describes them. */
    readonly outputs: Declared<StackOutputs>;
    private readonly config: CanaryConfig;
    private readonly name: string;

    constructor(name: string, args: InferenceCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:index:InferenceCanary", name, {}, opts);
        const { config } = args;
        this.config = config;
        this.name = name;
        const model = canaryModel(config);
        const parent = { parent: this };
        const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;
        const serviceId = `${pulumi.getStack()}-${config.serviceName}`;

        this.network = new Network(
            `${name}-network`,
            {
                config: config.network,
                appPort: config.port,
                appIngress: args.traffic.taskIngress({ region, vpcCidr: args.platform?.cidrBlock ?? config.network.cidrBlock }, parent),
                platform: args.platform,
            },
            parent,
        );
        this.cluster = args.platform
            ? { name: pulumi.output(args.platform.clusterName), arn: pulumi.output(args.platform.clusterArn) }
            : ecsCluster(name, parent);
        const metricNamespace = `AICanary/${serviceId}`;
        // The golden set's runner's role comes first: a service with IAM auth names it in its auth policy.
        const runnerRole = config.evaluation?.goldenSet ? runnerRoleFor(`${name}-golden`, accountId, parent) : undefined;
        this.traffic = args.traffic.declare(
            name,
            {
                model,
                network: this.network,
                clusterArn: this.cluster.arn,
                accountId,
                region,
                metricNamespace,
                platform: args.platform,
                ...(runnerRole ? { invokers: [runnerRole.arn] } : {}),
            },
            parent,
        );

        // On a platform, the platform's endpoint serves the VPC.
        if (VERSIONS.some((v) => config.versions[v].weights) && config.network.s3GatewayEndpoint === "create" && !args.platform) {
            const { vpcId, privateSubnetIds } = this.network;
            s3GatewayEndpoint(`${name}-s3`, { vpcId, privateSubnetIds, existingVpc: config.network.existing, region }, parent);
        }

        const placements = args.platform ? poolPlacements(config, args.platform) : this.gpuPlacements(name, metricNamespace);
        // Callees by their stable names on the platform: known now, whether or not they are deployed yet.
        const platform = args.platform;
        const callees = platform ? Object.fromEntries(config.calls.map((callee) => [calleeVariable(callee), `http://${callee}.${platform.zoneName}`])) : {};
        this.services = byVersion((version) =>
            modelService(
                `${name}-${version}`,
                {
                    config,
                    version,
                    join: this.traffic.join(version),
                    clusterArn: this.cluster.arn,
                    subnetIds: this.network.privateSubnetIds,
                    securityGroupIds: this.taskSecurityGroupIds(args.platform),
                    accountId,
                    region,
                    placement: placements[version],
                    metricNamespace,
                    callees,
                },
                parent,
            ),
        );

        const trafficMetrics = this.traffic.versionMetrics(
            `${name}-metrics`,
            { stable: this.services.stable.logGroup.name, canary: this.services.canary.logGroup.name },
            parent,
        );
        const withServer = (version: Version) => {
            const server = serverMetricRefs(config, metricNamespace, version, { gpuHosts: !args.platform });
            const events = eventMetricRefs(config, metricNamespace, version);
            return { ...trafficMetrics[version], ...(server ? { server } : {}), ...(events ? { events } : {}) };
        };
        const metrics = { stable: withServer("stable"), canary: withServer("canary") };
        // Under each version's service: a version's update, and a capacity step, change nothing else.
        this.scalingTargets = byVersion((version) => {
            const { scaling } = config.versions[version];
            return taskScaling(
                `${name}-${version}-scaling`,
                {
                    clusterName: this.cluster.name,
                    serviceName: this.services[version].service.name,
                    minCount: minCount(config, version),
                    maxCount: scaling.maxCount,
                    requestsPerTaskPerMinute: scaling.requestsPerTaskPerMinute,
                    requests: metrics[version].requests,
                },
                { parent: this.services[version] },
            );
        });

        // Published by the rollout after each weight it verified: the dashboard shows the split, not only what it did.
        const weightMetric = { namespace: metricNamespace, metricName: "CanaryWeight", dimensions: {} };
        this.observability = new CanaryObservability(
            `${name}-observability`,
            {
                dashboardName: `${serviceId}-canary`,
                service: `${config.serviceName} (stack ${pulumi.getStack()})`,
                alarms: config.alarms,
                metrics,
                region,
                dashboard: {
                    weightMetric,
                    slowMs: (config.rollout.slowRequestSeconds ?? UNPINNED_SLOW_SECONDS) * 1000,
                    eventGates: Object.entries(config.rollout.gates.events ?? {}).map(([name, g]) => ({ name, metric: g.metric, trials: g.trials })),
                    services: {
                        stable: { clusterName: this.cluster.name, serviceName: this.services.stable.service.name },
                        canary: { clusterName: this.cluster.name, serviceName: this.services.canary.service.name },
                    },
                },
            },
            parent,
        );

        if (config.evaluation?.image) {
            const evaluation = { ...config.evaluation, image: config.evaluation.image };
            const client = this.traffic.client(`${name}-evaluation`, parent);
            this.evaluation = new EcsTask(
                `${name}-evaluation`,
                {
                    family: `${pulumi.getStack()}-${config.serviceName}-evaluation`,
                    cpu: evaluation.cpu,
                    memory: evaluation.memory,
                    image: evaluation.image,
                    containers: (logs) =>
                        pulumi.jsonStringify(
                            pulumi.output([evaluationContainer(config, evaluation, client.join, client.url, logs), ...(client.join.sidecars?.(logs) ?? [])]),
                        ),
                    join: client.join,
                    accountId,
                    region,
                    logRetentionDays: config.logRetentionDays,
                    tags: { "ai-canary:role": "evaluation" },
                },
                parent,
            );
        }

        if (runnerRole) {
            const signed = config.trafficBackend === "lattice" && config.lattice.authType === "AWS_IAM";
            this.goldenSetRunner = new GoldenSetRunner(
                `${name}-golden`,
                {
                    role: runnerRole,
                    subnetIds: this.network.privateSubnetIds,
                    securityGroupIds: this.taskSecurityGroupIds(args.platform),
                    accountId,
                    region,
                    logRetentionDays: config.logRetentionDays,
                    ...(signed ? { invokes: (this.traffic.outputs as { latticeServiceArn: pulumi.Input<string> }).latticeServiceArn } : {}),
                },
                parent,
            );
        }

        const weights = splitWeights(config.canaryWeight);
        this.outputs = {
            ...this.traffic.outputs,
            endpoint: this.traffic.endpoint,
            url: this.traffic.url,
            weightMetric,
            dashboardUrl: pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.observability.dashboard.dashboardName}`,
            canaryWeight: weights.canary,
            stableWeight: weights.stable,
            clusterName: this.cluster.name,
            stableServiceName: this.services.stable.service.name,
            canaryServiceName: this.services.canary.service.name,
            vpcId: this.network.vpcId,
            canaryErrorRateAlarmName: this.observability.errorRateAlarm.name,
            canaryLatencyAlarmName: this.observability.latencyAlarm.name,
            ...(this.observability.serverAlarms.length > 0 ? { canaryServerAlarmNames: pulumi.all(this.observability.serverAlarms.map((a) => a.name)) } : {}),
            dashboardName: this.observability.dashboard.dashboardName,
            versions: {
                stable: this.deployedVersion("stable"),
                canary: this.deployedVersion("canary"),
            },
            trafficResourceUrn: this.traffic.splitResource.urn,
            capacityProvidersUrn: pulumi.createUrn(capacityProvidersName(name), "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", this),
            ...(config.evaluation
                ? {
                      evaluation: {
                          ...(this.evaluation ? { taskDefinitionArn: this.evaluation.taskDefinition.arn } : {}),
                          subnetIds: this.network.privateSubnetIds,
                          securityGroupIds: pulumi.output(this.taskSecurityGroupIds(args.platform)),
                          timeoutSeconds: config.evaluation.timeoutSeconds,
                          when: config.evaluation.when,
                          ...(this.goldenSetRunner ? { goldenSet: this.goldenSetOutputs(this.goldenSetRunner, config.evaluation, region) } : {}),
                      },
                  }
                : {}),
            versionMetrics: metrics,
        };
        this.registerOutputs(this.outputs);
    }

    /** What the rollout reads to run the golden set: the runner, the set, the scorer as the stack accepted it, and each version's pin. */
    private goldenSetOutputs(runner: GoldenSetRunner, evaluation: EvaluationConfig, region: pulumi.Input<string>) {
        const c = this.config;
        return {
            // With IAM auth the runner signs its requests for the service's Region.
            ...(c.trafficBackend === "lattice" && c.lattice.authType === "AWS_IAM" ? { signFor: region } : {}),
            functionName: runner.function.name,
            object: evaluation.goldenSet!,
            scorer: evaluation.scorer,
            url: this.traffic.url,
            path: evaluation.path,
            pinHeader: c.pinHeader,
            pins: { stable: c.stablePinValue, canary: c.pinValue },
            requestTimeoutSeconds: c.requestTimeoutSeconds,
            detectLossPercent: evaluation.detectLossPercent,
            toleratedLossPercent: evaluation.toleratedLossPercent,
            sampling: evaluation.sampling,
            seed: evaluation.seed,
            ...(evaluation.requestsPerSecond !== undefined ? { requestsPerSecond: evaluation.requestsPerSecond } : {}),
            ...(c.metrics.prometheus?.countAbove.timeToFirstToken !== undefined
                ? { firstTokenBoundSeconds: c.metrics.prometheus.countAbove.timeToFirstToken }
                : {}),
        };
    }

    /**
     * Where each version's tasks run: Fargate, or the version's own GPU instances, whose
     * capacity providers the cluster must know before a service may use them.
     */
    private gpuPlacements(name: string, metricNamespace: string): Record<Version, Placement> {
        const parent = { parent: this };
        for (const version of VERSIONS) {
            const v = this.config.versions[version];
            if (v.compute !== "gpu" || !v.gpu) continue;
            this.gpuCapacity[version] = new GpuCapacity(
                gpuCapacityName(name, version),
                {
                    instanceType: v.gpu.instanceType,
                    volumeGiB: v.gpu.volumeGiB,
                    maxInstances: instancesForDeployment(v.gpu.instanceType, { cpu: v.cpu, memory: v.memory, gpus: v.gpu.gpusPerTask }, v.scaling.maxCount),
                    clusterName: this.cluster.name,
                    clusterArn: this.cluster.arn,
                    vpcId: this.network.vpcId,
                    subnetIds: this.network.privateSubnetIds,
                    metrics: { namespace: metricNamespace, dimension: { name: "Version", value: version } },
                    tags: { "ai-canary:version": version },
                },
                parent,
            );
        }
        const providers = VERSIONS.flatMap((version) => this.gpuCapacity[version]?.capacityProvider ?? []);
        const association =
            providers.length > 0
                ? clusterCapacityProviders(
                      name,
                      this.cluster.name,
                      providers.map((p) => p.name),
                      parent,
                  )
                : undefined;
        const placement = (version: Version): Placement => {
            const gpu = this.gpuCapacity[version];
            return gpu && association ? { kind: "gpu", capacityProviderName: gpu.capacityProvider.name, dependsOn: [association] } : { kind: "fargate" };
        };
        return { stable: placement("stable"), canary: placement("canary") };
    }

    /** The tasks' own group, and on a platform its callers' group: a service's tasks may call the others. */
    private taskSecurityGroupIds(platform?: PlatformOutputs): pulumi.Input<string>[] {
        return [this.network.taskSecurityGroup.id, ...(platform ? [platform.callerSecurityGroupId] : [])];
    }

    private deployedVersion(version: Version) {
        const service = this.services[version];
        const { scaling } = this.config.versions[version];
        return {
            fingerprint: fingerprint(definitionOf(this.config.versions[version])),
            taskDefinitionArn: service.taskDefinition.arn,
            serviceUrn: service.urn,
            // Where its GPU capacity is, or would be: a version update that moves it to GPUs creates it there.
            capacityUrn: pulumi.createUrn(gpuCapacityName(this.name, version), "ai-canary:compute:GpuCapacity", this),
            scaling: {
                minCount: minCount(this.config, version),
                restingMinCount: scaling.minCount,
                maxCount: scaling.maxCount,
                requestsPerTaskPerMinute: scaling.requestsPerTaskPerMinute,
                targetUrn: this.scalingTargets[version].urn,
            },
        };
    }
}

/** On a platform, a GPU version runs on the platform's pool of its instance type (`joinProblems` made sure there is one). */
function poolPlacements(config: CanaryConfig, platform: PlatformOutputs): Record<Version, Placement> {
    const placement = (version: Version): Placement => {
        const gpu = config.versions[version].compute === "gpu" ? config.versions[version].gpu : undefined;
        const pool = gpu && platform.gpuPools[gpu.instanceType];
        return pool ? { kind: "gpu", capacityProviderName: pool.capacityProviderName, dependsOn: [] } : { kind: "fargate" };
    };
    return { stable: placement("stable"), canary: placement("canary") };
}
