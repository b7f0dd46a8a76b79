/**
 * A rollout within a time budget (`rollout.budgetSeconds`): before the first step, at the
 * traffic stable had, the smallest regression of each rate the rollout can promise to catch
 * (promote at most `missRate` of the time) while a healthy canary is still accepted within
 * the budget, and the schedule that holds those promises.
 *
 * The budget runs from the first weight above 0 to the decision to promote. The steps before
 * the last one before 100% take their bake (or the time `minRequests` needs), each with
 * `STEP_OVERHEAD_S`; the last one before 100% gets the rest, and bakes until every rate is
 * accepted or the budget ends (it replaces `evidenceWaitSeconds`).
 *
 * A rate's acceptance by a time is estimated from the evidence a healthy canary gathers: the
 * log likelihood ratio of each acceptance form (`sequential.ts`) is a sum over events (the
 * ratio of both versions' events) or over the canary's trials (its own rate against stable's),
 * whose mean M and variance V over the planned steps give a chance of reaching the threshold
 * log(2 / missRate) of about Φ((M - threshold) / √V) (a sum that reaches it at the end has
 * crossed it; one that crossed earlier counts too, so this is on the safe side). Every rate
 * must be accepted, so each is planned for 1 - (1 - `HEALTHY_ACCEPTED`) / k, k rates. The
 * smallest factor that reaches it is the rate's promise; it replaces the configured detect
 * factor when it is larger. `simulate --stack` measures what these estimates promise.
 */
import normalCdf = require("@stdlib/stats-base-dists-normal-cdf");
import { RolloutSchedule } from "../../contract/schedule";
import { tuningOf } from "../../contract/gates";
import { judgedRates, STEP_OVERHEAD_S, Traffic } from "./power";
import { caughtRate, Form, formsOf, Judged } from "./evidence";

/** The share of healthy canaries a budget is planned to accept within it, all rates together. */
export const HEALTHY_ACCEPTED = 0.95;
/** The weights the plan compares for its last step before 100%. */
const SHAPES = [25, 50, 75];
/** The largest factor searched for a rate per trial: beyond it a rate is taken to promise nothing (a share's is where it reaches 99%). */
const MOST = 1000;

/** Time spent at a weight, in seconds, judged towards acceptance. */
export interface Segment {
    weight: number;
    seconds: number;
}

/** The chance that a healthy canary's acceptance of `factor` for a rate is reached over the segments, by the better of the forms (each at half the miss rate). */
export function acceptedChance(r: Judged, factor: number, segments: Segment[], forms: Form[], missRate: number): number {
    const threshold = Math.log(2 / missRate);
    return Math.max(
        ...forms.map((form) => {
            let mean = 0;
            let variance = 0;
            for (const s of segments) {
                const m = form(r, factor, s.weight);
                mean += m.mean * s.seconds;
                variance += m.variance * s.seconds;
            }
            return variance > 0 ? normalCdf((mean - threshold) / Math.sqrt(variance), 0, 1) : mean >= threshold ? 1 : 0;
        }),
    );
}

/**
 * The smallest factor, at least `least`, whose acceptance a healthy canary reaches with chance
 * `chance`; Infinity when none does up to `MOST` (a share: up to a canary rate of 99%, so a rare
 * event, stable's rate a fraction of a per mille, still gets its promise, in points).
 */
export function smallestPromise(r: Judged, least: number, segments: Segment[], forms: Form[], missRate: number, chance: number): number {
    const reaches = (f: number) => acceptedChance(r, f, segments, forms, missRate) >= chance;
    if (reaches(least)) return least;
    const most = r.measure === "share" && r.rate > 0 ? Math.max(MOST, 0.99 / r.rate) : MOST;
    if (!reaches(most)) return Infinity;
    let [lo, hi] = [least, most];
    // Bisection on the log of the factor, to two significant figures.
    while (hi / lo > 1.01) {
        const mid = Math.sqrt(lo * hi);
        if (reaches(mid)) hi = mid;
        else lo = mid;
    }
    return Math.round(hi * 10) / 10;
}

