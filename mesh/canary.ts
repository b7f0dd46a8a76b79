/**
 * `InferenceCanary`: the whole canary for one AI inference service, from a validated
 * config: the network, service discovery, the traffic backend that renders the canary
 * model, and one ECS service per version attached to that backend.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { CanaryConfig, Version, VERSIONS } from "./config";
import { canaryModel, splitWeights } from "./model";
import { Network } from "./network";
import { ServiceDiscovery } from "./discovery";
import { AppMeshTraffic } from "./traffic/appmesh";
import { modelService } from "./compute";
import { FargateService } from "./fargateService";
import { IngressGateway } from "./ingress";
import { CanaryObservability } from "./observability";
import { AccessLogMetrics } from "./traffic/appmeshMetrics";

export interface InferenceCanaryArgs {
    /** Validated stack config, from `loadConfig`. */
    config: CanaryConfig;
}

export class InferenceCanary extends pulumi.ComponentResource {
    readonly network: Network;
    readonly discovery: ServiceDiscovery;
    readonly traffic: AppMeshTraffic;
    readonly cluster: aws.ecs.Cluster;
    readonly services: Record<Version, FargateService>;
    /** Present when `ingress.enabled`: the public way in for callers outside the mesh. */
    readonly ingress?: IngressGateway;
    readonly observability: CanaryObservability;
    /** Percent of unpinned requests each version receives. */
    readonly weights: Record<Version, number>;

    constructor(name: string, args: InferenceCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:index:InferenceCanary", name, {}, opts);
        const { config } = args;
        const model = canaryModel(config);
        const parent = { parent: this };
        this.weights = splitWeights(config.canaryWeight);

        this.network = new Network(`${name}-network`, { config: config.network, appPort: config.port }, parent);
        this.discovery = new ServiceDiscovery(`${name}-discovery`, { model, vpcId: this.network.vpcId }, parent);
        this.traffic = new AppMeshTraffic(`${name}-appmesh`, { model, discovery: this.discovery }, parent);

        this.cluster = new aws.ecs.Cluster(
            `${name}-cluster`,
            { settings: [{ name: "containerInsights", value: "enabled" }] },
            parent,
        );
        const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;

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

        const serviceId = `${pulumi.getStack()}-${config.serviceName}`;
        const metrics = new AccessLogMetrics(
            `${name}-metrics`,
            {
                namespace: `AICanary/${serviceId}`,
                logGroupNames: { stable: this.services.stable.logGroup.name, canary: this.services.canary.logGroup.name },
            },
            parent,
        ).metrics;
        this.observability = new CanaryObservability(
            `${name}-observability`,
            { dashboardName: `${serviceId}-canary`, alarms: config.alarms, metrics, region },
            parent,
        );

        if (config.ingress.enabled) {
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

        this.registerOutputs({ endpoint: this.traffic.endpoint });
    }
}
