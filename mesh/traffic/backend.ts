/**
 * The seam between the canary and the traffic layer that renders it. Each backend is
 * one file that declares its resources from the `CanaryModel` and hands back, per
 * version, the one thing the compute needs to join it; compute reads nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import { Version } from "../config";

/** An App Mesh version joins the mesh through an Envoy sidecar that reads its virtual node. */
export interface AppMeshAttachment {
    kind: "appmesh";
    /** ARN of the version's own virtual node, for the sidecar's APPMESH_RESOURCE_ARN. */
    virtualNodeArn: pulumi.Output<string>;
    /** Cloud Map service the version's tasks register in, which the node discovers. */
    discoveryServiceArn: pulumi.Output<string>;
}

export type VersionAttachment = AppMeshAttachment;

export interface TrafficBackend {
    readonly kind: VersionAttachment["kind"];
    /** The name clients inside the network call. */
    readonly endpoint: pulumi.Output<string>;
    readonly attachments: Record<Version, VersionAttachment>;
}
