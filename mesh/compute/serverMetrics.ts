/**
 * The model server's own metrics, per version: a collector beside the model server (the AWS
 * Distro for OpenTelemetry collector) scrapes its Prometheus endpoint over localhost and
 * publishes the series that judge an LLM server (time to first token, inter-token latency,
 * request time, queue depth, generated tokens, answers by finish reason, and requests above a
 * latency bound) to CloudWatch as embedded metric format, under one name per series whatever
 * the server calls it, with the version as a dimension. The CloudWatch agent cannot carry
 * them: it drops Prometheus histograms, which is how servers report latencies. On GPU
 * instances the host's CloudWatch agent adds GPU utilisation (`gpuCapacity.ts`).
 *
 * Per-minute values, and why the collector computes them (ADOT v0.43.3, which builds
 * opentelemetry-collector-contrib v0.117.0; read in its vendored sources):
 * - the Prometheus receiver hands on cumulative values, counts and sums since the server started;
 * - the `awsemf` exporter turns a cumulative counter into deltas itself, but writes a histogram's
 *   Count, Sum, Min and Max as they come (`exporter/awsemfexporter/datapoint.go`,
 *   `histogramDataPointSlice.CalculateDeltaDatapoints`; contrib issue #18245), dropping its
 *   buckets: a minute's `Average` of time to first token would be the mean since the task started;
 * - so the `cumulativetodelta` processor turns every histogram and counter into deltas before
 *   the exporter, with `initial_value: keep` (the processor's README: for a collector whose
 *   lifecycle is the metric source's, as a sidecar's is, the first value is the first delta). A
 *   counter that falls (a server restarted under a running collector) is dropped for that
 *   scrape, a histogram whose count falls starts again from its new value
 *   (`internal/tracking/tracker.go`): never a negative delta.
 * A histogram's Min and Max are unset for Prometheus histograms and arrive as 0: only `Sum`,
 * `SampleCount` and `Average` mean anything.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CanaryConfig, PrometheusConfig } from "../config/schema";
import type { Version } from "../../contract/versions";
import type { MetricRef, ServerMetricRefs } from "../../contract/outputs";
import { logsTo } from "./containers";
import type { ContainerDefinition, LogTarget } from "./join";
import { BOUNDED_SERIES, BoundedSeries, finishReasonOf, metricsPortOf, SERIES_KINDS, ServerMetric, serverMetricNames } from "../config/serverSeries";

/** CloudWatch's name of each series, and the statistic that reads a minute of it. */
export const SERVER_METRIC_INFO: Record<ServerMetric | "gpuUtilization", { metricName: string; stat: string; title: string; unit: string }> = {
    timeToFirstToken: { metricName: "TimeToFirstToken", stat: "Average", title: "Average time to first token", unit: "s" },
    interTokenLatency: { metricName: "InterTokenLatency", stat: "Average", title: "Average inter-token latency", unit: "s" },
    requestTime: { metricName: "RequestTime", stat: "Average", title: "Average request time (the server's)", unit: "s" },
    queueDepth: { metricName: "QueueDepth", stat: "Average", title: "Requests waiting (queue depth)", unit: "requests" },
    generatedTokens: { metricName: "GeneratedTokens", stat: "Sum", title: "Generated tokens per minute", unit: "tokens a minute" },
    answers: { metricName: "Answers", stat: "Sum", title: "Answers per minute", unit: "answers a minute" },
    gpuUtilization: { metricName: "nvidia_smi_utilization_gpu", stat: "Average", title: "GPU utilisation", unit: "%" },
};
/** The dimension of a count within a bound, and of answers by why they ended. */
const BOUND_DIMENSION = "Bound";
const REASON_DIMENSION = "FinishReason";
/** CloudWatch's name of the requests at most a bound: `SampleCount` of a minute counts them. */
const withinName = (series: BoundedSeries) => `${SERVER_METRIC_INFO[series].metricName}Within`;

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

/** Where the collector scrapes: the configured port, else the server's own metrics port, else the model's. */
const target = ({ prometheus, modelPort }: CollectorArgs) => `localhost:${prometheus.port ?? metricsPortOf(prometheus.server) ?? modelPort}`;
const escape = (name: string) => name.replace(/[.*+?()|[\]\\]/g, (c) => `\\${c}`);
/** A bound as servers write it in `le`: Python's client writes 5 as "5.0", others "5". */
const leOf = (bound: number) => (Number.isInteger(bound) ? `${bound}(\\.0)?` : escape(String(bound)));

/**
 * The second scrape of the same endpoint, for counts within a bound: the bucket at each bound
 * becomes the `_count` of its own series of the histogram, labelled with the bound (the
 * receiver finds a histogram's `_count` by the family's metadata, `metadataForMetric`), so it
 * reaches CloudWatch as the `SampleCount` of a metric of its own. The exporter drops buckets,
 * so this is the one way to count requests above a bound per minute.
 */
function boundsJob(args: CollectorArgs, names: Partial<Record<ServerMetric, string>>) {
    const asked = BOUNDED_SERIES.filter((series) => args.prometheus.countAbove[series] !== undefined && names[series]);
    if (asked.length === 0) return undefined;
    return {
        series: asked,
        job: {
            job_name: "model-bounds",
            scrape_interval: `${args.prometheus.intervalSeconds}s`,
            metrics_path: args.prometheus.path,
            static_configs: [{ targets: [target(args)] }],
            metric_relabel_configs: [
                ...asked.map((series) => ({
                    source_labels: ["__name__", "le"],
                    regex: `${escape(names[series]!)}_bucket;${leOf(args.prometheus.countAbove[series]!)}`,
                    target_label: BOUND_DIMENSION,
                    replacement: String(args.prometheus.countAbove[series]),
                })),
                { source_labels: [BOUND_DIMENSION], regex: ".+", action: "keep" },
                { regex: "le", action: "labeldrop" },
                // Each name written out: the collector expands "$" in its configuration, so no "$1".
                ...asked.map((series) => ({
                    source_labels: ["__name__"],
                    regex: `${escape(names[series]!)}_bucket`,
                    target_label: "__name__",
                    replacement: `${names[series]}_count`,
                })),
            ],
        },
    };
}

