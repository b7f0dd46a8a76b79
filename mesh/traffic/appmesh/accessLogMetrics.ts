/**
 * Per-version traffic metrics for the App Mesh backend, from the Envoy access logs each
 * version's tasks already write (JSON, see `accessLogFormat`). Metric filters turn every
 * log line into a request, a 5xx and a duration sample, with the version as a dimension,
 * so no metrics agent runs beside the model.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Version, byVersion } from "../../../contract/versions";
import { Declared, VersionMetrics } from "../../../contract/outputs";

export interface AccessLogMetricsArgs {
    /** CloudWatch namespace of the metrics, unique to this stack's service. */
    namespace: string;
    /** Each version's log group, where its Envoy writes the access log. */
    logGroupNames: Record<Version, pulumi.Input<string>>;
}

/**
 * A 5xx status, whether Envoy writes the code as a JSON number or as a string: CloudWatch
 * compares numbers and matches strings differently, and either alone would miss the other.
 */
const SERVER_ERROR = `($.code >= 500) || ($.code = "5*")`;

/** Metric name, extra condition and value of the metrics every access-log line feeds. */
const ACCESS_LOG_METRICS = {
    requests: { metricName: "Requests", condition: undefined, value: "1", unit: "Count" },
    errors: { metricName: "Errors5xx", condition: SERVER_ERROR, value: "1", unit: "Count" },
    latencyMs: { metricName: "RequestTime", condition: undefined, value: "$.duration", unit: "Milliseconds" },
    firstByteMs: { metricName: "TimeToFirstByte", condition: undefined, value: "$.response_duration", unit: "Milliseconds" },
} as const;

/**
 * Matches only this version's Envoy access-log lines, not the model server's own logs in
 * the same group; and, when the metric's value is a field, only lines that carry it: a
 * metric filter's value must be a field its pattern matched (CloudWatch Logs, "Publishing
 * numerical values found in log events": name it in the pattern, if only as `$.f = *`).
 */
export function accessLogPattern(version: Version, condition: string | undefined, value: string): string {
    const terms = [`$.version = "${version}"`, ...(condition ? [condition] : []), ...(value.startsWith("$.") ? [`${value} = *`] : [])];
    return terms.length === 1 ? `{ ${terms[0]} }` : `{ ${terms.map((t) => `(${t})`).join(" && ")} }`;
}

export class AccessLogMetrics extends pulumi.ComponentResource {
    readonly metrics: Record<Version, Declared<VersionMetrics>>;

    constructor(name: string, args: AccessLogMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:traffic:AccessLogMetrics", name, {}, opts);
        this.metrics = byVersion((version) => {
            const refs = {} as Required<Declared<VersionMetrics>>;
            for (const [key, m] of Object.entries(ACCESS_LOG_METRICS) as [
                keyof typeof ACCESS_LOG_METRICS,
                (typeof ACCESS_LOG_METRICS)[keyof typeof ACCESS_LOG_METRICS],
            ][]) {
                new aws.cloudwatch.LogMetricFilter(
                    `${name}-${version}-${m.metricName.toLowerCase()}`,
                    {
                        logGroupName: args.logGroupNames[version],
                        pattern: accessLogPattern(version, m.condition, m.value),
                        metricTransformation: {
                            namespace: args.namespace,
                            name: m.metricName,
                            value: m.value,
                            unit: m.unit,
                            dimensions: { Version: "$.version" },
                        },
                    },
                    { parent: this },
                );
                refs[key] = { namespace: args.namespace, metricName: m.metricName, dimensions: { Version: version } };
            }
            return refs;
        });
        this.registerOutputs({});
    }
}
