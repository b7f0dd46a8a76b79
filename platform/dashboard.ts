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
    /** The cluster's GPU pools by instance type. */
    gpuPools: Record<string, { capacityProviderName: pulumi.Input<string> }>;
}

/** The dashboard's body: a graph a row, each axis with its unit. */
export function platformDashboardBody(args: PlatformDashboardArgs): pulumi.Output<string> {
    const minute = { stat: "Average", period: 60 };
    const pools = Object.entries(args.gpuPools);
    const graphs: { title: string; unit: string; lines: unknown[] }[] = [
        {
            title: "The cluster's tasks and instances",
            unit: "count",
            lines: [
                ["ECS/ContainerInsights", "TaskCount", "ClusterName", args.clusterName, { ...minute, label: "tasks" }],
                ["ECS/ContainerInsights", "ContainerInstanceCount", "ClusterName", args.clusterName, { ...minute, label: "GPU instances" }],
            ],
        },
        ...(pools.length === 0
            ? []
            : [
                  {
                      title: "GPU pools: capacity the tasks reserve (above 100, tasks wait for instances)",
                      unit: "%",
                      lines: pools.map(([type, p]) => [
                          "AWS/ECS/ManagedScaling",
                          "CapacityProviderReservation",
                          "CapacityProviderName",
                          p.capacityProviderName,
                          "ClusterName",
                          args.clusterName,
                          { ...minute, label: type },
                      ]),
                  },
                  {
                      title: "GPU pools: GPU utilisation",
                      unit: "%",
                      lines: pools.map(([type]) => [args.gpuNamespace, "nvidia_smi_utilization_gpu", "Pool", type, { ...minute, label: type }]),
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