/** The time each step before 100% is judged within a budget: the ramp steps their bake (or what minRequests needs), the last one the rest. */
export function segmentsWithin(schedule: RolloutSchedule, requestsPerSecond: number, budgetSeconds: number): { ramp: Segment[]; last: Segment } {
    const before = schedule.steps.filter((w) => w < 100);
    const ramp = before.slice(0, -1).map((weight) => ({
        weight,
        seconds: Math.max(schedule.bakeSeconds, schedule.minRequests / Math.max(1e-9, (requestsPerSecond * weight) / 100)),
    }));
    const spent = ramp.reduce((t, s) => t + s.seconds + STEP_OVERHEAD_S, 0) + STEP_OVERHEAD_S;
    return { ramp, last: { weight: before.at(-1)!, seconds: Math.max(0, budgetSeconds - spent) } };
}

/** Each rate's promise within a budget: over the rollout, and on the last step's own data. */
export interface RatePromise {
    rate: Judged;
    rollout: number;
    lastStep: number;
}

export function promisesWithin(
    schedule: RolloutSchedule,
    traffic: Traffic,
    budgetSeconds: number,
): { promises: RatePromise[]; unknown: string[]; lastSeconds: number } {
    const { rates, unknown } = judgedRates(schedule, traffic);
    const { ramp, last } = segmentsWithin(schedule, traffic.requestsPerSecond, budgetSeconds);
    const forms = formsOf({ ...schedule, budgetSeconds });
    const chance = 1 - (1 - HEALTHY_ACCEPTED) / rates.length;
    const promises = rates.map((rate) => ({
        rate,
        rollout: smallestPromise(rate, rate.factor, [...ramp, last], forms, schedule.missRate, chance),
        lastStep: smallestPromise(rate, schedule.lastStepDetectFactor, [last], forms, schedule.missRate, chance),
    }));
    return { promises, unknown, lastSeconds: last.seconds };
}

/** Each rate's promise as the report repeats it beside what was observed: the factor, at stable's rate before the first step. */
export interface Promised {
    id: string;
    name: string;
    measure: Judged["measure"];
    factor: number;
    stableRate: number;
}

/** The canary's part of what arrives at `perSecond` over the segments. */
const canaryPart = (segments: Segment[], perSecond: number) => segments.reduce((n, s) => n + (s.weight / 100) * perSecond * s.seconds, 0);

/** The schedule that holds the promises: each detect factor raised to its promise, the last step's wait to the budget's rest (each rate's last-step factor is the plan's `lastStep`). */
function holding(schedule: RolloutSchedule, promises: RatePromise[], lastSeconds: number): RolloutSchedule {
    const held = structuredClone(schedule);
    for (const { rate, rollout } of promises) {
        if (rate.id === "errors") held.detectErrorRateFactor = rollout;
        else if (rate.id === "slow") held.detectSlowRequestFactor = rollout;
        else {
            const gate = tuningOf(held.gates, rate.id) as { detectFactor: number };
            gate.detectFactor = rollout;
        }
    }
    held.evidenceWaitSeconds = Math.max(0, Math.round(lastSeconds - schedule.bakeSeconds));
    return held;
}

const minutes = (s: number) => `${Math.round(s / 60)} min`;
const times = (f: number) => (Number.isFinite(f) ? `${f}x` : "nothing");

const count = (n: number) => Math.round(n).toLocaleString("en-US");

/** A rate's promise in words: the factor, and the rate it means at stable's. */
function promised(r: Judged, factor: number, margin: number): string {
    if (!Number.isFinite(factor)) return "nothing";
    const at = caughtRate(r, factor, margin);
    return `${factor}x stable's (${r.measure === "rate" ? at.toFixed(1) : `${(100 * at).toFixed(2)}%`})`;
}

