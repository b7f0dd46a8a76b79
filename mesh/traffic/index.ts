/**
 * Picks the traffic backend the config names, so the rest of the program talks to the
 * `TrafficBackend` interface (the App Mesh-only ingress gateway aside).
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryModel } from "../model";
import { Network } from "../network";
import { ServiceDiscovery } from "../discovery";
import { TaskIngressSource, TrafficBackend } from "./backend";
import { AppMeshTraffic, appMeshTaskIngress } from "./appmesh";
import { LatticeTraffic, latticeTaskIngress } from "./lattice";

/** Who may reach the model tasks under the configured backend. */
export function taskIngressFor(model: CanaryModel, region: pulumi.Input<string>, opts: pulumi.InvokeOutputOptions): TaskIngressSource {
    return model.config.trafficBackend === "lattice"
        ? latticeTaskIngress(region, opts)
        : appMeshTaskIngress(model.config.network.cidrBlock);
}

export interface TrafficArgs {
    model: CanaryModel;
    network: Network;
    /** CloudWatch namespace for metrics the stack publishes itself. */
    metricNamespace: string;
}

/** Declares the configured backend under `name`, with whatever it needs (App Mesh: Cloud Map). */
export function declareTraffic(name: string, args: TrafficArgs, opts: pulumi.ComponentResourceOptions): TrafficBackend {
    const { model, network } = args;
    if (model.config.trafficBackend === "lattice") {
        return new LatticeTraffic(`${name}-lattice`, { model, network }, opts);
    }
    const discovery = new ServiceDiscovery(`${name}-discovery`, { model, vpcId: network.vpcId }, opts);
    return new AppMeshTraffic(`${name}-appmesh`, { model, discovery, metricNamespace: args.metricNamespace }, opts);
}
