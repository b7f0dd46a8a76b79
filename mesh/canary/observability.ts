/**
 * What a person and the rollout tooling watch: the canary's error-rate and latency
 * alarms, and a dashboard with stable and canary side by side. Backend-neutral: each
 * traffic backend says where its per-version request, error and latency metrics live.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AlarmConfig, Version, VERSIONS } from "../config/schema";
import * as contract from "../contract";
import { SERVER_METRIC_INFO } from "../compute/serverMetrics";

const SERVER_GRAPHS = Object.entries(SERVER_METRIC_INFO) as [keyof typeof SERVER_METRIC_INFO, (typeof SERVER_METRIC_INFO)[keyof typeof SERVER_METRIC_INFO]][];

type MetricRef = contract.Declared<contract.MetricRef>;
type VersionMetrics = contract.Declared<contract.VersionMetrics>;

export interface CanaryObservabilityArgs {
    /** Dashboard names are account-wide and not auto-named, so the caller makes it unique. */
    dashboardName: string;
    /** Who the alarms are about, as an on-call engineer reads it: the service and its stack. */
    service: string;
    alarms: AlarmConfig;
    metrics: Record<Version, VersionMetrics>;
    region: pulumi.Input<string>;
}

const query = (id: string, m: MetricRef, stat: string, period: number) => ({
    id,
    returnData: false,
    metric: { namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, stat, period },
});

/**
 * Percent of requests that failed, or 0 while there are too few requests to judge:
 * two failures out of three requests is noise, not a verdict.
 */
export function errorRateExpression(minRequests: number): string {
    return `IF(requests >= ${minRequests}, 100 * FILL(errors, 0) / requests, 0)`;
}

export class CanaryObservability extends pulumi.ComponentResource {
    readonly errorRateAlarm: aws.cloudwatch.MetricAlarm;
    readonly latencyAlarm: aws.cloudwatch.MetricAlarm;
    readonly dashboard: aws.cloudwatch.Dashboard;
    /** Alarms on the model server's own metrics, canary against stable (or a limit), as configured. */
    readonly serverAlarms: aws.cloudwatch.MetricAlarm[] = [];