/** The collector's configuration: scrape, keep and rename the series, make them per-minute deltas, label them with the version, export as EMF. */
export function collectorConfig(args: CollectorArgs) {
    const { prometheus } = args;
    const names = serverMetricNames(prometheus);
    const kept = Object.entries(names) as [ServerMetric, string][];
    const cloudWatchName = (key: ServerMetric) => SERVER_METRIC_INFO[key].metricName;
    const cumulative = kept.filter(([key]) => SERIES_KINDS[key] !== "gauge").map(([key]) => cloudWatchName(key));
    const bounds = boundsJob(args, names);
    const reason = finishReasonOf(prometheus.server);
    const scrape = {
        job_name: "model",
        scrape_interval: `${prometheus.intervalSeconds}s`,
        metrics_path: prometheus.path,
        static_configs: [{ targets: [target(args)] }],
        metric_relabel_configs: [
            // Only the series the dashboard and alarms read: a server exports hundreds.
            { source_labels: ["__name__"], regex: `(${kept.map(([, n]) => escape(n)).join("|")})(_sum|_count)?`, action: "keep" },
            // Answers by why they ended, under a dimension name of the product's.
            ...(reason && names.answers ? [{ source_labels: [reason.label], regex: "(.+)", target_label: REASON_DIMENSION }] : []),
        ],
    };
    const rename = (pairs: [string, string][]) => ({ transforms: pairs.map(([include, newName]) => ({ include, action: "update", new_name: newName })) });
    const withinNames = (bounds?.series ?? []).map(withinName);
    const declarations = [
        { dimensions: [["Version"]], metric_name_selectors: kept.map(([key]) => `^${cloudWatchName(key)}`) },
        ...(reason && names.answers ? [{ dimensions: [["Version", REASON_DIMENSION]], metric_name_selectors: [`^${cloudWatchName("answers")}`] }] : []),
        ...(bounds ? [{ dimensions: [["Version", BOUND_DIMENSION]], metric_name_selectors: withinNames.map((n) => `^${n}`) }] : []),
    ];
    const toDelta = (include: string[]) => ({ include: { metrics: include, match_type: "strict" }, initial_value: "keep" });
    return {
        receivers: {
            prometheus: { config: { scrape_configs: [scrape] } },
            ...(bounds ? { "prometheus/bounds": { config: { scrape_configs: [bounds.job] } } } : {}),
        },
        processors: {
            metricstransform: rename(kept.map(([key, name]) => [name, cloudWatchName(key)])),
            cumulativetodelta: toDelta(cumulative),
            ...(bounds
                ? {
                      "metricstransform/bounds": rename(bounds.series.map((series) => [names[series]!, withinName(series)])),
                      "cumulativetodelta/bounds": toDelta(withinNames),
                  }
                : {}),
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
                metric_declarations: declarations,
            },
        },
        service: {
            pipelines: {
                metrics: { receivers: ["prometheus"], processors: ["metricstransform", "cumulativetodelta", "resource"], exporters: ["awsemf"] },
                ...(bounds
                    ? {
                          "metrics/bounds": {
                              receivers: ["prometheus/bounds"],
                              processors: ["metricstransform/bounds", "cumulativetodelta/bounds", "resource"],
                              exporters: ["awsemf"],
                          },
                      }
                    : {}),
            },
        },
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
    const ref = (metricName: string, dimensions: Record<string, string> = {}) => ({ namespace, metricName, dimensions: { Version: version, ...dimensions } });
    const prometheus = config.metrics.prometheus;
    const refs: ServerMetricRefs = {};
    if (prometheus) {
        const names = serverMetricNames(prometheus);
        for (const key of Object.keys(names) as ServerMetric[]) refs[key] = ref(SERVER_METRIC_INFO[key].metricName);
        const reason = finishReasonOf(prometheus.server);
        if (reason && names.answers) {
            refs.answersCutOff = ref(SERVER_METRIC_INFO.answers.metricName, { [REASON_DIMENSION]: reason.cutOff });
            refs.answersAborted = ref(SERVER_METRIC_INFO.answers.metricName, { [REASON_DIMENSION]: reason.aborted });
        }
        for (const series of BOUNDED_SERIES) {
            const bound = prometheus.countAbove[series];
            if (bound !== undefined && names[series]) refs[`${series}Within`] = ref(withinName(series), { [BOUND_DIMENSION]: String(bound) });
        }
    }
    if (gpuHosts && config.versions[version].compute === "gpu") refs.gpuUtilization = ref(SERVER_METRIC_INFO.gpuUtilization.metricName);
    return Object.keys(refs).length > 0 ? refs : undefined;
}

/**
 * Where each version's own application counts live, for the event gates (`rollout.gates.events`):
 * the metric and its trials, in the service's namespace with the version's dimension, as the
 * tasks' `CANARY_METRIC_NAMESPACE` and `CANARY_VERSION` tell the application to publish them.
 */
export function eventMetricRefs(config: CanaryConfig, namespace: string, version: Version): Record<string, MetricRef> | undefined {
    const names = Object.values(config.rollout.gates.events ?? {}).flatMap((g) => [g.metric, g.trials]);
    if (names.length === 0) return undefined;
    return Object.fromEntries(names.map((metricName) => [metricName, { namespace, metricName, dimensions: { Version: version } }]));
}
