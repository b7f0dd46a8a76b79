/**
 * The compute that runs the model: one ECS service per version, on Fargate or on GPU
 * instances of its own. A version's service reads only that version's config and its own
 * join to the traffic layer, so changing the canary's image never touches the stable
 * service, and the other way round.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig, s3Location } from "../config/schema";
import { Version } from "../../contract/versions";
import type { VersionJoin } from "./join";
import { modelContainer, weightsContainer, weightsStorage } from "./containers";
import { weightsReadPolicy } from "./iam";
import { EcsService, Placement } from "./service";
import { collectorContainer, SERVER_METRICS_STREAM } from "./serverMetrics";

export interface ModelServiceArgs {
    config: CanaryConfig;
    version: Version;
    /** How this version's tasks join the traffic layer. */
    join: VersionJoin;
    clusterArn: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /** Where the version's tasks run (its own GPU capacity, when it has any). */
    placement: Placement;
    /** CloudWatch namespace of the metrics the stack publishes itself. */
    metricNamespace: string;
    /** The URLs of the services this one calls, by environment variable (`EMBEDDER_URL`). */
    callees?: Record<string, pulumi.Input<string>>;
}

/** Declares one version's model service, its containers being the model server and whatever the join adds. */
export function modelService(name: string, args: ModelServiceArgs, opts: pulumi.ComponentResourceOptions): EcsService {
    const { config, version, join } = args;
    const v = config.versions[version];
    const prometheus = config.metrics.prometheus;
    return new EcsService(
        name,
        {
            family: `${pulumi.getStack()}-${config.serviceName}-${version}`,
            cpu: v.cpu,
            memory: v.memory,
            // The count at creation only; the raised canary minimum reaches the scalable target alone, so a capacity step leaves the service as it is.
            desiredCount: v.scaling.minCount,
            autoscaled: true,
            placement: args.placement,
            image: v.image,
            secrets: { arns: Object.values(v.secrets), kmsKeyArn: v.secretsKmsKeyArn },
            storage: weightsStorage(v.weights),
            metricsStream: prometheus ? SERVER_METRICS_STREAM : undefined,
            execCommand: config.debug.execCommand,
            readPolicy: v.weights
                ? weightsReadPolicy(s3Location(v.weights.source).bucket, s3Location(v.weights.source).prefix, v.weights.kmsKeyArn)
                : undefined,
            containers: (logs) =>
                pulumi.jsonStringify(
                    pulumi.output([
                        modelContainer(config, version, join, logs, {
                            ...args.callees,
                            // What the application publishes its own counts under, for the event gates (docs/metrics.md).
                            CANARY_VERSION: version,
                            CANARY_METRIC_NAMESPACE: args.metricNamespace,
                        }),
                        ...(v.weights ? [weightsContainer(v.weights, join, logs)] : []),
                        ...(prometheus
                            ? [collectorContainer({ prometheus, modelPort: config.port, version, namespace: args.metricNamespace, logs }, join.bypassUser)]
                            : []),
                        ...(join.sidecars?.(logs) ?? []),
                    ]),
                ),
            join,
            clusterArn: args.clusterArn,
            subnetIds: args.subnetIds,
            securityGroupIds: args.securityGroupIds,
            accountId: args.accountId,
            region: args.region,
            logRetentionDays: config.logRetentionDays,
            tags: { "ai-canary:version": version },
        },
        opts,
    );
}
