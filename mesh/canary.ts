/**
 * `InferenceCanary`: the whole canary for one AI inference service, from a validated
 * config: the network, the traffic backend that renders the canary model, one ECS
 * service per version attached to that backend, the canary's alarms and dashboard, and
 * (App Mesh) the ingress gateway.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CanaryConfig, Version, VERSIONS } from "./config";
import { canaryModel, splitWeights } from "./model";
import { Network } from "./network";
import { AppMeshTraffic } from "./traffic/appmesh";
import { TrafficBackend } from "./traffic/backend";
import { declareTraffic, taskIngressFor } from "./traffic";
import { modelService } from "./compute";
import { FargateService } from "./fargateService";
import { IngressGateway } from "./ingress";
import { CanaryObservability } from "./observability";

export interface InferenceCanaryArgs {
    /** Validated stack config, from `loadConfig`. */
    config: CanaryConfig;
}

export class InferenceCanary extends pulumi.ComponentResource {
    readonly network: Network;
    readonly traffic: TrafficBackend;
    readonly cluster: aws.ecs.Cluster;
    readonly services: Record<Version, FargateService>;
    /** Present when `ingress.enabled`: the public way in for callers outside the mesh. */
    readonly ingress?: IngressGateway;
    readonly observability: CanaryObservability;
    /** Stack outputs: the same keys for every backend, plus the backend's own. */
    readonly outputs: Record<string, pulumi.Input<unknown>>;

    constructor(name: string, args: InferenceCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:index:InferenceCanary", name, {}, opts);
        const { config } = args;
        const model = canaryModel(config);
        const parent = { parent: this };
        const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;
        const serviceId = `${pulumi.getStack()}-${config.serviceName}`;

        this.network = new Network(
            `${name}-network`,
            { config: config.network, appPort: config.port, appIngress: taskIngressFor(model, region, parent) },
            parent,
        );
        this.traffic = declareTraffic(name, { model, network: this.network, metricNamespace: `AICanary/${serviceId}` }, parent);

        this.cluster = new aws.ecs.Cluster(
            `${name}-cluster`,
            { settings: [{ name: "containerInsights", value: "enabled" }] },
            parent,
        );
        this.services = {} as Record<Version, FargateService>;
        for (const version of VERSIONS) {
            this.services[version] = modelService(
                `${name}-${version}`,
                {
                    config,
                    version,
                    attachment: this.traffic.attachments[version],
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

        // The ingress gateway is an App Mesh virtual gateway; config refuses ingress with other backends.
        if (config.ingress.enabled && this.traffic instanceof AppMeshTraffic) {
            this.ingress = new IngressGateway(
                `${name}-ingress`,
                {
                    model,
                    meshName: this.traffic.mesh.name,
                    virtualServiceName: this.traffic.virtualService.name,
                    network: this.network,
                    clusterArn: this.cluster.arn,
                    accountId,
                    region,
                },
                parent,
            );
        }

        const weights = splitWeights(config.canaryWeight);
        this.outputs = {
            trafficBackend: config.trafficBackend,
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
            // Where the rollout tooling reads each version's requests, 5xx and latency.
            versionMetrics: pulumi.output(metrics),
            ...(this.ingress ? { ingressUrl: this.ingress.url } : {}),
            ...this.traffic.outputs,
        };
        this.registerOutputs(this.outputs);
    }
}