/**
 * The plan a budget gives at this traffic: the schedule that holds it, a line per rate saying
 * what it promises (and what twice the time would), and a refusal when a rate cannot promise
 * `weakestPromise`, saying what budget would.
 */
export function planBudget(
    schedule: RolloutSchedule,
    traffic: Traffic,
    source: string,
): { schedule: RolloutSchedule; lines: string[]; promises: Promised[]; lastStep: Record<string, number>; refusal?: string } {
    const budget = schedule.budgetSeconds!;
    const { promises, unknown, lastSeconds } = promisesWithin(schedule, traffic, budget);
    const { ramp, last } = segmentsWithin(schedule, traffic.requestsPerSecond, budget);
    const segments = [...ramp, last];
    const doubled = promisesWithin(schedule, traffic, 2 * budget).promises;
    const lines = [
        `budget: ${minutes(budget)} from the first step to the decision to promote, at ${traffic.requestsPerSecond.toFixed(1)} requests a second (${source}); ` +
            `the last step before 100% bakes up to ${minutes(lastSeconds)}; a canary at least as bad as each promise below is promoted at most ${(100 * schedule.missRate).toFixed(1)}% of the time, and a healthy one is accepted within the budget in about ${Math.round(100 * HEALTHY_ACCEPTED)}% of rollouts:`,
        ...promises.map(
            (p, i) =>
                `  ${p.rate.name}: ${promised(p.rate, p.rollout, schedule.detectMarginPercent / 100)}; from the last step before 100% on, ${times(p.lastStep)} on that step's data; with ${minutes(2 * budget)}, ${times(doubled[i].rollout)}` +
                servedText(p, segments, schedule.detectMarginPercent / 100),
        ),
        ...shapesText(schedule, traffic, budget),
    ];
    const weak = promises.filter((p) => isWeak(schedule, p.rate, p.rollout));
    const problems = [
        ...unknown.map((name) => `${name}: no trials in stable's last 3 hours, so nothing can be promised`),
        ...weak.map((p) => `${p.rate.name}: ${times(p.rollout)} within ${minutes(budget)}, ${enough(schedule, traffic, p.rate)}`),
    ];
    if (problems.length > 0)
        return {
            schedule,
            lines,
            promises: [],
            lastStep: {},
            refusal: `refused: the budget cannot promise rollout.weakestPromise (${schedule.weakestPromise}x, or a share within rollout.weakestPromisePoints, ${schedule.weakestPromisePoints} points, of stable's) at this traffic: ${problems.join("; ")}`,
        };
    return {
        schedule: holding(schedule, promises, lastSeconds),
        lines,
        promises: promises.map(({ rate, rollout }) => ({ id: rate.id, name: rate.name, measure: rate.measure, factor: rollout, stableRate: rate.rate })),
        // Each rate's own: one factor for all would hold every rate to the weakest (a rare event's is in the hundreds).
        lastStep: Object.fromEntries(promises.map((p) => [p.rate.id, Math.max(schedule.lastStepDetectFactor, p.lastStep)])),
    };
}

/** What a canary at a share's promise serves users within the budget, beside a healthy one: the cost of the evidence. */
function servedText(p: RatePromise, segments: Segment[], margin: number): string {
    if (p.rate.measure !== "share" || !Number.isFinite(p.rollout)) return "";
    const trials = canaryPart(segments, p.rate.trialsPerSecond);
    const [healthy, bad] = [trials * p.rate.rate, trials * caughtRate(p.rate, p.rollout, margin)];
    return `; within the budget a canary at that promise serves up to ${count(bad)} of these in its ${count(trials)} trials (a healthy one about ${count(healthy)})`;
}

