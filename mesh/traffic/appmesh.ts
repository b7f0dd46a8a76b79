/**
 * The App Mesh traffic backend: mesh, one virtual node per version, a virtual router
 * with a weighted route and a pin route, and the virtual service clients call.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Version, VERSIONS } from "../config";
import { CanaryModel } from "../model";
import { AppMeshAttachment, TaskIngressSource, TrafficBackend } from "./backend";
import { AccessLogMetrics } from "./appmeshMetrics";
import { VersionMetrics } from "../observability";
import { pinRouteSpec, virtualNodeSpec, virtualRouterSpec, weightedRouteSpec } from "./appmeshSpecs";
import { ServiceDiscovery } from "../discovery";

export interface AppMeshTrafficArgs {
    model: CanaryModel;
    /** CloudWatch namespace of the per-version metrics taken from Envoy's access logs. */
    metricNamespace: string;
    /** Cloud Map namespace and per-version services the virtual nodes discover tasks in. */
    discovery: ServiceDiscovery;
}

/** Envoy redirects the inbound connection to itself inside the task, so the group sees the app port from anywhere in the VPC. */
export function appMeshTaskIngress(vpcCidr: string): TaskIngressSource {
    return { description: "inference requests from inside the VPC (Envoy redirects them to itself)", cidrBlocks: [vpcCidr] };
}

export class AppMeshTraffic extends pulumi.ComponentResource implements TrafficBackend {
    readonly kind = "appmesh";
    readonly mesh: aws.appmesh.Mesh;
    readonly nodes: Record<Version, aws.appmesh.VirtualNode>;
    readonly router: aws.appmesh.VirtualRouter;
    /** Carries the canary split; the only resource a weight change touches. */
    readonly weightedRoute: aws.appmesh.Route;
    readonly pinRoute: aws.appmesh.Route;
    readonly virtualService: aws.appmesh.VirtualService;
    readonly endpoint: pulumi.Output<string>;
    readonly attachments: Record<Version, AppMeshAttachment>;
    readonly outputs: Record<string, pulumi.Output<unknown>>;
    private readonly metricNamespace: string;

    constructor(name: string, args: AppMeshTrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:traffic:AppMeshTraffic", name, {}, opts);
        const { model, discovery } = args;
        this.metricNamespace = args.metricNamespace;
        const parent = { parent: this };

        this.mesh = new aws.appmesh.Mesh(`${name}-mesh`, { spec: { egressFilter: { type: "DROP_ALL" } } }, parent);
        const meshName = this.mesh.name;

        this.nodes = {} as Record<Version, aws.appmesh.VirtualNode>;
        for (const version of VERSIONS) {
            this.nodes[version] = new aws.appmesh.VirtualNode(
                `${name}-${version}`,
                {
                    meshName,
                    spec: virtualNodeSpec(model, version, {
                        namespaceName: discovery.namespaceName,
                        serviceName: discovery.services[version].name,
                    }),
                },
                parent,
            );
        }
        const nodeNames = { stable: this.nodes.stable.name, canary: this.nodes.canary.name };

        this.router = new aws.appmesh.VirtualRouter(`${name}-router`, { meshName, spec: virtualRouterSpec(model) }, parent);
        const routeArgs = { meshName, virtualRouterName: this.router.name };
        this.weightedRoute = new aws.appmesh.Route(
            `${name}-weighted`,
            { ...routeArgs, spec: weightedRouteSpec(model, nodeNames) },
            parent,
        );
        this.pinRoute = new aws.appmesh.Route(
            `${name}-pin`,
            { ...routeArgs, spec: pinRouteSpec(model, nodeNames.canary) },
            parent,
        );

        this.virtualService = new aws.appmesh.VirtualService(
            `${name}-service`,
            {
                meshName,
                // Clients resolve this name before Envoy intercepts the call, so it is a DNS name, not a label.
                name: model.serviceDnsName,
                spec: { provider: { virtualRouter: { virtualRouterName: this.router.name } } },
            },
            parent,
        );
        this.endpoint = this.virtualService.name;

        this.attachments = {} as Record<Version, AppMeshAttachment>;
        for (const version of VERSIONS) {
            this.attachments[version] = {
                kind: "appmesh",
                virtualNodeArn: this.nodes[version].arn,
                discoveryServiceArn: discovery.services[version].arn,
            };
        }

        this.outputs = {
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

    /** From the JSON access log each version's Envoy writes to its task log group. */
    versionMetrics(
        name: string,
        logGroupNames: Record<Version, pulumi.Input<string>>,
        opts: pulumi.ComponentResourceOptions,
    ): Record<Version, VersionMetrics> {
        return new AccessLogMetrics(name, { namespace: this.metricNamespace, logGroupNames }, opts).metrics;
    }
}
