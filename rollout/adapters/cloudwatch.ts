/**
 * The metrics port on CloudWatch: each version's requests, 5xx, slow requests and p99 a
 * minute, from wherever the stack's traffic backend publishes them (the stack output
 * `versionMetrics` says where), the counts of the model's gates from the server's per-minute
 * series, and the state of the stack's canary alarms. The query
 * building is a pure function.
 */
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, MetricDataQuery, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { Version, VERSIONS } from "../../contract/versions";
import { MetricRef, msPerUnit, VersionMetrics } from "../../contract/outputs";
import { CountSource, GateSpec } from "../../contract/gates";
import { GateCounts, MetricsSource, MetricsWindow, MinuteSample, VersionSample } from "../core/ports";
import { MINUTE_MS } from "../core/minutes";
import type { StablePercentile } from "../core/threshold";

/** How a sample counts slow requests: above this many milliseconds of this latency. */
export interface SlowRequests {
    thresholdMs: number;
    metric: "latencyMs" | "firstByteMs";
}

/** What each version's sample needs: its statistic, and the metric it is read from. */
const QUERIES = {
    requests: { metric: "requests", stat: () => "Sum" },
    errors: { metric: "errors", stat: () => "Sum" },
    // Trimmed count above a value: the requests slower than the threshold, in the metric's own unit.
    slow: { metric: "latency", stat: (m: MetricRef, slow: SlowRequests) => `TC(${slow.thresholdMs / msPerUnit(m)}:)` },
    latencyMs: { metric: "latencyMs", stat: () => "p99" },
    connectionErrors: { metric: "connectionErrors", stat: () => "Sum" },
} as const;
type Field = keyof typeof QUERIES;

const statQuery = (id: string, m: MetricRef, stat: string, periodSeconds = MINUTE_MS / 1000): MetricDataQuery => ({
    Id: id,
    ReturnData: true,
    MetricStat: {
        Metric: {
            Namespace: m.namespace,
            MetricName: m.metricName,
            Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value: String(Value) })),
        },
        Period: periodSeconds,
        Stat: stat,
    },
});

/** The parts of a gate's counts, by query id suffix: its trials, and its events or the trials that were not. */
const gateParts = (gate: GateSpec): [string, CountSource][] => [["trials", gate.trials], ...(Object.entries(gate.counted) as [string, CountSource][])];

/** The metric and statistic a gate's count is read from, for a version; undefined when the stack does not publish it. */
function sourceOf(metrics: VersionMetrics, source: CountSource): { m?: MetricRef; stat: string; what: string } {
    return "event" in source
        ? { m: metrics.events?.[source.event], stat: "Sum", what: `application metric ${source.event}` }
        : { m: metrics.server?.[source.series], stat: source.stat, what: `model server's ${source.series} series` };
}

/**
 * GetMetricData queries for both versions, one bucket a minute: ids `<version>_<field>`, and
 * `<version>_<gate>_<part>` for the model's gates; a series the backend does not publish is
 * left out where it may be.
 */
export function metricQueries(metrics: Record<Version, VersionMetrics>, slow: SlowRequests, gates: GateSpec[] = []): MetricDataQuery[] {
    return VERSIONS.flatMap((version) => [
        ...(Object.keys(QUERIES) as Field[]).flatMap((field) => {
            const metric = QUERIES[field].metric === "latency" ? slow.metric : QUERIES[field].metric;
            const m: MetricRef | undefined = metrics[version][metric];
            if (!m && field === "connectionErrors") return [];
            if (!m) throw new Error(`the stack publishes no ${metric} metric for the ${version} version`);
            return statQuery(`${version}_${field}`, m, QUERIES[field].stat(m, slow));
        }),
        ...gates.flatMap((gate) =>
            gateParts(gate).map(([part, source]) => {
                const { m, stat, what } = sourceOf(metrics[version], source);
                if (!m) throw new Error(`${gate.key} reads the ${what}, which the stack does not publish for the ${version} version: deploy it first`);
                return statQuery(`${version}_${gate.id}_${part}`, m, stat);
            }),
        ),
    ]);
}

/** A gate's counts in a minute: its trials, and its events (or its trials less its good ones, never below 0). */
function gateCounts(gate: GateSpec, at: (part: string) => number | undefined): GateCounts {
    const requests = Math.round(at("trials") ?? 0);
    const events = "events" in gate.counted ? Math.round(at("events") ?? 0) : Math.max(0, requests - Math.round(at("good") ?? 0));
    return { events, requests };
}

