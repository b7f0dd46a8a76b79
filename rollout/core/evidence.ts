/**
 * The evidence a healthy canary gathers towards acceptance, per second at a weight, for each
 * form the judge accepts by (`sequential.ts`): its log likelihood ratio's mean (the drift) and
 * variance. The forecast (`power.ts`) and a budget's promises (`budget.ts`) are built on them.
 */
import { RolloutSchedule } from "../../contract/schedule";
import type { GateSpec } from "../../contract/gates";

/** A rate the judge tests, as the forecasts need it. */
export interface Judged {
    /** `errors`, `slow`, or a gate's id. */
    id: string;
    name: string;
    measure: GateSpec["measure"];
    /** Events per trial, and trials a second. */
    rate: number;
    trialsPerSecond: number;
    tolerated: number;
    factor: number;
    dispersion: number;
}

/** The mean and variance per second of one acceptance form's log likelihood ratio for a healthy canary at a weight (percent). */
export type Form = (r: Judged, factor: number, weight: number) => { mean: number; variance: number };

const NONE = { mean: 0, variance: 0 };

/**
 * A rate from pooled counts, never 0 (half an event of prior), so a ratio of it stays finite: the
 * judge's estimate of stable's rate, and the forecasts', so a stable without an event in its
 * hours is planned at the rate it is judged at.
 */
export const estimatedRate = (events: number, requests: number) => (events + 0.5) / (requests + 1);

/** The canary rate a regression of `factor` means: a share's at least stable's plus the margin (as the judge holds it), and at most all trials. */
export const caughtRate = (r: Judged, factor: number, margin: number) =>
    r.measure === "rate" ? factor * r.rate : Math.min(1, Math.max(factor * r.rate, r.rate + margin));

/** The ratio of both versions' events (`RatioAcceptanceTest`): each event is the canary's with probability w for a canary like stable. It learns only from events. */
const byRatio: Form = (r, factor, weight) => {
    const w = weight / 100;
    if (w <= 0 || w >= 1 || r.rate <= 0) return NONE;
    const share = (x: number) => (x * w) / (x * w + 1 - w);
    const [q0, q1] = [share(r.tolerated), share(factor)];
    const [canary, stable] = [Math.log(q0 / q1), Math.log((1 - q0) / (1 - q1))];
    const events = (r.trialsPerSecond * r.rate) / r.dispersion;
    return { mean: events * (w * canary + (1 - w) * stable), variance: events * (w * canary ** 2 + (1 - w) * stable ** 2) };
};

/**
 * The canary's own trials against stable's rate (`AcceptanceTest`), a share only: each trial an
 * event with probability p, tested between the tolerated rate and `alternative`. Stable's
 * measured rate tends to its true one, 0 included (the judge's estimate, (events + 0.5) /
 * (requests + 1), is above 0 but vanishes).
 */
const byOwnTrials =
    (alternative: (r: Judged, factor: number) => number): Form =>
    (r, factor, weight) => {
        const w = weight / 100;
        if (r.measure === "rate" || w <= 0 || w >= 1) return NONE;
        const p = r.rate;
        const [p0, p1] = [r.tolerated * p, Math.min(0.99, alternative(r, factor))];
        if (!(p1 > p0)) return NONE;
        const event = p > 0 ? Math.log(p0 / p1) : 0;
        const none = Math.log((1 - p0) / (1 - p1));
        const trials = (r.trialsPerSecond * w) / r.dispersion;
        return { mean: trials * (p * event + (1 - p) * none), variance: trials * (p * event ** 2 + (1 - p) * none ** 2) };
    };

/**
 * The forms the judge accepts by, each at half the miss rate: the ratio, and the canary's own
 * trials against stable's rate plus the margin (with a budget, against at least `factor` times
 * stable's rate: what the budget promises).
 */
export function formsOf(schedule: RolloutSchedule): Form[] {
    const margin = schedule.detectMarginPercent / 100;
    const budgeted = schedule.budgetSeconds !== undefined;
    return [byRatio, byOwnTrials((r, factor) => (budgeted ? Math.max(factor * r.rate, r.rate + margin) : r.rate + margin))];
}

/** The drift of the faster form: what the expected times are computed from. */
export const drift = (forms: Form[], r: Judged, factor: number, weight: number) => Math.max(...forms.map((form) => form(r, factor, weight).mean));