/** The other places the budget's time could go: the last step before 100% at 25%, 50% or 75%, each one's promises and canary requests, so the team can trade promises for exposure in rollout.steps. */
function shapesText(schedule: RolloutSchedule, traffic: Traffic, budget: number): string[] {
    const before = schedule.steps.filter((w) => w < 100);
    const floor = before.length > 1 ? before.at(-2)! : 0;
    const others = SHAPES.filter((w) => w !== before.at(-1) && w > floor);
    if (others.length === 0) return [];
    const alternatives = others.map((weight) => {
        const shaped = { ...schedule, steps: [...before.slice(0, -1), weight, 100] };
        const { promises } = promisesWithin(shaped, traffic, budget);
        const { ramp, last } = segmentsWithin(shaped, traffic.requestsPerSecond, budget);
        const requests = canaryPart([...ramp, last], traffic.requestsPerSecond);
        return `at ${weight}%, ${promises.map((p) => `${p.rate.name} ${times(p.rollout)}`).join(", ")}, serving the canary about ${count(requests)} requests`;
    });
    const { ramp, last } = segmentsWithin(schedule, traffic.requestsPerSecond, budget);
    const requests = canaryPart([...ramp, last], traffic.requestsPerSecond);
    return [
        `  where the budget's time goes: ${minutes(last.seconds)} at ${last.weight}% (the last step before 100%), serving the canary about ${count(requests)} requests; ` +
            `the same budget with that step ${alternatives.join("; ")} (rollout.steps: a higher weight shows more within the budget and serves the canary, good or bad, to more users)`,
    ];
}

/**
 * Whether a promise is too weak to start with: more than `weakestPromise` times stable's rate and,
 * for a share, more than `weakestPromisePoints` above it (a rare event's factor says little: 30x a
 * stable that had no 5xx in its hours may be 0.5%).
 */
function isWeak(schedule: RolloutSchedule, rate: Judged, factor: number): boolean {
    if (factor <= schedule.weakestPromise) return false;
    if (rate.measure !== "share" || !Number.isFinite(factor)) return true;
    return 100 * (caughtRate(rate, factor, schedule.detectMarginPercent / 100) - rate.rate) > schedule.weakestPromisePoints;
}

/** What would promise `weakestPromise` (or `weakestPromisePoints`) for a rate: a budget (doubling up to a week), or else the traffic. */
function enough(schedule: RolloutSchedule, traffic: Traffic, rate: Judged): string {
    const promise = (budget: number, rps: number) => {
        const { promises } = promisesWithin(schedule, { ...traffic, requestsPerSecond: rps }, budget);
        return promises.find((p) => p.rate.id === rate.id)!.rollout;
    };
    for (let budget = 2 * schedule.budgetSeconds!; budget <= 604800; budget *= 2) {
        if (!isWeak(schedule, rate, promise(budget, traffic.requestsPerSecond))) return `a budgetSeconds of ${budget} would promise ${weakest(schedule, rate)}`;
    }
    for (let factor = 2; factor <= 1024; factor *= 2) {
        const rps = traffic.requestsPerSecond * factor;
        if (!isWeak(schedule, rate, promise(schedule.budgetSeconds!, rps)))
            return `${rps.toFixed(1)} requests a second would promise ${weakest(schedule, rate)} within this budget`;
    }
    return "no budget up to a week and no traffic up to 1,024 times this one would promise it";
}

/** The weakest promise a rate may start with, in words. */
const weakest = (schedule: RolloutSchedule, rate: Judged) =>
    rate.measure === "share" ? `${schedule.weakestPromise}x or ${schedule.weakestPromisePoints} points` : `${schedule.weakestPromise}x`;

/** Why the last step before 100% ended without acceptance: its evidence wait ran out, or, with a budget, the budget did. */
export function evidenceTimeout(schedule: RolloutSchedule, pending: string): string {
    if (schedule.budgetSeconds === undefined)
        return `not enough evidence that the canary is within tolerance after ${schedule.bakeSeconds + schedule.evidenceWaitSeconds} s (${pending})`;
    return (
        `the budget of ${minutes(schedule.budgetSeconds)} ended before the canary was shown within its promises (${pending}); ` +
        "a longer rollout.budgetSeconds, more traffic, or a weaker rollout.weakestPromise would decide (the dry run says what each promises)"
    );
}