export class CloudWatchMetrics implements MetricsSource {
    constructor(
        private readonly client: Pick<CloudWatchClient, "send">,
        private readonly metrics: Record<Version, VersionMetrics>,
        private readonly alarmNames: string[],
        private readonly slow: SlowRequests,
        private readonly gates: GateSpec[] = [],
    ) {}

    /**
     * One bucket a minute: `StartTime` and `EndTime` on whole minutes, so CloudWatch's
     * rounding moves neither and each bucket is its own minute (`minutes.ts` decides which
     * are complete). A version's minute without a request count is one CloudWatch has no
     * data for; its other series default to 0 there.
     */
    async minutes(range: MetricsWindow): Promise<MinuteSample[]> {
        if (range.start % MINUTE_MS !== 0 || range.end % MINUTE_MS !== 0) throw new Error("metric reads must start and end on whole minutes");
        const results = new Map<string, Map<number, number>>();
        let nextToken: string | undefined;
        do {
            const page = await this.client.send(
                new GetMetricDataCommand({
                    MetricDataQueries: metricQueries(this.metrics, this.slow, this.gates),
                    StartTime: new Date(range.start),
                    EndTime: new Date(range.end),
                    ScanBy: "TimestampAscending",
                    NextToken: nextToken,
                }),
            );
            for (const r of page.MetricDataResults ?? []) {
                const byMinute = results.get(r.Id ?? "") ?? new Map<number, number>();
                (r.Timestamps ?? []).forEach((t, i) => byMinute.set(new Date(t).getTime(), r.Values?.[i] ?? 0));
                results.set(r.Id ?? "", byMinute);
            }
            nextToken = page.NextToken;
        } while (nextToken);
        const at = (id: string, start: number) => results.get(id)?.get(start);
        const bucket = (version: Version, start: number): VersionSample | undefined => {
            const requests = at(`${version}_requests`, start);
            if (requests === undefined) return undefined;
            const p99 = at(`${version}_latencyMs`, start);
            const p99Ms = p99 === undefined ? undefined : p99 * msPerUnit(this.metrics[version].latencyMs);
            return {
                requests: Math.round(requests),
                errors: Math.round((at(`${version}_errors`, start) ?? 0) + (at(`${version}_connectionErrors`, start) ?? 0)),
                slow: Math.round(at(`${version}_slow`, start) ?? 0),
                ...(p99Ms !== undefined ? { p99Ms } : {}),
                ...(this.gates.length
                    ? { gates: Object.fromEntries(this.gates.map((g) => [g.id, gateCounts(g, (part) => at(`${version}_${g.id}_${part}`, start))])) }
                    : {}),
            };
        };
        const out: MinuteSample[] = [];
        for (let start = range.start; start < range.end; start += MINUTE_MS) {
            out.push({ start, versions: { stable: bucket("stable", start), canary: bucket("canary", start) } });
        }
        return out;
    }

    async firingAlarms(): Promise<string[]> {
        const alarms = await this.client.send(new DescribeAlarmsCommand({ AlarmNames: this.alarmNames }));
        return (alarms.MetricAlarms ?? []).filter((a) => a.StateValue === "ALARM").map((a) => a.AlarmName ?? "?");
    }
}

/**
 * Stable's request time at a percentile over a whole window: one bucket of CloudWatch's
 * percentile statistic (`p95`) over the window, in milliseconds; undefined without data.
 */
export function stablePercentile(client: Pick<CloudWatchClient, "send">, latency: MetricRef): StablePercentile {
    return async (percentile, window) => {
        const page = await client.send(
            new GetMetricDataCommand({
                MetricDataQueries: [statQuery("stable_percentile", latency, `p${percentile}`, (window.end - window.start) / 1000)],
                StartTime: new Date(window.start),
                EndTime: new Date(window.end),
            }),
        );
        const value = page.MetricDataResults?.[0]?.Values?.[0];
        return value === undefined ? undefined : value * msPerUnit(latency);
    };
}

/** Publishes the weight the rollout verified, where the stack's dashboard graphs it (`weightMetric`). */
export class WeightMetric {
    constructor(
        private readonly client: Pick<CloudWatchClient, "send">,
        private readonly metric: MetricRef,
    ) {}

    async publish(weight: number): Promise<void> {
        await this.client.send(
            new PutMetricDataCommand({
                Namespace: this.metric.namespace,
                MetricData: [
                    {
                        MetricName: this.metric.metricName,
                        Dimensions: Object.entries(this.metric.dimensions).map(([Name, Value]) => ({ Name, Value })),
                        Value: weight,
                        Unit: "Percent",
                    },
                ],
            }),
        );
    }
}
