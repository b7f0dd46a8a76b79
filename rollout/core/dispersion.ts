/**
 * How bursty each count is, measured from stable before the first step. The tests treat a
 * version's events as independent per trial; when a few clients produce many at once (a
 * conversation retried, a batch), a minute's count varies more than a binomial one, and a
 * healthy canary would be rolled back for the bursts. The judge weighs such counts by their
 * dispersion (the variance over the binomial variance); unless the schedule sets it, it is
 * estimated here from stable's last `HISTORY_MINUTES` whole minutes:
 *
 * - Pearson's estimate over minutes where stable had trials: X² = sum over minutes of
 *   (x - n·p)² / (n·p·(1 - p)), p the pooled rate, and dispersion X² / (m - 1); for a rate per
 *   trial (tokens per answer) the variance under independence is Poisson's, n·p;
 * - used only when X² shows burstiness (above its 99.9th percentile under independence, by
 *   Wilson and Hilferty's approximation of the chi-square quantile): an estimate of a
 *   binomial count is above 1 half the time, and weighing evidence down for noise would slow
 *   every rollout for nothing; otherwise 1;
 * - and only with `MIN_EVENTS` events over `MIN_MINUTES` minutes: rare events at low traffic
 *   leave too little to tell, and then 1 is used, and said.
 */
import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");
import { RolloutSchedule } from "../../contract/schedule";
import { gatesOf, GateSpec, tuningOf } from "../../contract/gates";
import { GateCounts, MetricsSource, MinuteSample, VersionSample } from "./ports";
import { MINUTE_MS } from "./minutes";

export const HISTORY_MINUTES = 180;
const MIN_EVENTS = 50;
const MIN_MINUTES = 30;
/**
 * What an unmeasured dispersion is taken to be. A share's: 1, as independent events. A rate's
 * (tokens per answer) cannot be 1: an answer's length varies about as much as its mean, so a
 * minute's tokens vary hundreds of times more than Poisson counts; 1,000 is on the safe side
 * of the answers of a few hundred tokens that chat models give (it slows the gate, never
 * rolls back a canary for the noise).
 */
export const FALLBACK_DISPERSION: Record<GateSpec["measure"], number> = { share: 1, rate: 1000 };
const FALLBACK_WHY: Record<GateSpec["measure"], string> = {
    share: "as independent events",
    rate: "a conservative value for tokens per answer",
};
/** Evidence of burstiness needed before it is used: X² above its 99.9th percentile under independence. */
const SIGNIFICANCE = 0.001;

/** Pearson's dispersion of per-minute counts (a share of their trials, or a rate per trial), and whether it is told apart from 1; undefined with too little to tell. */
export function pearsonDispersion(minutes: GateCounts[], measure: GateSpec["measure"] = "share"): { value: number; shown: boolean } | undefined {
    const used = minutes.filter((m) => m.requests > 0);
    const events = used.reduce((n, m) => n + m.events, 0);
    const trials = used.reduce((n, m) => n + m.requests, 0);
    if (used.length < MIN_MINUTES || events < MIN_EVENTS || (measure === "share" && events >= trials)) return undefined;
    const p = events / trials;
    const variance = (n: number) => (measure === "share" ? n * p * (1 - p) : n * p);
    const x2 = used.reduce((sum, m) => sum + (m.events - m.requests * p) ** 2 / variance(m.requests), 0);
    const df = used.length - 1;
    const critical = df * (1 - 2 / (9 * df) + normalQuantile(1 - SIGNIFICANCE, 0, 1) * Math.sqrt(2 / (9 * df))) ** 3;
    return { value: x2 / df, shown: x2 > critical };
}

/** A count whose dispersion is measured: 5xx over requests, or a gate the schedule judges. */
interface Measured {
    name: string;
    counts: (v: VersionSample) => GateCounts | undefined;
    measure: GateSpec["measure"];
    /** The gate's id; none for 5xx. */
    gate?: string;
    /** What it is set to, if it is; and the most it may be. */
    set?: number;
    max: number;
}

/** The counts each dispersion is measured on, from a version's minute: 5xx over requests, and each gate the schedule judges. */
const countsOf = (schedule: RolloutSchedule): Measured[] => [
    { name: "5xx", counts: (v) => ({ events: v.errors, requests: v.requests }), measure: "share", set: schedule.errorDispersion, max: 100 },
    ...gatesOf(schedule.gates).map((g) => ({
        name: g.label,
        counts: (v: VersionSample) => v.gates?.[g.id],
        measure: g.measure,
        gate: g.id,
        set: g.dispersion,
        max: g.measure === "rate" ? 100000 : 100,
    })),
];

/** Stable's last `HISTORY_MINUTES` whole minutes before now, or why they could not be read. */
export type StableHistory = { minutes: MinuteSample[] } | { unreadable: string };

export async function readStableHistory(metrics: MetricsSource, now: number): Promise<StableHistory> {
    const end = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    let why = "";
    // A read that fails (a throttled call) is tried again: a budget cannot start without these hours.
    for (let attempt = 0; attempt < HISTORY_READS; attempt++) {
        try {
            return { minutes: await metrics.minutes({ start: end - HISTORY_MINUTES * MINUTE_MS, end }) };
        } catch (e) {
            why = (e as Error).message;
        }
    }
    return { unreadable: why };
}
/** How many times stable's hours are read before they are taken as unreadable. */
const HISTORY_READS = 3;

/** Whether any dispersion is left for stable's history to measure. */
export const wantsHistory = (schedule: RolloutSchedule) => countsOf(schedule).some((c) => c.set === undefined);

/**
 * The schedule with every dispersion it leaves unset measured from stable's recent minutes
 * (or its fallback), and a line for each saying what was used and why.
 */
export function withMeasuredDispersions(schedule: RolloutSchedule, history: StableHistory): { schedule: RolloutSchedule; lines: string[] } {
    const all = countsOf(schedule);
    const wanted = all.filter((c) => c.set === undefined);
    const lines = all.filter((c) => c.set !== undefined).map(({ name, set }) => `dispersion of ${name}: ${set}, as set`);
    if (wanted.length === 0) return { schedule, lines };
    if ("unreadable" in history)
        lines.push(`stable's last ${HISTORY_MINUTES / 60} hours are unreadable (${history.unreadable}): each dispersion not set is its fallback`);
    const stable = "minutes" in history ? history.minutes.flatMap((m) => (m.versions.stable ? [m.versions.stable] : [])) : [];
    const measured = structuredClone(schedule);
    for (const { name, counts, gate, measure, max } of wanted) {
        const estimate = pearsonDispersion(
            stable.flatMap((v) => counts(v) ?? []),
            measure,
        );
        const value = estimate === undefined ? FALLBACK_DISPERSION[measure] : estimate.shown ? Math.min(max, Math.round(estimate.value * 10) / 10) : 1;
        if (gate) tuningOf(measured.gates, gate)!.dispersion = value;
        else measured.errorDispersion = value;
        lines.push(
            `dispersion of ${name}: ${value}, ` +
                (estimate === undefined
                    ? `too few events in stable's last ${HISTORY_MINUTES / 60} hours to measure (${MIN_EVENTS} over ${MIN_MINUTES} minutes needed), so ${FALLBACK_WHY[measure]}`
                    : estimate.shown
                      ? `measured from stable's last ${HISTORY_MINUTES / 60} hours (its counts vary ${estimate.value.toFixed(1)} times as much as independent events would)`
                      : `stable's last ${HISTORY_MINUTES / 60} hours show no burstiness (measured ${estimate.value.toFixed(2)})`),
        );
    }
    return { schedule: measured, lines };
}
