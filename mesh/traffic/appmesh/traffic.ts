/**
 * The App Mesh traffic backend: mesh, one virtual node per version, a virtual router
 * with a weighted route and a pin route, and the virtual service clients call; with
 * it, the Cloud Map names the nodes discover tasks by, per-version metrics from
 * Envoy's access logs, and (when enabled) the ingress gateway.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AppMeshCanaryConfig } from "../../config/schema";
import { Version, byVersion } from "../../../contract/versions";
import { CanaryModel } from "../../canary/model";
import { APP_MESH_ENDED, Declared, VersionMetrics } from "../../../contract/outputs";
import { BackendOutputs, TrafficArgs, TrafficBackend, TrafficBackendKind } from "../backend";
import type { VersionJoin } from "../../compute/join";
import { AccessLogMetrics } from "./accessLogMetrics";
import { ServiceDiscovery } from "./discovery";
import { IngressGateway } from "./ingress";
import { appMeshProxyConfiguration, ENVOY_UID, envoyContainer, envoyPolicy } from "./envoy";
import { egressNodeSpec, pinRouteSpec, virtualNodeSpec, virtualRouterSpec, virtualServiceDnsName, weightedRouteSpec } from "./specs";
import { ec2Description } from "../../awsText";

interface AppMeshTrafficArgs {
    model: CanaryModel<AppMeshCanaryConfig>;
    /** CloudWatch namespace of the per-version metrics taken from Envoy's access logs. */
    metricNamespace: string;
    /** Cloud Map namespace and per-version services the virtual nodes discover tasks in. */
    discovery: ServiceDiscovery;
}

class AppMeshTraffic extends pulumi.ComponentResource implements TrafficBackend {
    readonly mesh: aws.appmesh.Mesh;
    readonly nodes: Record<Version, aws.appmesh.VirtualNode>;
    readonly router: aws.appmesh.VirtualRouter;
    /** Carries the canary split; the only resource a weight change touches. */
    readonly weightedRoute: aws.appmesh.Route;
    readonly pinRoute: aws.appmesh.Route;
    readonly virtualService: aws.appmesh.VirtualService;
    readonly endpoint: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;
    readonly splitResource: pulumi.Resource;
    readonly outputs: BackendOutputs;
    private readonly model: CanaryModel<AppMeshCanaryConfig>;
    private readonly discovery: ServiceDiscovery;
    private readonly metricNamespace: string;

    constructor(name: string, args: AppMeshTrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:traffic:AppMeshTraffic", name, {}, opts);
        const { model, discovery } = args;
        this.model = model;
        this.discovery = discovery;
        this.metricNamespace = args.metricNamespace;
        const parent = { parent: this };

        this.mesh = new aws.appmesh.Mesh(`${name}-mesh`, { spec: { egressFilter: { type: "DROP_ALL" } } }, parent);
        const meshName = this.mesh.name;

        const egressServiceNames = model.config.appmesh.egressHosts.map((host, i) => {
            const node = new aws.appmesh.VirtualNode(`${name}-egress-${i + 1}`, { meshName, spec: egressNodeSpec(host) }, parent);
            const service = new aws.appmesh.VirtualService(
                `${name}-egress-${i + 1}`,
                // Named after the host: the name the model server resolves and calls.
                { meshName, name: host, spec: { provider: { virtualNode: { virtualNodeName: node.name } } } },
                parent,
            );
            return service.name;
        });

        this.nodes = byVersion(
            (version) =>
                new aws.appmesh.VirtualNode(
                    `${name}-${version}`,
                    {
                        meshName,
                        spec: virtualNodeSpec(model, version, {
                            namespaceName: discovery.namespaceName,
                            serviceName: discovery.services[version].name,
                            egressServiceNames,
                        }),
                    },
                    parent,
                ),
        );
        const nodeNames = { stable: this.nodes.stable.name, canary: this.nodes.canary.name };

        this.router = new aws.appmesh.VirtualRouter(`${name}-router`, { meshName, spec: virtualRouterSpec(model) }, parent);
        const routeArgs = { meshName, virtualRouterName: this.router.name };
        this.weightedRoute = new aws.appmesh.Route(`${name}-weighted`, { ...routeArgs, spec: weightedRouteSpec(model, nodeNames) }, parent);
        this.splitResource = this.weightedRoute;
        this.pinRoute = new aws.appmesh.Route(`${name}-pin`, { ...routeArgs, spec: pinRouteSpec(model, nodeNames.canary) }, parent);

        this.virtualService = new aws.appmesh.VirtualService(
            `${name}-service`,
            {
                meshName,
                name: virtualServiceDnsName(model),
                spec: { provider: { virtualRouter: { virtualRouterName: this.router.name } } },
            },
            parent,
        );
        this.endpoint = this.virtualService.name;
        this.url = pulumi.interpolate`${model.config.protocol === "grpc" ? "grpc" : "http"}://${this.virtualService.name}:${model.config.port}`;

        this.outputs = {
            trafficBackend: "appmesh",
            meshName,
            virtualServiceName: this.virtualService.name,
            virtualRouterName: this.router.name,
            weightedRouteName: this.weightedRoute.name,
            pinRouteName: this.pinRoute.name,
            stableVirtualNodeName: this.nodes.stable.name,
            canaryVirtualNodeName: this.nodes.canary.name,
        };
        this.registerOutputs({ meshName, endpoint: this.endpoint });
    }

