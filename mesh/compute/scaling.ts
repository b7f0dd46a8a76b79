/**
 * Service Auto Scaling of one version's task count. The load signal is requests per
 * running task per minute: the version's request count, which every traffic backend
 * already publishes per version (`versionMetrics.requests`), over Container Insights'
 * running task count, so both backends scale on the same signal with nothing added.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Declared, MetricRef } from "../../contract/outputs";

export interface TaskScalingArgs {
    clusterName: pulumi.Input<string>;
    serviceName: pulumi.Input<string>;
    minCount: number;
    maxCount: number;
    requestsPerTaskPerMinute: number;
    /** The version's request count. */
    requests: Declared<MetricRef>;
}

/** The math target tracking follows: requests per running task in each minute (no requests counts as 0, so an idle version scales in). */
function requestsPerTaskQueries(requests: Declared<MetricRef>, clusterName: pulumi.Input<string>, serviceName: pulumi.Input<string>) {
    const dimensions = (d: Record<string, pulumi.Input<string>>) => Object.entries(d).map(([name, value]) => ({ name, value }));
    return [
        {
            id: "requests",
            returnData: false,
            metricStat: {
                stat: "Sum",
                metric: { namespace: requests.namespace, metricName: requests.metricName, dimensions: dimensions(requests.dimensions) },
            },
        },
        {
            id: "tasks",
            returnData: false,
            metricStat: {
                stat: "Average",
                metric: {
                    namespace: "ECS/ContainerInsights",
                    metricName: "RunningTaskCount",
                    dimensions: dimensions({ ClusterName: clusterName, ServiceName: serviceName }),
                },
            },
        },
        { id: "per_task", expression: "FILL(requests, 0) / tasks", label: "requests per task per minute", returnData: true },
    ];
}

/** The scalable target (the bounds, which the rollout raises) and its target-tracking policy. */
export function taskScaling(name: string, args: TaskScalingArgs, opts: pulumi.CustomResourceOptions): aws.appautoscaling.Target {
    const target = new aws.appautoscaling.Target(
        name,
        {
            serviceNamespace: "ecs",
            scalableDimension: "ecs:service:DesiredCount",
            resourceId: pulumi.interpolate`service/${args.clusterName}/${args.serviceName}`,
            minCapacity: args.minCount,
            maxCapacity: args.maxCount,
        },
        opts,
    );
    new aws.appautoscaling.Policy(
        name,
        {
            policyType: "TargetTrackingScaling",
            serviceNamespace: target.serviceNamespace,
            scalableDimension: target.scalableDimension,
            resourceId: target.resourceId,
            targetTrackingScalingPolicyConfiguration: {
                targetValue: args.requestsPerTaskPerMinute,
                customizedMetricSpecification: { metrics: requestsPerTaskQueries(args.requests, args.clusterName, args.serviceName) },
                // A model takes minutes to load: add capacity soon, remove it slowly.
                scaleOutCooldown: 60,
                scaleInCooldown: 600,
            },
        },
        opts,
    );
    return target;
}
