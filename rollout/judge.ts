/**
 * The gates: one pure function from a schedule and a metrics sample to a verdict.
 * "Not enough data" is its own verdict: too little traffic proves nothing either way.
 */
import { RolloutSchedule } from "./schedule";
import { MetricsSample, VersionSample } from "./ports";

export type Verdict =
    | { kind: "pass" }
    | { kind: "fail"; reason: string }
    | { kind: "insufficient"; reason: string };

export const errorRate = (v: VersionSample) => (v.requests > 0 ? (100 * v.errors) / v.requests : 0);

const pct = (x: number) => `${x.toFixed(2)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function judge(schedule: RolloutSchedule, sample: MetricsSample): Verdict {
    if (sample.firingAlarms.length > 0) {
        return { kind: "fail", reason: `alarm firing: ${sample.firingAlarms.join(", ")}` };
    }
    const { canary, stable } = sample.versions;
    if (canary.requests < schedule.minRequests) {
        return { kind: "insufficient", reason: `canary served ${canary.requests} requests; ${schedule.minRequests} needed to judge` };
    }
    const canaryRate = errorRate(canary);
    if (canaryRate > schedule.maxErrorRatePercent) {
        return { kind: "fail", reason: `canary 5xx rate ${pct(canaryRate)} is above ${pct(schedule.maxErrorRatePercent)}` };
    }
    const maxP99Ms = schedule.maxP99LatencySeconds * 1000;
    if (canary.p99Ms !== undefined && canary.p99Ms > maxP99Ms) {
        return { kind: "fail", reason: `canary p99 ${secs(canary.p99Ms)} is above ${secs(maxP99Ms)}` };
    }
    // Comparing against stable only means something when stable has data too.
    if (stable.requests >= schedule.minRequests) {
        const stableRate = errorRate(stable);
        if (canaryRate - stableRate > schedule.maxErrorRateIncreasePoints) {
            return {
                kind: "fail",
                reason: `canary 5xx rate ${pct(canaryRate)} exceeds stable's ${pct(stableRate)} by more than ${schedule.maxErrorRateIncreasePoints} points`,
            };
        }
        if (canary.p99Ms !== undefined && stable.p99Ms !== undefined) {
            const limit = stable.p99Ms * (1 + schedule.maxLatencyIncreasePercent / 100);
            if (canary.p99Ms > limit) {
                return {
                    kind: "fail",
                    reason: `canary p99 ${secs(canary.p99Ms)} exceeds stable's ${secs(stable.p99Ms)} by more than ${schedule.maxLatencyIncreasePercent}%`,
                };
            }
        }
    }
    return { kind: "pass" };
}