    /**
     * An Envoy sidecar bound to the version's own node (its task role may read that node
     * only), the task's traffic redirected through it, and registration in the node's
     * Cloud Map service.
     */
    join(version: Version): VersionJoin {
        const nodeArn = this.nodes[version].arn;
        const { envoyImage } = this.model.config.appmesh;
        const registryArn = this.discovery.services[version].arn;
        return {
            // Outbound calls made before Envoy is ready would fail, since iptables already redirect them.
            modelDependsOn: [{ containerName: "envoy", condition: "HEALTHY" }],
            sidecars: (logs) => [envoyContainer(envoyImage, nodeArn, logs)],
            // The weights fetch runs as Envoy's ignored user: to S3, through the gateway endpoint, and nowhere else the mesh would refuse.
            bypassUser: ENVOY_UID,
            proxyConfiguration: appMeshProxyConfiguration(this.model.config.port),
            taskPolicy: envoyPolicy(nodeArn),
            service: () => ({ serviceRegistries: { registryArn } }),
        };
    }

    /**
     * A caller of the virtual service: its own virtual node, with the virtual service as
     * its one backend (the mesh lets nothing else out), and an Envoy sidecar bound to it.
     */
    client(name: string, opts: pulumi.ComponentResourceOptions): { join: VersionJoin; url: pulumi.Output<string> } {
        const { config } = this.model;
        const node = new aws.appmesh.VirtualNode(
            name,
            { meshName: this.mesh.name, spec: { backends: [{ virtualService: { virtualServiceName: this.virtualService.name } }] } },
            opts,
        );
        return {
            join: {
                modelDependsOn: [{ containerName: "envoy", condition: "HEALTHY" }],
                sidecars: (logs) => [envoyContainer(config.appmesh.envoyImage, node.arn, logs)],
                proxyConfiguration: appMeshProxyConfiguration(config.port),
                taskPolicy: envoyPolicy(node.arn),
            },
            url: this.url,
        };
    }

    /** From the JSON access log each version's Envoy writes to its task log group. */
    versionMetrics(
        name: string,
        logGroupNames: Record<Version, pulumi.Input<string>>,
        opts: pulumi.ComponentResourceOptions,
    ): Record<Version, Declared<VersionMetrics>> {
        return new AccessLogMetrics(name, { namespace: this.metricNamespace, logGroupNames }, opts).metrics;
    }
}

/**
 * App Mesh, with what it needs beside the mesh: Cloud Map, and the ingress gateway
 * when enabled (a Fargate service of its own in the canary's cluster).
 */
export function appMeshBackend(config: AppMeshCanaryConfig): TrafficBackendKind {
    return {
        // Envoy redirects the inbound connection to itself inside the task, so the group sees the app port from anywhere in the VPC.
        taskIngress: ({ vpcCidr }) => ({
            description: ec2Description("inference requests from inside the VPC (Envoy redirects them to itself)"),
            cidrBlocks: [vpcCidr],
        }),
        declare(name: string, args: TrafficArgs, opts: pulumi.ComponentResourceOptions): TrafficBackend {
            // Rendered still (the seed's shape, and its tests), but every preview and update says it deploys nowhere.
            void pulumi.log.warn(APP_MESH_ENDED);
            const model: CanaryModel<AppMeshCanaryConfig> = { ...args.model, config };
            const { network } = args;
            const discovery = new ServiceDiscovery(`${name}-discovery`, { model, vpcId: network.vpcId }, opts);
            const traffic = new AppMeshTraffic(`${name}-appmesh`, { model, discovery, metricNamespace: args.metricNamespace }, opts);
            const { ingress } = config.appmesh;
            if (!ingress.enabled) return traffic;
            const gateway = new IngressGateway(
                `${name}-ingress`,
                {
                    model,
                    ingress,
                    meshName: traffic.mesh.name,
                    virtualServiceName: traffic.virtualService.name,
                    network,
                    clusterArn: args.clusterArn,
                    accountId: args.accountId,
                    region: args.region,
                },
                opts,
            );
            return {
                endpoint: traffic.endpoint,
                url: traffic.url,
                splitResource: traffic.splitResource,
                join: (version) => traffic.join(version),
                client: (...clientArgs) => traffic.client(...clientArgs),
                versionMetrics: (...metricsArgs) => traffic.versionMetrics(...metricsArgs),
                outputs: { ...traffic.outputs, ingressUrl: gateway.url },
            };
        },
    };
}
