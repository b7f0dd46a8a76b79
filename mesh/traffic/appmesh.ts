/**
 * The App Mesh traffic backend: mesh, one virtual node per version, a virtual router
 * with a weighted route and a pin route, and the virtual service clients call.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Version, VERSIONS } from "../config";
import { CanaryModel } from "../model";
import { AppMeshAttachment, TrafficBackend } from "./backend";
import { pinRouteSpec, virtualNodeSpec, virtualRouterSpec, weightedRouteSpec } from "./appmeshSpecs";
import { ServiceDiscovery } from "../discovery";

export interface AppMeshTrafficArgs {
    model: CanaryModel;
    /** Cloud Map namespace and per-version services the virtual nodes discover tasks in. */
    discovery: ServiceDiscovery;
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

    constructor(name: string, args: AppMeshTrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:traffic:AppMeshTraffic", name, {}, opts);
        const { model, discovery } = args;
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

        this.registerOutputs({ meshName, endpoint: this.endpoint });
    }
}
