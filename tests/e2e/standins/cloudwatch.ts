/**
 * The stand-in's CloudWatch: GetMetricData over the traffic model's expected counts for each
 * version's metrics the stacks export, and PutMetricData, kept for the tests to read.
 */
import { clock, named, readJson, readStack, readTraffic, StackState, weightAt, writeJson } from "./world";
import { AwsError } from "./awsError";

interface MetricQuery {
    Id: string;
    MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number; Stat: string };
}

/**
 * GetMetricData as the API reference describes it: `StartTime` is rounded down to the whole
 * minute (data under 15 days old), `EndTime` is exclusive, and each returned value is a
 * whole period's bucket timestamped at its start, a bucket still filling included. A
 * request's data arrives `delaySeconds` after it was served, so the newest buckets hold
 * part of their minute and the newest minutes none. Values are the traffic model's
 * expected counts (rounded), per version from the weights in force second by second; the
 * noisy, seeded draws that measure the gates are the benchmark's (`rollout/simulator/simulate.ts`).
 */
export function getMetricData(input: { MetricDataQueries: MetricQuery[]; StartTime: number; EndTime: number; ScanBy?: string }) {
    const traffic = readTraffic();
    const now = clock().now();
    const start = Math.floor((input.StartTime * 1000) / 60_000) * 60_000;
    const end = input.EndTime * 1000;
    const arrivedUntil = now - traffic.delaySeconds * 1000;
    const results = input.MetricDataQueries.map((q) => {
        const period = q.MetricStat.Period * 1000;
        if (period % 60_000 !== 0) throw new AwsError("InvalidParameterValue", "The parameter Period must be a multiple of 60.");
        const m = q.MetricStat.Metric;
        const dims = Object.fromEntries(m.Dimensions.map((d) => [d.Name, d.Value]));
        for (const [stackName, state] of named()) {
            const metrics =
                (
                    state.outputs as {
                        versionMetrics?: Record<
                            string,
                            Record<string, { namespace: string; metricName: string; dimensions: Record<string, string>; unit?: string }>
                        >;
                    }
                ).versionMetrics ?? {};
            for (const [version, fields] of Object.entries(metrics)) {
                for (const [field, ref] of Object.entries(fields)) {
                    if (ref.namespace !== m.Namespace || ref.metricName !== m.MetricName || JSON.stringify(ref.dimensions) !== JSON.stringify(dims)) continue;
                    const behaviour = traffic[version as "stable" | "canary"];
                    const stat = q.MetricStat.Stat;
                    const timestamps: number[] = [];
                    const values: number[] = [];
                    // A caller's request fails too when its call to a callee fails: at the callee's split that second.
                    const callees = (traffic.callers?.[stackName] ?? []).map(readStack).filter((c): c is StackState => c !== undefined);
                    const calleeErrorRate = (callee: StackState, t: number) => {
                        const w = weightAt(callee, t);
                        return (w * traffic.canary.errorRate + (100 - w) * traffic.stable.errorRate) / 100;
                    };
                    const errorRateAt = (t: number) => behaviour.errorRate + callees.reduce((sum, callee) => sum + calleeErrorRate(callee, t), 0);
                    for (let bucket = start; bucket < end; bucket += period) {
                        let requests = 0;
                        let errors = 0;
                        for (let t = bucket; t < Math.min(bucket + period, arrivedUntil); t += 1000) {
                            const w = weightAt(state, t);
                            const served = (traffic.requestsPerSecond * (version === "canary" ? w : 100 - w)) / 100;
                            requests += served;
                            errors += served * errorRateAt(t);
                        }
                        if (requests < 1) continue;
                        // A latency published in seconds (the ALB's TargetResponseTime) answers in seconds.
                        const msPerUnit = ref.unit === "Seconds" ? 1000 : 1;
                        const value =
                            stat === "Sum"
                                ? Math.round(field === "errors" ? errors : field === "connectionErrors" ? 0 : requests)
                                : /^TC\(\d+(\.\d+)?:\)$/.test(stat)
                                  ? Math.round(requests * behaviour.slowRate)
                                  : stat === "p99"
                                    ? behaviour.p99Ms / msPerUnit
                                    : NaN;
                        if (Number.isNaN(value)) throw new AwsError("InvalidParameterCombination", `the stand-in does not compute ${stat}`);
                        timestamps.push(bucket / 1000);
                        values.push(value);
                    }
                    if (input.ScanBy !== "TimestampAscending") {
                        timestamps.reverse();
                        values.reverse();
                    }
                    return { Id: q.Id, Values: values, Timestamps: timestamps, StatusCode: "Complete" };
                }
            }
        }
        return { Id: q.Id, Values: [], Timestamps: [], StatusCode: "Complete" };
    });
    return { MetricDataResults: results, Messages: [] };
}

/**
 * PutMetricData as the API reference describes it: a namespace that does not start with
 * "AWS/", and each datum's name and value; what was published is kept for the tests to read.
 */
export function putMetricData(input: { Namespace?: string; MetricData?: { MetricName?: string; Value?: number; Unit?: string }[] }) {
    if (!input.Namespace || input.Namespace.startsWith("AWS/"))
        throw new AwsError("InvalidParameterValue", "The value AWS/ for parameter Namespace is invalid.");
    const published = readJson<{ namespace: string; name: string; value: number; at: number }[]>("published-metrics.json", []);
    for (const datum of input.MetricData ?? [])
        published.push({ namespace: input.Namespace, name: String(datum.MetricName), value: Number(datum.Value), at: clock().now() });
    writeJson("published-metrics.json", published);
    return {};
}
