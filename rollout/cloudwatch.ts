/**
 * The metrics port on CloudWatch: each version's requests, 5xx and p99 from wherever the
 * stack's traffic backend publishes them (the stack output `versionMetrics` says where),
 * and the state of the stack's canary alarms. The query building is a pure function.
 */
import {
    CloudWatchClient,
    DescribeAlarmsCommand,
    GetMetricDataCommand,
    MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import { Version, VERSIONS } from "../mesh/config/schema";
import type { MetricRef, VersionMetrics } from "../mesh/contract";
import { MetricsSample, MetricsSource, MetricsWindow, VersionSample } from "./ports";

/** How a sample counts slow requests: above this many milliseconds of this latency. */
export interface SlowRequests {
    thresholdMs: number;
    metric: "latencyMs" | "firstByteMs";
}

/** What each version's sample needs: its statistic, and the metric it is read from. */
const QUERIES = (slow: SlowRequests) =>
    ({
        requests: { metric: "requests", stat: "Sum" },
        errors: { metric: "errors", stat: "Sum" },
        // Trimmed count above a value: the requests slower than the threshold (needs one value per request, as metric filters publish).
        slow: { metric: slow.metric, stat: `TC(${slow.thresholdMs}:)` },
        latencyMs: { metric: "latencyMs", stat: "p99" },
    }) as const;
type Field = keyof ReturnType<typeof QUERIES>;

/** One period covering the whole window (CloudWatch periods are multiples of 60 s). */
export const periodFor = (window: MetricsWindow) => Math.max(60, Math.ceil((window.end - window.start) / 60000) * 60);

/** GetMetricData queries for both versions: ids `<version>_<field>`. */
export function metricQueries(metrics: Record<Version, VersionMetrics>, window: MetricsWindow, slow: SlowRequests): MetricDataQuery[] {
    const period = periodFor(window);
    const queries = QUERIES(slow);
    return VERSIONS.flatMap((version) =>
        (Object.keys(queries) as Field[]).map((field) => {
            const m: MetricRef | undefined = metrics[version][queries[field].metric];
            if (!m) throw new Error(`the stack publishes no ${queries[field].metric} metric for the ${version} version`);
            return {
                Id: `${version}_${field}`,
                ReturnData: true,
                MetricStat: {
                    Metric: {
                        Namespace: m.namespace,
                        MetricName: m.metricName,
                        Dimensions: Object.entries(m.dimensions).map(([Name, Value]) => ({ Name, Value: String(Value) })),
                    },
                    Period: period,
                    Stat: queries[field].stat,
                },
            };
        }),
    );
}

export class CloudWatchMetrics implements MetricsSource {
    constructor(
        private readonly client: Pick<CloudWatchClient, "send">,
        private readonly metrics: Record<Version, VersionMetrics>,
        private readonly alarmNames: string[],
        private readonly slow: SlowRequests,
    ) {}

    async sample(window: MetricsWindow): Promise<MetricsSample> {
        const data = await this.client.send(
            new GetMetricDataCommand({
                MetricDataQueries: metricQueries(this.metrics, window, this.slow),
                StartTime: new Date(window.start),
                EndTime: new Date(window.end),
                ScanBy: "TimestampDescending",
            }),
        );
        // A missing series means no data points: no requests, not an error. If the window
        // straddles two periods, counts add up; percentiles do not, so the worse one stands.
        const values = (id: string) => data.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
        const sum = (id: string) => Math.round(values(id).reduce((a, b) => a + b, 0));
        const worst = (id: string) => (values(id).length ? Math.max(...values(id)) : undefined);
        const versions = {} as Record<Version, VersionSample>;
        for (const version of VERSIONS) {
            versions[version] = {
                requests: sum(`${version}_requests`),
                errors: sum(`${version}_errors`),
                slow: sum(`${version}_slow`),
                p99Ms: worst(`${version}_latencyMs`),
            };
        }
        const alarms = await this.client.send(new DescribeAlarmsCommand({ AlarmNames: this.alarmNames }));
        const firingAlarms = (alarms.MetricAlarms ?? []).filter((a) => a.StateValue === "ALARM").map((a) => a.AlarmName ?? "?");
        return { window, versions, firingAlarms };
    }
}
