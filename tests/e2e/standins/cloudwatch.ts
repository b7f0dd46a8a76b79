/**
 * The stand-in's CloudWatch: GetMetricData over the traffic model's expected counts for each
 * version's metrics the stacks export, and PutMetricData, kept for the tests to read.
 */
import { clock, named, readJson, readStack, readTraffic, StackState, Traffic, weightAt, writeJson } from "./world";
import { evaluate } from "./metricMath";
import { serverSeries } from "./serverMetrics";
import { AwsError } from "./awsError";
import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");

interface MetricQuery {
    Id: string;
    MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number; Stat: string };
    Expression?: string;
    ReturnData?: boolean;
}
type Window = { start: number; end: number; arrivedUntil: number };
type Result = { timestamps: number[]; values: number[] };

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
    const window: Window = {
        start: Math.floor((input.StartTime * 1000) / 60_000) * 60_000,
        end: input.EndTime * 1000,
        arrivedUntil: now - traffic.delaySeconds * 1000,
    };
    const byId = new Map<string, Result>();
    for (const q of input.MetricDataQueries) {
        if (q.MetricStat) byId.set(q.Id, statOf(q.MetricStat, window, traffic));
        else if (q.Expression) {
            const series = Object.fromEntries([...byId].map(([id, r]) => [id, new Map(r.timestamps.map((t, i) => [t, r.values[i]]))]));
            const evaluated = [...evaluate(q.Expression, series)];
            byId.set(q.Id, { timestamps: evaluated.map(([t]) => t), values: evaluated.map(([, v]) => v) });
        } else throw new AwsError("ValidationError", `query ${q.Id} has neither MetricStat nor Expression`);
    }
    const results = input.MetricDataQueries.filter((q) => q.ReturnData !== false).map((q) => {
        const { timestamps, values } = byId.get(q.Id)!;
        const descending = input.ScanBy !== "TimestampAscending";
        return {
            Id: q.Id,
            Values: descending ? [...values].reverse() : values,
            Timestamps: descending ? [...timestamps].reverse() : timestamps,
            StatusCode: "Complete",
        };
    });
    return { MetricDataResults: results, Messages: [] };
}

/** One metric's statistic per period, from the traffic model: the traffic layer's metrics, or the model server's (`serverMetrics.ts`). */
function statOf(stat: NonNullable<MetricQuery["MetricStat"]>, window: Window, traffic: Traffic): Result {
    const period = stat.Period * 1000;
    if (period % 60_000 !== 0) throw new AwsError("InvalidParameterValue", "The parameter Period must be a multiple of 60.");
    const m = stat.Metric;
    const dims = Object.fromEntries(m.Dimensions.map((d) => [d.Name, d.Value]));
    for (const [stackName, state] of named()) {
        const metrics = (state.outputs as { versionMetrics?: Record<string, Record<string, unknown>> }).versionMetrics ?? {};
        for (const [version, fields] of Object.entries(metrics)) {
            const server = (fields.server ?? {}) as Record<string, MetricRef>;
            if (Object.values(server).some((ref) => matches(ref, m.Namespace, m.MetricName, dims))) {
                const found = serverSeries(state, version as "stable" | "canary", m.MetricName, dims, stat.Stat, { ...window, period }, traffic);
                if (found) return found;
            }
            // The application's own counts (EMF in the version's log group): as it publishes them.
            for (const [name, ref] of Object.entries((fields.events ?? {}) as Record<string, MetricRef>)) {
                if (matches(ref, m.Namespace, m.MetricName, dims))
                    return trafficSeries(stackName, state, version, `event:${name}`, ref, stat.Stat, { ...window, period }, traffic);
            }
            for (const [field, ref] of Object.entries(fields as Record<string, MetricRef>)) {
                if (field === "server" || field === "events" || !matches(ref, m.Namespace, m.MetricName, dims)) continue;
                return trafficSeries(stackName, state, version, field, ref, stat.Stat, { ...window, period }, traffic);
            }
        }
    }
    return { timestamps: [], values: [] };
}

type MetricRef = { namespace: string; metricName: string; dimensions: Record<string, string>; unit?: string };
const matches = (ref: MetricRef, namespace: string, metricName: string, dims: Record<string, string>) =>
    ref.namespace === namespace && ref.metricName === metricName && JSON.stringify(ref.dimensions) === JSON.stringify(dims);

/**
 * A version's request time at a percentile: its p99 as the traffic model gives it, other
 * percentiles as a lognormal request time with a log-spread of 0.5 would have them (the rollout
 * reads stable's p95 to place an unpinned slow-request threshold).
 */
const percentileMs = (p99Ms: number, percentile: number) => p99Ms * Math.exp(0.5 * (normalQuantile(percentile / 100, 0, 1) - normalQuantile(0.99, 0, 1)));

/**
 * A traffic-layer metric per period: requests, 5xx, a latency's p99 or its count over a threshold,
 * per version from the weights in force second by second; or an application count (`event:<name>`):
 * a count the behaviour gives a share of the answers for (`events`), else the answers themselves.
 */
function trafficSeries(
    stackName: string,
    state: StackState,
    version: string,
    field: string,
    ref: MetricRef,
    stat: string,
    window: Window & { period: number },
    traffic: Traffic,
): Result {
    const behaviour = traffic[version as "stable" | "canary"];
    const timestamps: number[] = [];
    const values: number[] = [];
    // A caller's request fails too when its call to a callee fails: at the callee's split that second.
    const callees = (traffic.callers?.[stackName] ?? []).map(readStack).filter((c): c is StackState => c !== undefined);
    const calleeErrorRate = (callee: StackState, t: number) => {
        const w = weightAt(callee, t);
        return (w * traffic.canary.errorRate + (100 - w) * traffic.stable.errorRate) / 100;
    };
    const errorRateAt = (t: number) => behaviour.errorRate + callees.reduce((sum, callee) => sum + calleeErrorRate(callee, t), 0);
    for (let bucket = window.start; bucket < window.end; bucket += window.period) {
        let requests = 0;
        let errors = 0;
        for (let t = bucket; t < Math.min(bucket + window.period, window.arrivedUntil); t += 1000) {
            const w = weightAt(state, t);
            const served = (traffic.requestsPerSecond * (version === "canary" ? w : 100 - w)) / 100;
            requests += served;
            errors += served * errorRateAt(t);
        }
        if (requests < 1) continue;
        // A latency published in seconds (the ALB's TargetResponseTime) answers in seconds.
        const msPerUnit = ref.unit === "Seconds" ? 1000 : 1;
        const event = field.startsWith("event:") ? field.slice(6) : undefined;
        const sum =
            event !== undefined
                ? (requests - errors) * (behaviour.events?.[event] ?? 1)
                : field === "errors"
                  ? errors
                  : field === "connectionErrors"
                    ? 0
                    : requests;
        const value =
            stat === "Sum"
                ? Math.round(sum)
                : /^TC\(\d+(\.\d+)?:\)$/.test(stat)
                  ? Math.round(requests * behaviour.slowRate)
                  : /^p\d+(\.\d+)?$/.test(stat)
                    ? percentileMs(behaviour.p99Ms, Number(stat.slice(1))) / msPerUnit
                    : NaN;
        if (Number.isNaN(value)) throw new AwsError("InvalidParameterCombination", `the stand-in does not compute ${stat}`);
        timestamps.push(bucket / 1000);
        values.push(value);
    }
    return { timestamps, values };
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
