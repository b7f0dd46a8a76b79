/**
 * What a person and the rollout tooling watch: the canary's error-rate and latency
 * alarms, and a dashboard with stable and canary side by side. Backend-neutral: each
 * traffic backend says where its per-version request, error and latency metrics live.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AlarmConfig } from "../config/schema";
import { Version, VERSIONS } from "../../contract/versions";
import * as contract from "../../contract/outputs";
import { SERVER_METRIC_INFO } from "../compute/serverMetrics";

/** The latencies counted above a bound: the series of requests at most the bound, the whole histogram, and what to call it. */
const BOUNDED = [
    ["timeToFirstTokenWithin", "timeToFirstToken", "Time to first token"],
    ["requestTimeWithin", "requestTime", "Request time"],
] as const;
const SERVER_GRAPHS = Object.entries(SERVER_METRIC_INFO) as [keyof typeof SERVER_METRIC_INFO, (typeof SERVER_METRIC_INFO)[keyof typeof SERVER_METRIC_INFO]][];

type MetricRef = contract.Declared<contract.MetricRef>;
type VersionMetrics = contract.Declared<contract.VersionMetrics>;

export interface CanaryObservabilityArgs {
    /** Dashboard names are account-wide and not auto-named, so the caller makes it unique. */
    dashboardName: string;
    /** Who the alarms are about, as an on-call engineer reads it: the service and its stack. */
    service: string;
    /** What the dashboard shows besides the metrics and the alarms. */
    dashboard: Omit<DashboardExtras, "alarmArns">;
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
            {
                dashboardName: args.dashboardName,
                dashboardBody: dashboardBody(metrics, args.region, period, {
                    ...args.dashboard,
                    alarmArns: [this.errorRateAlarm.arn, this.latencyAlarm.arn, ...this.serverAlarms.map((a) => a.arn)],
                }),
            },
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

/** What the dashboard shows besides the versions' metrics. */
export interface DashboardExtras {
    /** The slow-request threshold the judge uses, in milliseconds. */
    slowMs: number;
    /** Each version's ECS service, for its running task count (Container Insights). */
    services: Record<Version, { clusterName: pulumi.Input<string>; serviceName: pulumi.Input<string> }>;
    /** The canary's alarms, whose states the dashboard shows. */
    alarmArns: pulumi.Input<string>[];
    /** The weight the rollout verified at the traffic layer, as it publishes it. */
    weightMetric: MetricRef;
    /** The application's counts the event gates judge (`rollout.gates.events`), each over its trials. */
    eventGates: { name: string; metric: string; trials: string }[];
}

/**
 * What an on-call engineer compares, stable against canary, three to a row: each version's
 * requests a minute; its 5xx and slow requests as a percentage of its own requests (a count
 * would show stable's ~19 times the canary's at a 5% split, however bad the canary); p99
 * request time (and time to first byte, where measured); running tasks; the canary alarms'
 * states; then the model server's own metrics and GPU utilisation where there are any. Every
 * axis says its unit.
 */
export function dashboardBody(metrics: Record<Version, VersionMetrics>, region: pulumi.Input<string>, period: number, extras: DashboardExtras) {
    const ref = (m: MetricRef, stat: string, options: Record<string, unknown>) => [
        m.namespace,
        m.metricName,
        ...Object.entries(m.dimensions).flat(),
        { stat, period, ...options },
    ];
    const latencyUnit = contract.msPerUnit(metrics.canary.latencyMs) === 1000 ? "s" : "ms";
    /** A line per version of `expression` over hidden series (ids suffixed by the version). */
    const ratio = (events: (v: VersionMetrics) => [MetricRef, string][]) =>
        VERSIONS.flatMap((version) => {
            const v = metrics[version];
            const parts = events(v).map(([m, stat], i) => ref(m, stat, { id: `e${i}_${version}`, visible: false }));
            const sum = parts.map((_, i) => `FILL(e${i}_${version}, 0)`).join(" + ");
            return [
                ref(v.requests, "Sum", { id: `r_${version}`, visible: false }),
                ...parts,
                [{ expression: `100 * (${sum}) / r_${version}`, label: version, id: `p_${version}` }],
            ];
        });
    const slowStat = (m: MetricRef) => `TC(${extras.slowMs / contract.msPerUnit(m)}:)`;
    /** A line per version of `expression` over two hidden series of its own, where both versions have both. */
    const share = (
        part: (v: VersionMetrics) => [MetricRef | undefined, string],
        whole: (v: VersionMetrics) => [MetricRef | undefined, string],
        expression: (part: string, whole: string) => string,
    ) =>
        VERSIONS.every((version) => part(metrics[version])[0] && whole(metrics[version])[0])
            ? VERSIONS.flatMap((version) => {
                  const [p, pStat] = part(metrics[version]);
                  const [w, wStat] = whole(metrics[version]);
                  return [
                      ref(p!, pStat, { id: `part_${version}`, visible: false }),
                      ref(w!, wStat, { id: `whole_${version}`, visible: false }),
                      [{ expression: expression(`part_${version}`, `whole_${version}`), label: version, id: `share_${version}` }],
                  ];
              })
            : undefined;
    const perVersion = (pick: (v: VersionMetrics) => MetricRef | undefined, stat: string) =>
        VERSIONS.every((version) => pick(metrics[version])) ? VERSIONS.map((version) => ref(pick(metrics[version])!, stat, { label: version })) : undefined;
    const graphs: { title: string; unit: string; lines?: unknown[] }[] = [
        {
            title: "Canary weight (as the rollout verified it)",
            unit: "% of requests",
            lines: [ref(extras.weightMetric, "Maximum", { label: "canary weight" })],
        },
        { title: "Requests", unit: "requests a minute", lines: perVersion((v) => v.requests, "Sum") },
        {
            title: "5xx rate",
            unit: "% of the version's requests",
            lines: ratio((v) => [[v.errors, "Sum"], ...(v.connectionErrors ? [[v.connectionErrors, "Sum"] as [MetricRef, string]] : [])]),
        },
        {
            title: `Slow requests (over ${extras.slowMs / 1000} s)`,
            unit: "% of the version's requests",
            lines: ratio((v) => [[v.latencyMs, slowStat(v.latencyMs)]]),
        },
        { title: "p99 request time", unit: latencyUnit, lines: perVersion((v) => v.latencyMs, "p99") },
        { title: "p99 time to first byte", unit: "ms", lines: perVersion((v) => v.firstByteMs, "p99") },
        {
            title: "Running tasks",
            unit: "tasks",
            lines: VERSIONS.map((version) => [
                "ECS/ContainerInsights",
                "RunningTaskCount",
                "ClusterName",
                extras.services[version].clusterName,
                "ServiceName",
                extras.services[version].serviceName,
                { stat: "Average", period, label: version },
            ]),
        },
        ...SERVER_GRAPHS.map(([key, info]) => ({ title: info.title, unit: info.unit, lines: perVersion((v) => v.server?.[key], info.stat) })),
        // The answers that ended for a reason, as a share of all answers.
        ...(
            [
                ["Answers cut off at max_tokens", "answersCutOff"],
                ["Answers aborted before they finished", "answersAborted"],
            ] as const
        ).map(([title, series]) => ({
            title,
            unit: "% of the version's answers",
            lines: share(
                (v) => [v.server?.[series], "Sum"],
                (v) => [v.server?.answers, "Sum"],
                (part, whole) => `100 * FILL(${part}, 0) / ${whole}`,
            ),
        })),
        {
            title: "Tokens per answer",
            unit: "tokens",
            lines: share(
                (v) => [v.server?.generatedTokens, "Sum"],
                (v) => [v.server?.answers, "Sum"],
                (part, whole) => `FILL(${part}, 0) / ${whole}`,
            ),
        },
        ...extras.eventGates.map((gate) => ({
            title: `${gate.name}: ${gate.metric} over ${gate.trials} (the application's)`,
            unit: "% of the version's trials",
            lines: share(
                (v) => [v.events?.[gate.metric], "Sum"],
                (v) => [v.events?.[gate.trials], "Sum"],
                (part, whole) => `100 * FILL(${part}, 0) / ${whole}`,
            ),
        })),
        ...BOUNDED.map(([within, whole, what]) => ({
            title: `${what} over ${metrics.canary.server?.[within]?.dimensions.Bound} s (the server's)`,
            unit: "% of the version's requests",
            // Requests at most the bound are the bound's series' SampleCount; the rest of the whole histogram's are above it.
            lines: share(
                (v) => [v.server?.[within], "SampleCount"],
                (v) => [v.server?.[whole], "SampleCount"],
                (atMost, all) => `100 * (${all} - FILL(${atMost}, 0)) / ${all}`,
            ),
        })),
    ];
    const metricWidgets = graphs
        .filter((g) => g.lines !== undefined)
        .map((g) => ({
            type: "metric",
            properties: { title: g.title, region, view: "timeSeries", metrics: g.lines, yAxis: { left: { label: g.unit, showUnits: false, min: 0 } } },
        }));
    const alarms = { type: "alarm", properties: { title: "Canary alarms", alarms: extras.alarmArns } };
    const widgets = [...metricWidgets.slice(0, 7), alarms, ...metricWidgets.slice(7)].map((w, i) => ({
        ...w,
        x: (i % 3) * 8,
        y: Math.floor(i / 3) * 6,
        width: 8,
        height: 6,
    }));
    return pulumi.jsonStringify({ widgets });
}
