/**
 * The seam between the canary and the traffic layer that renders it, small on purpose
 * (as Flagger's router interface is). A backend declares its own resources from the
 * `CanaryModel`, and tells each version's compute how to join it; the component and
 * the compute never ask which backend they talk to.
 */
import * as pulumi from "@pulumi/pulumi";
import { Version } from "../../contract/versions";
import { CanaryModel } from "../canary/model";
import { Network, TaskIngressSource } from "../canary/network";
import type { PlatformOutputs } from "../../contract/outputs";
import { AlbOutputs, AppMeshOutputs, Declared, LatticeOutputs, StackOutputs, VersionMetrics } from "../../contract/outputs";
import type { VersionJoin } from "../compute/join";

/** What a backend is given to declare its resources. */
export interface TrafficArgs {
    model: CanaryModel;
    network: Network;
    /** The ECS cluster the model services run in (a backend may run its own services there). */
    clusterArn: pulumi.Input<string>;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /** CloudWatch namespace for metrics the stack publishes itself. */
    metricNamespace: string;
    /** The platform the stack is on, if any: its shared Lattice service network, and the ports that network admits. */
    platform?: Pick<PlatformOutputs, "serviceNetworkId" | "latticePorts" | "zoneId" | "zoneName">;
    /** IAM principals of the stack's own that call the service besides the configured ones (the golden set's runner): a service with IAM auth admits them too. */
    invokers?: pulumi.Input<string>[];
}

/** The stack outputs only a backend knows, its kind among them. */
type OwnOutputs<T> = Omit<T, Exclude<keyof StackOutputs, "trafficBackend">>;
export type BackendOutputs = Declared<OwnOutputs<AppMeshOutputs>> | Declared<OwnOutputs<LatticeOutputs>> | Declared<OwnOutputs<AlbOutputs>>;

export interface TrafficBackend {
    /** The name clients call. */
    readonly endpoint: pulumi.Output<string>;
    /** What clients call, whole: scheme, host and port. */
    readonly url: pulumi.Output<string>;
    /** The one resource that carries the split (a route, a listener): all a weight change may touch. */
    readonly splitResource: pulumi.Resource;
    /** How one version's tasks join this traffic layer. */
    join(version: Version): VersionJoin;
    /** How a one-off client task (the evaluation) joins the traffic layer as a caller, and the URL it calls. */
    client(name: string, opts: pulumi.ComponentResourceOptions): { join: VersionJoin; url: pulumi.Output<string> };
    /** Where each version's request, 5xx and latency metrics live, declaring whatever produces them. */
    versionMetrics(
        name: string,
        logGroupNames: Record<Version, pulumi.Input<string>>,
        opts: pulumi.ComponentResourceOptions,
    ): Record<Version, Declared<VersionMetrics>>;
    readonly outputs: BackendOutputs;
}

/** A backend before it is declared: what it needs of the network, and how to declare it. */
export interface TrafficBackendKind {
    /** Who may reach the model tasks: decided before the network, whose security group admits it. */
    taskIngress(where: { region: pulumi.Input<string>; vpcCidr: pulumi.Input<string> }, opts: pulumi.InvokeOutputOptions): TaskIngressSource;
    /** Declares the backend's resources as `name`-prefixed children of `opts.parent`. */
    declare(name: string, args: TrafficArgs, opts: pulumi.ComponentResourceOptions): TrafficBackend;
}
