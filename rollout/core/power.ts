/**
 * What a schedule can tell at a given traffic, before anything changes: the smallest 5xx and
 * slow-request regressions caught with probability `1 - missRate`, and how long each step is
 * expected to take with a healthy canary (the last step before 100% bakes until acceptance).
 * Expected times use Wald's approximation (the evidence a healthy canary adds per second, its
 * drift, against the threshold), so they are estimates: `simulate --stack` measures them.
 */
import { LAST_STEP_FACTOR } from "./judge";
import { RolloutSchedule } from "../../contract/schedule";

/** Both versions' traffic: requests a second, and the share answering 5xx and slower than `slowRequestSeconds`. */
export interface Traffic {
    requestsPerSecond: number;
    errorRate: number;
    slowShare: number;
}

/**
 * What a step takes besides its bake: the weight's update (about 45 s, one resource), the
 * metrics' delay before the bake's first minute is visible (1-3 minutes for Lattice and
 * CloudWatch; 2 taken), and the rest of a whole minute.
 */
const STEP_OVERHEAD_S = 45 + 120 + 60;
/**
 * What the rollout takes besides its steps: the canary's deploy waits for its model to load,
 * and so does the promoted stable before traffic returns to it (300 s each, the Fargate
 * default of `modelLoadSeconds`), with an update on each side.
 */
const DEPLOY_AND_PROMOTION_S = 2 * 300 + 2 * 45;

const pct = (x: number) => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`;
const minutes = (s: number) => `${Math.round(s / 60)} min`;

/**
 * The evidence a healthy canary adds per second, in nats, at weight `w` (percent), towards
 * accepting "not `factor` times stable's rate": the faster of the two forms the judge runs
 * (the ratio of both versions' events, and the canary's rate against stable's plus the margin).
 */
function drift(rate: number, tolerated: number, factor: number, margin: number, weight: number, rps: number): number {
    const w = weight / 100;
    if (w <= 0 || w >= 1) return 0;
    // The ratio form learns only from events: a service with none gives it nothing.
    const share = (r: number) => (r * w) / (r * w + 1 - w);
    const [q0, q1] = [share(tolerated), share(factor)];
    const byRatio = rate > 0 ? rps * rate * (w * Math.log(q0 / q1) + (1 - w) * Math.log((1 - q0) / (1 - q1))) : 0;
    // The margin form: each canary request against stable's rate plus the margin. Stable's measured rate tends to
    // its true one, 0 included (the judge's estimate, (events + 0.5) / (requests + 1), is above 0 but vanishes).
    const [p0, p1] = [tolerated * rate, Math.min(0.99, rate + margin)];
    const events = rate > 0 ? rate * Math.log(p0 / p1) : 0;
    const perRequest = p1 > p0 ? events + (1 - rate) * Math.log((1 - p0) / (1 - p1)) : 0;
    return Math.max(byRatio, rps * w * perRequest);
}

/** The report `run --dry-run` and `simulate --stack` print. */
export function powerReport(schedule: RolloutSchedule, traffic: Traffic, source: string): string[] {
    const threshold = Math.log(2 / schedule.missRate);
    const margin = schedule.detectMarginPercent / 100;
    const rates = [
        { name: "5xx", rate: traffic.errorRate, tolerated: 1 + schedule.errorRateIncreasePercent / 100, factor: schedule.detectErrorRateFactor },
        { name: "slow-request", rate: traffic.slowShare, tolerated: 1 + schedule.slowRequestIncreasePercent / 100, factor: schedule.detectSlowRequestFactor },
    ];
    const lines = [
        `power at ${traffic.requestsPerSecond.toFixed(1)} requests a second, ${pct(traffic.errorRate)} 5xx, ${pct(traffic.slowShare)} slower than ${schedule.slowRequestSeconds} s (${source}):`,
        ...rates.map(
            (r) =>
                `  ${r.name}: a canary at ${pct(Math.max(r.factor * r.rate, r.rate + margin))} or more (${r.factor}x stable's, or ${(100 * margin).toFixed(2)} point above) is promoted at most ${pct(schedule.missRate)} of the time; ` +
                `so is one at ${pct(Math.max(LAST_STEP_FACTOR * r.rate, r.rate + margin))} from the last step before 100% on`,
        ),
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
                const rollout = (threshold - evidence[i]) / drift(r.rate, r.tolerated, r.factor, margin, weight, traffic.requestsPerSecond);
                const atStep = threshold / drift(r.rate, r.tolerated, LAST_STEP_FACTOR, margin, weight, traffic.requestsPerSecond);
                return Math.max(rollout, atStep);
            });
            seconds = Math.max(seconds, ...needed);
            if (seconds > bake + schedule.evidenceWaitSeconds) decides = false;
        }
        rates.forEach((r, i) => (evidence[i] += drift(r.rate, r.tolerated, r.factor, margin, weight, traffic.requestsPerSecond) * seconds));
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
