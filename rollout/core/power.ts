/**
 * What a schedule can tell at a given traffic, before anything changes: the smallest 5xx,
 * slow-request and gate regressions caught with probability `1 - missRate`, and how long each step is
 * expected to take with a healthy canary (the last step before 100% bakes until acceptance).
 * Expected times use Wald's approximation (the evidence a healthy canary adds per second, its
 * drift, against the threshold), so they are estimates: `simulate --stack` measures them.
 */
import { RolloutSchedule } from "../../contract/schedule";
import { gatesOf } from "../../contract/gates";
import { caughtRate, drift, estimatedRate, formsOf, Judged } from "./evidence";
import { MinuteSample } from "./ports";
import { summedGates } from "./minutes";
import { FALLBACK_DISPERSION } from "./dispersion";

/**
 * Both versions' traffic: requests a second, the share answering 5xx and slower than
 * `slowRequestSeconds`, and, where known, each of the model's gates' trials per request and
 * events per trial (by gate id).
 */
export interface Traffic {
    requestsPerSecond: number;
    errorRate: number;
    slowShare: number;
    gates?: Record<string, { trialsPerRequest: number; rate: number }>;
}

/**
 * A rate as the forecasts take it: as measured, and where none was seen, the judge's estimate
 * (half an event over the requests), so a stable without a 5xx in its hours is planned at the rate
 * it will be judged at, not at 0, which no acceptance could be planned from.
 */
const measuredRate = (events: number, requests: number) => (events > 0 ? events / requests : estimatedRate(0, requests));

/** Both versions' traffic over some whole minutes, as the forecast reads it; undefined without a request. */
export function trafficOf(minutes: MinuteSample[]): Traffic | undefined {
    const versions = minutes.flatMap((m) => [m.versions.stable, m.versions.canary]);
    const sum = { requests: 0, errors: 0, slow: 0 };
    for (const v of versions) for (const k of ["requests", "errors", "slow"] as const) sum[k] += v?.[k] ?? 0;
    if (sum.requests === 0) return undefined;
    const { gates = {} } = summedGates(versions);
    const seconds = minutes.length * 60;
    return {
        requestsPerSecond: sum.requests / seconds,
        errorRate: measuredRate(sum.errors, sum.requests),
        slowShare: measuredRate(sum.slow, sum.requests),
        gates: Object.fromEntries(
            Object.entries(gates).map(([id, g]) => [
                id,
                { trialsPerRequest: g.requests / sum.requests, rate: g.requests > 0 ? measuredRate(g.events, g.requests) : 0 },
            ]),
        ),
    };
}

/**
 * What a step takes besides its bake: the weight's update (about 45 s, one resource), the
 * metrics' delay before the bake's first minute is visible (1-3 minutes for Lattice and
 * CloudWatch; 2 taken), and the rest of a whole minute.
 */
export const STEP_OVERHEAD_S = 45 + 120 + 60;
/**
 * What the rollout takes besides its steps: the canary's deploy waits for its model to load,
 * and so does the promoted stable before traffic returns to it (300 s each, the Fargate
 * default of `modelLoadSeconds`), with an update on each side.
 */
const DEPLOY_AND_PROMOTION_S = 2 * 300 + 2 * 45;

