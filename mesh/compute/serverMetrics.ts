/**
 * The model server's own metrics, per version: a collector beside the model server
 * (the AWS Distro for OpenTelemetry collector) scrapes its Prometheus endpoint over
 * localhost and publishes the few series that judge an LLM server (time to first token,
 * inter-token latency, queue depth, generated tokens) to CloudWatch as embedded metric
 * format, under one name per series whatever the server calls it, with the version as a
 * dimension. The CloudWatch agent cannot carry them: it drops Prometheus histograms, which
 * is how servers report latencies. On GPU instances the host's CloudWatch agent adds GPU
 * utilisation (`gpuCapacity.ts`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { CanaryConfig, PrometheusConfig } from "../config/schema";
import type { Version } from "../../contract/versions";
import type { ServerMetricRefs } from "../../contract/outputs";
import { logsTo } from "./containers";
import type { ContainerDefinition, LogTarget } from "./join";
import { ServerMetric, serverMetricNames } from "../config/serverSeries";

/** CloudWatch's name of each series, and the statistic that reads a minute of it. */
export const SERVER_METRIC_INFO: Record<ServerMetric | "gpuUtilization", { metricName: string; stat: string; title: string; unit: string }> = {
    timeToFirstToken: { metricName: "TimeToFirstToken", stat: "Average", title: "Average time to first token", unit: "s" },
    interTokenLatency: { metricName: "InterTokenLatency", stat: "Average", title: "Average inter-token latency", unit: "s" },
    queueDepth: { metricName: "QueueDepth", stat: "Average", title: "Requests waiting (queue depth)", unit: "requests" },
    generatedTokens: { metricName: "GeneratedTokens", stat: "Sum", title: "Generated tokens per minute", unit: "tokens a minute" },
    gpuUtilization: { metricName: "nvidia_smi_utilization_gpu", stat: "Average", title: "GPU utilisation", unit: "%" },
};

/** The log stream the collector writes its embedded-metric-format events to, in the version's own log group. */
export const SERVER_METRICS_STREAM = "server-metrics";
/** The collector, version pinned. */
const COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3";

export interface CollectorArgs {
    prometheus: PrometheusConfig;
    /** The model server's port (the default scrape port). */
    modelPort: number;
    version: string;
    namespace: string;
    logs: LogTarget;
}

/** The collector's configuration: scrape, keep and rename the series, label them with the version, export as EMF. */
export function collectorConfig(args: CollectorArgs) {
    const { prometheus } = args;
    const names = serverMetricNames(prometheus);
    const kept = Object.entries(names) as [ServerMetric, string][];
    const escape = (name: string) => name.replace(/[.*+?()|[\]\\]/g, (c) => `\\${c}`);
    return {
        receivers: {
            prometheus: {
                config: {
                    scrape_configs: [
                        {
                            job_name: "model",
                            scrape_interval: `${prometheus.intervalSeconds}s`,
                            metrics_path: prometheus.path,
                            static_configs: [{ targets: [`localhost:${prometheus.port ?? args.modelPort}`] }],
                            // Only the series the dashboard and alarms read: a server exports hundreds.
                            metric_relabel_configs: [
                                { source_labels: ["__name__"], regex: `(${kept.map(([, n]) => escape(n)).join("|")})(_sum|_count|_bucket)?`, action: "keep" },
                            ],
                        },
                    ],
                },
            },
        },
        processors: {
            metricstransform: { transforms: kept.map(([key, name]) => ({ include: name, action: "update", new_name: SERVER_METRIC_INFO[key].metricName })) },
            resource: { attributes: [{ key: "Version", value: args.version, action: "insert" }] },
        },
        exporters: {
            awsemf: {
                namespace: args.namespace,
                region: args.logs.region,
                log_group_name: args.logs.logGroupName,
                log_stream_name: SERVER_METRICS_STREAM,
                dimension_rollup_option: "NoDimensionRollup",
                resource_to_telemetry_conversion: { enabled: true },
                // No "$" anchor: the collector expands "$" in its configuration as a variable.
                metric_declarations: [{ dimensions: [["Version"]], metric_name_selectors: kept.map(([key]) => `^${SERVER_METRIC_INFO[key].metricName}`) }],
            },
        },
        service: { pipelines: { metrics: { receivers: ["prometheus"], processors: ["metricstransform", "resource"], exporters: ["awsemf"] } } },
    };
}

/**
 * The collector container: not essential (the model keeps serving if it stops), and run
 * as the traffic layer's bypass user where there is one, so that on App Mesh it reaches
 * CloudWatch Logs while the mesh's egress stays shut for the rest of the task.
 */
export function collectorContainer(args: CollectorArgs, bypassUser?: string): ContainerDefinition {
    return {
        name: "metrics",
        image: COLLECTOR_IMAGE,
        essential: false,
        ...(bypassUser ? { user: bypassUser } : {}),
        // The collector reads its configuration from this variable (YAML, of which JSON is a part).
        environment: [{ name: "AOT_CONFIG_CONTENT", value: pulumi.jsonStringify(collectorConfig(args)) }],
        logConfiguration: logsTo(args.logs, "metrics"),
    };
}

/**
 * Where each version's server metrics (and GPU utilisation, on GPU instances of its own:
 * `gpuHosts`; a platform's pools measure the pool, not the version) live in CloudWatch;
 * undefined when there are none.
 */
export function serverMetricRefs(config: CanaryConfig, namespace: string, version: Version, { gpuHosts }: { gpuHosts: boolean }): ServerMetricRefs | undefined {
    const ref = (key: keyof typeof SERVER_METRIC_INFO) => ({ namespace, metricName: SERVER_METRIC_INFO[key].metricName, dimensions: { Version: version } });
    const prometheus = config.metrics.prometheus;
    const refs: ServerMetricRefs = {};
    if (prometheus) for (const key of Object.keys(serverMetricNames(prometheus)) as ServerMetric[]) refs[key] = ref(key);
    if (gpuHosts && config.versions[version].compute === "gpu") refs.gpuUtilization = ref("gpuUtilization");
    return Object.keys(refs).length > 0 ? refs : undefined;
}
