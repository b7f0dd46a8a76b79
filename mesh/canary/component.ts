/**
 * `InferenceCanary`: the whole canary for one AI inference service, from a validated
 * config: the network, the traffic backend that renders the canary model, one ECS
 * service per version joined to that backend, and the canary's alarms and dashboard.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CanaryConfig, Version, VERSIONS } from "../config/schema";
import { Declared, StackOutputs } from "../contract";
import { canaryModel, splitWeights } from "./model";
import { definitionOf, fingerprint } from "./version";
import { Network } from "./network";
import { CanaryObservability } from "./observability";
import { TrafficBackend, TrafficBackendKind } from "../traffic/backend";
import { modelService } from "../compute/modelService";
import { FargateService, FargateTask } from "../compute/service";
import { evaluationContainer } from "../compute/containers";

export interface InferenceCanaryArgs {
    /** Validated stack config, from `loadConfig`. */
    config: CanaryConfig;
    /** The traffic backend that renders the canary, from `trafficBackendFor(config)`. */
    traffic: TrafficBackendKind;
}

export class InferenceCanary extends pulumi.ComponentResource {
    readonly network: Network;
    readonly traffic: TrafficBackend;
    readonly cluster: aws.ecs.Cluster;
    readonly services: Record<Version, FargateService>;
    readonly observability: CanaryObservability;
    /** The evaluation the rollout runs before the canary gets traffic, when configured. */
    readonly evaluation?: FargateTask;
    /** The stack outputs, as `StackOutputs` describes them. */
    readonly outputs: Declared<StackOutputs>;
    private readonly config: CanaryConfig;

    constructor(name: string, args: InferenceCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:index:InferenceCanary", name, {}, opts);
        const { config } = args;
        this.config = config;
        const model = canaryModel(config);
        const parent = { parent: this };
        const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;
        const serviceId = `${pulumi.getStack()}-${config.serviceName}`;

        this.network = new Network(
            `${name}-network`,
            { config: config.network, appPort: config.port, appIngress: args.traffic.taskIngress(region, parent) },
            parent,
        );
        this.cluster = new aws.ecs.Cluster(`${name}-cluster`, { settings: [{ name: "containerInsights", value: "enabled" }] }, parent);
        this.traffic = args.traffic.declare(
            name,
            { model, network: this.network, clusterArn: this.cluster.arn, accountId, region, metricNamespace: `AICanary/${serviceId}` },
            parent,
        );

        // Weights from S3 travel through a gateway endpoint: no NAT, no internet, and S3's own endpoint policy.
        if (VERSIONS.some((v) => config.versions[v].weights)) {
            const routeTables = aws.ec2.getRouteTablesOutput(
                { vpcId: this.network.vpcId, filters: [{ name: "association.subnet-id", values: this.network.privateSubnetIds }] },
                parent,
            );
            new aws.ec2.VpcEndpoint(
                `${name}-s3`,
                { vpcId: this.network.vpcId, serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`, vpcEndpointType: "Gateway", routeTableIds: routeTables.ids },
                parent,
            );
        }

        this.services = {} as Record<Version, FargateService>;
        for (const version of VERSIONS) {
            this.services[version] = modelService(
                `${name}-${version}`,
                {
                    config,
                    version,
                    join: this.traffic.join(version),
                    clusterArn: this.cluster.arn,
                    subnetIds: this.network.privateSubnetIds,
                    securityGroupIds: [this.network.taskSecurityGroup.id],
                    accountId,
                    region,
                },
                parent,
            );
        }

        const metrics = this.traffic.versionMetrics(
            `${name}-metrics`,
            { stable: this.services.stable.logGroup.name, canary: this.services.canary.logGroup.name },
            parent,
        );
        this.observability = new CanaryObservability(
            `${name}-observability`,
            { dashboardName: `${serviceId}-canary`, alarms: config.alarms, metrics, region },
            parent,
        );

        if (config.evaluation) {
            const evaluation = config.evaluation;
            const client = this.traffic.client(`${name}-evaluation`, parent);
            this.evaluation = new FargateTask(
                `${name}-evaluation`,
                {
                    family: `${pulumi.getStack()}-${config.serviceName}-evaluation`,
                    cpu: evaluation.cpu,
                    memory: evaluation.memory,
                    image: evaluation.image,
                    containers: (logs) =>
                        pulumi.jsonStringify(pulumi.output([evaluationContainer(config, evaluation, client.join, client.url, logs), ...(client.join.sidecars?.(logs) ?? [])])),
                    join: client.join,
                    accountId,
                    region,
                    logRetentionDays: config.logRetentionDays,
                    tags: { "ai-canary:role": "evaluation" },
                },
                parent,
            );
        }

        const weights = splitWeights(config.canaryWeight);
        this.outputs = {
            ...this.traffic.outputs,
            endpoint: this.traffic.endpoint,
            canaryWeight: weights.canary,
            stableWeight: weights.stable,
            clusterName: this.cluster.name,
            stableServiceName: this.services.stable.service.name,
            canaryServiceName: this.services.canary.service.name,
            vpcId: this.network.vpcId,
            canaryErrorRateAlarmName: this.observability.errorRateAlarm.name,
            canaryLatencyAlarmName: this.observability.latencyAlarm.name,
            dashboardName: this.observability.dashboard.dashboardName,
            versions: {
                stable: this.deployedVersion("stable"),
                canary: this.deployedVersion("canary"),
            },
            trafficResourceUrn: this.traffic.splitResource.urn,
            ...(this.evaluation && config.evaluation
                ? {
                      evaluation: {
                          taskDefinitionArn: this.evaluation.taskDefinition.arn,
                          subnetIds: this.network.privateSubnetIds,
                          securityGroupIds: pulumi.output([this.network.taskSecurityGroup.id]),
                          timeoutSeconds: config.evaluation.timeoutSeconds,
                      },
                  }
                : {}),
            versionMetrics: metrics,
        };
        this.registerOutputs(this.outputs);
    }

    private deployedVersion(version: Version) {
        const service = this.services[version];
        return {
            fingerprint: fingerprint(definitionOf(this.config.versions[version])),
            taskDefinitionArn: service.taskDefinition.arn,
            serviceUrn: service.urn,
        };
    }
}
