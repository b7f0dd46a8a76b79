/**
 * How bursty each count is, measured from stable before the first step. The tests treat a
 * version's events as independent per trial; when a few clients produce many at once (a
 * conversation retried, a batch), a minute's count varies more than a binomial one, and a
 * healthy canary would be rolled back for the bursts. The judge weighs such counts by their
 * dispersion (the variance over the binomial variance); unless the schedule sets it, it is
 * estimated here from stable's last `HISTORY_MINUTES` whole minutes:
 *
 * - Pearson's estimate over minutes where stable had trials: X² = sum over minutes of
 *   (x - n·p)² / (n·p·(1 - p)), p the pooled rate, and dispersion X² / (m - 1);
 * - used only when X² shows burstiness (above its 99.9th percentile under independence, by
 *   Wilson and Hilferty's approximation of the chi-square quantile): an estimate of a
 *   binomial count is above 1 half the time, and weighing evidence down for noise would slow
 *   every rollout for nothing; otherwise 1;
 * - and only with `MIN_EVENTS` events over `MIN_MINUTES` minutes: rare events at low traffic
 *   leave too little to tell, and then 1 is used, and said.
 */
import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");
import { RolloutSchedule } from "../../contract/schedule";
import { GATE_KINDS, GATE_LABELS, GateKind } from "../../contract/gates";
import { GateCounts, MetricsSource, VersionSample } from "./ports";
import { MINUTE_MS } from "./minutes";

export const HISTORY_MINUTES = 180;
const MIN_EVENTS = 50;
const MIN_MINUTES = 30;
/** Evidence of burstiness needed before it is used: X² above its 99.9th percentile under independence. */
const SIGNIFICANCE = 0.001;

/** Pearson's dispersion of per-minute counts, and whether it is told apart from 1; undefined with too little to tell. */
export function pearsonDispersion(minutes: GateCounts[]): { value: number; shown: boolean } | undefined {
    const used = minutes.filter((m) => m.requests > 0);
    const events = used.reduce((n, m) => n + m.events, 0);
    const trials = used.reduce((n, m) => n + m.requests, 0);
    if (used.length < MIN_MINUTES || events < MIN_EVENTS || events >= trials) return undefined;
    const p = events / trials;
    const x2 = used.reduce((sum, m) => sum + (m.events - m.requests * p) ** 2 / (m.requests * p * (1 - p)), 0);
    const df = used.length - 1;
    const critical = df * (1 - 2 / (9 * df) + normalQuantile(1 - SIGNIFICANCE, 0, 1) * Math.sqrt(2 / (9 * df))) ** 3;
    return { value: x2 / df, shown: x2 > critical };
}

/** The counts each dispersion is measured on, from a version's minute: 5xx over requests, and each gate the schedule judges. */
const COUNTS: { name: string; counts: (v: VersionSample) => GateCounts | undefined; gate?: GateKind }[] = [
    { name: "5xx", counts: (v) => ({ events: v.errors, requests: v.requests }) },
    ...GATE_KINDS.map((gate) => ({ name: GATE_LABELS[gate].label, counts: (v: VersionSample) => v.gates?.[gate], gate })),
];

/**
 * The schedule with every dispersion it leaves unset measured from stable's recent minutes
 * (or 1), and a line for each saying what was used and why.
 */
export async function withMeasuredDispersions(
    schedule: RolloutSchedule,
    metrics: MetricsSource,
    now: number,
): Promise<{ schedule: RolloutSchedule; lines: string[] }> {
    const wanted = COUNTS.filter(({ gate }) =>
        gate ? schedule.gates[gate] !== undefined && schedule.gates[gate]!.dispersion === undefined : schedule.errorDispersion === undefined,
    );
    const set = COUNTS.filter((c) => !wanted.includes(c) && (!c.gate || schedule.gates[c.gate] !== undefined));
    const lines = set.map(({ name, gate }) => `dispersion of ${name}: ${gate ? schedule.gates[gate]!.dispersion : schedule.errorDispersion}, as set`);
    if (wanted.length === 0) return { schedule, lines };
    const end = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    let stable: VersionSample[] = [];
    try {
        const minutes = await metrics.minutes({ start: end - HISTORY_MINUTES * MINUTE_MS, end });
        stable = minutes.flatMap((m) => (m.versions.stable ? [m.versions.stable] : []));
    } catch (e) {
        lines.push(`stable's last ${HISTORY_MINUTES / 60} hours are unreadable (${(e as Error).message}): each dispersion not set is 1`);
    }
    const measured = structuredClone(schedule);
    for (const { name, counts, gate } of wanted) {
        const estimate = pearsonDispersion(stable.flatMap((v) => counts(v) ?? []));
        const value = estimate?.shown ? Math.min(100, Math.round(estimate.value * 10) / 10) : 1;
        if (gate) measured.gates[gate]!.dispersion = value;
        else measured.errorDispersion = value;
        lines.push(
            `dispersion of ${name}: ${value}, ` +
                (estimate === undefined
                    ? `too few events in stable's last ${HISTORY_MINUTES / 60} hours to measure (${MIN_EVENTS} over ${MIN_MINUTES} minutes needed)`
                    : estimate.shown
                      ? `measured from stable's last ${HISTORY_MINUTES / 60} hours (its counts vary ${estimate.value.toFixed(1)} times as much as independent events would)`
                      : `stable's last ${HISTORY_MINUTES / 60} hours show no burstiness (measured ${estimate.value.toFixed(2)})`),
        );
    }
    return { schedule: measured, lines };
}
