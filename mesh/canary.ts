/**
 * `InferenceCanary`: the whole canary for one AI inference service, from a validated
 * config. It builds the plain canary model, then the traffic backend that renders it.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig } from "./config";
import { canaryModel, splitWeights } from "./model";
import { ServiceDiscovery } from "./discovery";
import { AppMeshTraffic } from "./traffic/appmesh";

export interface InferenceCanaryArgs {
    /** Validated stack config, from `loadConfig`. */
    config: CanaryConfig;
}

export class InferenceCanary extends pulumi.ComponentResource {
    readonly discovery: ServiceDiscovery;
    readonly traffic: AppMeshTraffic;
    /** Percent of unpinned requests each version receives. */
    readonly weights: { stable: number; canary: number };

    constructor(name: string, args: InferenceCanaryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:index:InferenceCanary", name, {}, opts);
        const model = canaryModel(args.config);
        this.weights = splitWeights(args.config.canaryWeight);

        this.discovery = new ServiceDiscovery(`${name}-discovery`, { model }, { parent: this });
        this.traffic = new AppMeshTraffic(`${name}-appmesh`, { model, discovery: this.discovery }, { parent: this });

        this.registerOutputs({ endpoint: this.traffic.endpoint });
    }
}
