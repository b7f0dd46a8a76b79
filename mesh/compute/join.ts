/**
 * How a version's tasks join what is outside them (a traffic layer, a load balancer), as
 * types only: the compute builds from them, and each traffic backend returns them, so
 * neither imports the other.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";

/** One entry of a task definition's `containerDefinitions`; values may still be outputs. */
export type ContainerDefinition = Record<string, unknown>;

/** Where a container logs: its service's own log group. */
export interface LogTarget {
    logGroupName: pulumi.Input<string>;
    region: pulumi.Input<string>;
}

/** Where a service's own resources are declared: a backend declares what its join needs here. */
export interface ServiceScope {
    /** Prefix for resource names, unique to the service. */
    name: string;
    opts: pulumi.CustomResourceOptions;
    accountId: pulumi.Input<string>;
    tags: Record<string, string>;
}

/** ECS service settings that attach a service's tasks to something, as `TaskJoin.service` returns them. */
export type ServiceAttachment = Pick<aws.ecs.ServiceArgs, "serviceRegistries" | "vpcLatticeConfigurations" | "loadBalancers" | "healthCheckGracePeriodSeconds">;

/** How a service's tasks join something outside them (a traffic layer, a load balancer). */
export interface TaskJoin {
    proxyConfiguration?: aws.types.input.ecs.TaskDefinitionProxyConfiguration;
    /** What the tasks' own code (or sidecar) may call, as a policy document; no task role without one. */
    taskPolicy?: pulumi.Input<string>;
    /** ECS service settings that attach the tasks, declaring whatever they need (e.g. an IAM role) in `scope`. */
    service?(scope: ServiceScope): ServiceAttachment;
}

/** What a version's task and service need to join the traffic layer, beyond what every task has. */
export interface VersionJoin extends TaskJoin {
    /** Name of the model server's port mapping, for a traffic layer that finds the port by name. */
    modelPortName?: string;
    /** Containers the model server starts after, and in what state. */
    modelDependsOn?: { containerName: string; condition: string }[];
    /** Containers that run beside the model server (e.g. a proxy), given where they log. */
    sidecars?(logs: LogTarget): ContainerDefinition[];
    /** A container that runs as this user is not redirected through the traffic layer's proxy (App Mesh: Envoy's ignored UID). */
    bypassUser?: string;
}
