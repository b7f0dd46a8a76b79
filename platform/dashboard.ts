/**
 * The platform's dashboard, for whoever is on call for what the services share: the
 * cluster's tasks and instances, and per GPU pool how much of its capacity the tasks
 * reserve (above 100%, tasks wait for instances ECS is launching, or cannot launch: the
 * pool's `maxInstances`, or the account's quota) and its GPU utilisation. Each service's
 * own dashboard is its stack's.
 */
import * as pulumi from "@pulumi/pulumi";

export interface PlatformDashboardArgs {
    region: pulumi.Input<string>;
    clusterName: pulumi.Input<string>;
    /** Where the pools' hosts publish GPU utilisation, labelled `Pool` with the instance type. */
    gpuNamespace: string;
    pools: { instanceType: string; capacityProviderName: pulumi.Input<string> }[];
}

/** The dashboard's body: a graph a row, each axis with its unit. */
export function platformDashboardBody(args: PlatformDashboardArgs): pulumi.Output<string> {
    const minute = { stat: "Average", period: 60 };
    const graphs: { title: string; unit: string; lines: unknown[] }[] = [
        {
            title: "The cluster's tasks and instances",
            unit: "count",
            lines: [
                ["ECS/ContainerInsights", "TaskCount", "ClusterName", args.clusterName, { ...minute, label: "tasks" }],
                ["ECS/ContainerInsights", "ContainerInstanceCount", "ClusterName", args.clusterName, { ...minute, label: "GPU instances" }],
            ],
        },
        ...(args.pools.length === 0
            ? []
            : [
                  {
                      title: "GPU pools: capacity the tasks reserve (above 100, tasks wait for instances)",
                      unit: "%",
                      lines: args.pools.map((p) => ["AWS/ECS/ManagedScaling", "CapacityProviderReservation", "CapacityProviderName", p.capacityProviderName, "ClusterName", args.clusterName, { ...minute, label: p.instanceType }]),
                  },
                  {
                      title: "GPU pools: GPU utilisation",
                      unit: "%",
                      lines: args.pools.map((p) => [args.gpuNamespace, "nvidia_smi_utilization_gpu", "Pool", p.instanceType, { ...minute, label: p.instanceType }]),
                  },
              ]),
    ];
    const widgets = graphs.map((g, i) => ({
        type: "metric",
        x: 0,
        y: i * 6,
        width: 24,
        height: 6,
        properties: { title: g.title, region: args.region, view: "timeSeries", metrics: g.lines, yAxis: { left: { label: g.unit, showUnits: false, min: 0 } } },
    }));
    return pulumi.jsonStringify({ widgets });
}