const pct = (x: number) => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`;
const minutes = (s: number) => `${Math.round(s / 60)} min`;

/** The rates a schedule judges at this traffic: 5xx, slow requests, and each gate whose traffic is known; and the gates whose is not. */
export function judgedRates(schedule: RolloutSchedule, traffic: Traffic): { rates: Judged[]; unknown: string[] } {
    const rps = traffic.requestsPerSecond;
    const tolerated = (percent: number) => 1 + percent / 100;
    const rates: Judged[] = [
        {
            id: "errors",
            name: "5xx",
            measure: "share",
            rate: traffic.errorRate,
            trialsPerSecond: rps,
            tolerated: tolerated(schedule.errorRateIncreasePercent),
            factor: schedule.detectErrorRateFactor,
            dispersion: schedule.errorDispersion ?? 1,
        },
        {
            id: "slow",
            name: "slow-request",
            measure: "share",
            rate: traffic.slowShare,
            trialsPerSecond: rps,
            tolerated: tolerated(schedule.slowRequestIncreasePercent),
            factor: schedule.detectSlowRequestFactor,
            dispersion: 1,
        },
    ];
    const unknown: string[] = [];
    for (const gate of gatesOf(schedule.gates)) {
        const seen = traffic.gates?.[gate.id];
        if (!seen || seen.trialsPerRequest <= 0) {
            unknown.push(gate.label);
            continue;
        }
        rates.push({
            id: gate.id,
            name: gate.label,
            measure: gate.measure,
            rate: seen.rate,
            trialsPerSecond: rps * seen.trialsPerRequest,
            tolerated: tolerated(gate.tolerancePercent),
            factor: gate.detectFactor,
            // Unset, as the rollout takes it when stable's hours cannot tell.
            dispersion: gate.dispersion ?? FALLBACK_DISPERSION[gate.measure],
        });
    }
    return { rates, unknown };
}

/** What a rate's acceptance promises: the smallest canary rate promoted at most missRate of the time, over the rollout and from the last step on. */
function promise(r: Judged, schedule: RolloutSchedule, lastStep: number): string {
    const margin = schedule.detectMarginPercent / 100;
    const missRate = schedule.missRate;
    if (r.measure === "rate") {
        const per = (x: number) => x.toFixed(1);
        return (
            `  ${r.name}: a canary at ${per(r.factor * r.rate)} or more (${r.factor}x stable's ${per(r.rate)}) is promoted at most ${pct(missRate)} of the time; ` +
            `so is one at ${per(lastStep * r.rate)} from the last step before 100% on`
        );
    }
    return (
        `  ${r.name}: a canary at ${pct(caughtRate(r, r.factor, margin))} or more (${r.factor}x stable's, or ${(100 * margin).toFixed(2)} point above) is promoted at most ${pct(missRate)} of the time; ` +
        `so is one at ${pct(caughtRate(r, lastStep, margin))} from the last step before 100% on`
    );
}

/** The report `run --dry-run` and `simulate --stack` print; `lastStep`: a budget's last-step factor per rate, by id. */
export function powerReport(schedule: RolloutSchedule, traffic: Traffic, source: string, lastStep: Record<string, number> = {}): string[] {
    const threshold = Math.log(2 / schedule.missRate);
    const { rates, unknown } = judgedRates(schedule, traffic);
    const lastStepOf = (r: Judged) => lastStep[r.id] ?? schedule.lastStepDetectFactor;
    const forms = formsOf(schedule);
    const lines = [
        `power at ${traffic.requestsPerSecond.toFixed(1)} requests a second, ${pct(traffic.errorRate)} 5xx, ${pct(traffic.slowShare)} slower than ${schedule.slowRequestSeconds === undefined ? "stable's 95th percentile" : `${schedule.slowRequestSeconds} s`} (${source}):`,
        ...rates.map((r) => promise(r, schedule, lastStepOf(r))),
        ...unknown.map((name) => `  ${name}: no trials in this traffic, so its power is unknown and the times below leave it out`),
    ];
    const bake = schedule.bakeSeconds;
    const evidence = rates.map(() => 0);
    const times: string[] = [];
    let total = 0;
    let decides = true;
    for (const weight of schedule.steps) {
        const forTraffic = schedule.minRequests / Math.max(1e-9, (traffic.requestsPerSecond * weight) / 100);
        let seconds = Math.max(bake, forTraffic);
        const isLast = weight < 100 && schedule.steps.find((w) => w > weight) === 100;
        if (isLast) {
            const needed = rates.map((r, i) => {
                const rollout = (threshold - evidence[i]) / drift(forms, r, r.factor, weight);
                const atStep = threshold / drift(forms, r, lastStepOf(r), weight);
                return Math.max(rollout, atStep);
            });
            seconds = Math.max(seconds, ...needed);
            if (seconds > bake + schedule.evidenceWaitSeconds) decides = false;
        }
        rates.forEach((r, i) => (evidence[i] += drift(forms, r, r.factor, weight) * seconds));
        times.push(
            `${weight}% ${Number.isFinite(seconds) ? minutes(seconds + STEP_OVERHEAD_S) : "never"}${isLast ? " (until the canary is shown within tolerance)" : ""}`,
        );
        total += seconds + STEP_OVERHEAD_S;
    }
    const whole = total + DEPLOY_AND_PROMOTION_S;
    lines.push(
        `  expected step times with a healthy canary: ${times.join(", ")}; about ${Number.isFinite(whole) ? minutes(whole) : "forever"} in all, with the canary's deploy and the promotion (a model load each)`,
    );
    lines.push(
        decides
            ? "  a healthy canary is expected to be accepted within the last step's bake and evidenceWaitSeconds"
            : `  this schedule cannot decide within its bounds at this traffic: a healthy canary would hold at the last step before 100% (bake + evidenceWaitSeconds = ${minutes(bake + schedule.evidenceWaitSeconds)}); raise evidenceWaitSeconds or that step's weight, or detect larger regressions`,
    );
    return lines;
}
