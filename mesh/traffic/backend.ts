/**
 * The seam between the canary and the traffic layer that renders it. Each backend is
 * one file that declares its resources from the `CanaryModel` and hands back, per
 * version, the one thing the compute needs to join it; compute reads nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import { TrafficBackendKind, Version } from "../config";
import { VersionMetrics } from "../observability";

/** An App Mesh version joins the mesh through an Envoy sidecar that reads its virtual node. */
export interface AppMeshAttachment {
    kind: "appmesh";
    /** ARN of the version's own virtual node, for the sidecar's APPMESH_RESOURCE_ARN. */
    virtualNodeArn: pulumi.Output<string>;
    /** Cloud Map service the version's tasks register in, which the node discovers. */
    discoveryServiceArn: pulumi.Output<string>;
}

/** A Lattice version joins by ECS registering its tasks in the version's target group. */
export interface LatticeAttachment {
    kind: "lattice";
    targetGroupArn: pulumi.Output<string>;
}

export type VersionAttachment = AppMeshAttachment | LatticeAttachment;

/** Who may open connections to the model tasks' port. */
export interface TaskIngressSource {
    description: string;
    cidrBlocks?: string[];
    prefixListIds?: pulumi.Input<string>[];
}

export interface TrafficBackend {
    readonly kind: TrafficBackendKind;
    /** The name clients call. */
    readonly endpoint: pulumi.Output<string>;
    readonly attachments: Record<Version, VersionAttachment>;
    /** Stack outputs only this backend has (names of its own resources). */
    readonly outputs: Record<string, pulumi.Output<unknown>>;
    /**
     * Where each version's request, 5xx and latency metrics live, declaring whatever
     * produces them. `logGroupNames` are the versions' task log groups.
     */
    versionMetrics(
        name: string,
        logGroupNames: Record<Version, pulumi.Input<string>>,
        opts: pulumi.ComponentResourceOptions,
    ): Record<Version, VersionMetrics>;
}