    constructor(name: string, args: CanaryObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:observability:CanaryObservability", name, {}, opts);
        const { alarms, metrics } = args;
        const parent = { parent: this };
        const canary = metrics.canary;
        const period = alarms.periodSeconds;
        // Whoever should hear of a canary alarm, when it fires and when it clears.
        const notify = alarms.actions ? { alarmActions: alarms.actions, okActions: alarms.actions } : {};

        this.errorRateAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-canary-errors`,
            {
                alarmDescription: `${args.service}: canary 5xx rate above ${alarms.errorRatePercent}% (judged from ${alarms.minRequests} requests per period)`,
                comparisonOperator: "GreaterThanThreshold",
                threshold: alarms.errorRatePercent,
                evaluationPeriods: alarms.evaluationPeriods,
                ...notify,
                treatMissingData: "notBreaching",
                metricQueries: [
                    query("requests", canary.requests, "Sum", period),
                    query("errors", canary.errors, "Sum", period),
                    { id: "error_rate", expression: errorRateExpression(alarms.minRequests), label: "canary 5xx %", returnData: true },
                ],
            },
            parent,
        );

        this.latencyAlarm = new aws.cloudwatch.MetricAlarm(
            `${name}-canary-latency`,
            {
                alarmDescription: `${args.service}: canary p99 request time above ${alarms.p99LatencySeconds} s`,
                comparisonOperator: "GreaterThanThreshold",
                threshold: (alarms.p99LatencySeconds * 1000) / contract.msPerUnit(canary.latencyMs),
                evaluationPeriods: alarms.evaluationPeriods,
                ...notify,
                treatMissingData: "notBreaching",
                namespace: canary.latencyMs.namespace,
                metricName: canary.latencyMs.metricName,
                dimensions: canary.latencyMs.dimensions,
                extendedStatistic: "p99",
                period,
            },
            parent,
        );

        for (const spec of serverAlarmSpecs(alarms, metrics)) {
            this.serverAlarms.push(
                new aws.cloudwatch.MetricAlarm(
                    `${name}-canary-${spec.suffix}`,
                    {
                        alarmDescription: `${args.service}: ${spec.description}`,
                        comparisonOperator: "GreaterThanThreshold",
                        threshold: spec.threshold,
                        evaluationPeriods: alarms.evaluationPeriods,
                        ...notify,
                        treatMissingData: "notBreaching",
                        metricQueries: [
                            ...spec.queries.map(([id, ref]) => query(id, ref, spec.stat, period)),
                            { id: "value", expression: spec.expression, label: spec.description, returnData: true },
                        ],
                    },
                    parent,
                ),
            );
        }

        this.dashboard = new aws.cloudwatch.Dashboard(
            name,
            { dashboardName: args.dashboardName, dashboardBody: dashboardBody(metrics, args.region, period) },
            parent,
        );

        this.registerOutputs({ errorRateAlarm: this.errorRateAlarm.name, latencyAlarm: this.latencyAlarm.name });
    }
}

interface ServerAlarmSpec {
    suffix: string;
    description: string;
    stat: string;
    queries: [string, MetricRef][];
    expression: string;
    threshold: number;
}

/**
 * The alarms `alarms.*` asks of the server's metrics: the canary's average time to first
 * token or inter-token latency more than a percentage above stable's (counted only while
 * stable reports it), and its queue depth above a limit.
 */
function serverAlarmSpecs(alarms: AlarmConfig, metrics: Record<Version, VersionMetrics>): ServerAlarmSpec[] {
    const specs: ServerAlarmSpec[] = [];
    const relative = (key: "timeToFirstToken" | "interTokenLatency", percent: number | undefined, what: string) => {
        const canary = metrics.canary.server?.[key];
        const stable = metrics.stable.server?.[key];
        if (percent === undefined || !canary || !stable) return;
        specs.push({
            suffix: key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
            description: `Canary average ${what} more than ${percent}% above stable's`,
            stat: SERVER_METRIC_INFO[key].stat,
            queries: [
                ["canary", canary as MetricRef],
                ["stable", stable as MetricRef],
            ],
            expression: "IF(stable > 0, 100 * (canary - stable) / stable, 0)",
            threshold: percent,
        });
    };
    relative("timeToFirstToken", alarms.timeToFirstTokenIncreasePercent, "time to first token");
    relative("interTokenLatency", alarms.interTokenLatencyIncreasePercent, "inter-token latency");
    const queue = metrics.canary.server?.queueDepth;
    if (alarms.queueDepth !== undefined && queue) {
        specs.push({
            suffix: "queue-depth",
            description: `Canary average queue depth above ${alarms.queueDepth}`,
            stat: SERVER_METRIC_INFO.queueDepth.stat,
            queries: [["canary", queue as MetricRef]],
            expression: "canary",
            threshold: alarms.queueDepth,
        });
    }
    return specs;
}

/**
 * Graphs, each with stable and canary as two lines: requests, 5xx count, p99 request
 * time and, where the backend measures it, p99 time to first byte, then the model
 * server's own metrics and GPU utilisation where there are any, three to a row.
 */
export function dashboardBody(metrics: Record<Version, VersionMetrics>, region: pulumi.Input<string>, period: number) {
    const line = (m: MetricRef, stat: string, label: string) => [
        m.namespace,
        m.metricName,
        ...Object.entries(m.dimensions).flat(),
        { stat, label, period },
    ];
    const graphs: [string, (v: VersionMetrics) => MetricRef | undefined, string][] = [
        ["Requests", (v) => v.requests, "Sum"],
        ["5xx responses", (v) => v.errors, "Sum"],
        [`p99 request time (${contract.msPerUnit(metrics.canary.latencyMs) === 1000 ? "s" : "ms"})`, (v) => v.latencyMs, "p99"],
        ["p99 time to first byte (ms)", (v) => v.firstByteMs, "p99"],
        ...SERVER_GRAPHS.map(([key, info]): [string, (v: VersionMetrics) => MetricRef | undefined, string] => [info.title, (v) => v.server?.[key], info.stat]),
    ];
    const widgets = graphs
        .map(([title, pick, stat]) => ({ title, stat, refs: VERSIONS.map((version) => [version, pick(metrics[version])] as const) }))
        .filter((g) => g.refs.every(([, ref]) => ref !== undefined))
        .map((g, i) => ({
            type: "metric",
            x: (i % 3) * 8,
            y: Math.floor(i / 3) * 6,
            width: 8,
            height: 6,
            properties: { title: g.title, region, view: "timeSeries", metrics: g.refs.map(([version, ref]) => line(ref as MetricRef, g.stat, version)) },
        }));
    return pulumi.jsonStringify({ widgets });
}
