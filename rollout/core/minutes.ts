/**
 * What a metrics read covers, decided in one place: whole minutes, each judged once.
 *
 * CloudWatch's GetMetricData (API reference, `StartTime` and `EndTime`) rounds `StartTime`
 * down to the whole minute for data under 15 days old, treats `EndTime` as exclusive, and
 * returns each period's whole bucket, including one still filling; and metric data arrives
 * minutes late. A window that is not whole minutes would count the same bucket twice, and
 * a window that ends "some delay ago" drops whatever is later than the delay. So the
 * rollout reads whole minutes (period 60) from a cursor, and judges a minute only once it
 * is complete, for each version:
 * - a later minute of that version has data (CloudWatch ingests a series in order), or
 * - the version had no share of the traffic in that minute (stable during the 100% step), or
 * - `metricsMaxLagSeconds` have passed since the minute closed: it is judged with what
 *   arrived, and counted as late so the progress line and the report say so.
 * A minute not yet complete is neither judged nor taken for "no traffic". With a paired stream,
 * a minute is also not complete before the runner has returned every answer that ended in it
 * (`settledUntil`): its requests are taken out of the minute's counts (`withoutRunner`).
 */
import { Version, VERSIONS } from "../../contract/versions";
import { MetricsSample, MetricsSource, MinuteSample, VersionSample } from "./ports";

export const MINUTE_MS = 60_000;
export const minuteOf = (t: number) => Math.floor(t / MINUTE_MS) * MINUTE_MS;
export const minuteAfter = (t: number) => Math.ceil(t / MINUTE_MS) * MINUTE_MS;

export interface Completeness {
    /** How long after a minute closes it is judged with whatever arrived. */
    maxLagMs: number;
    /** Whether a version may have had traffic in the minute starting at `start`. */
    hasShare: (version: Version, start: number) => boolean;
    /** With a paired stream: minutes ending after this may still get answers the runner has not returned. */
    settledUntil?: () => number;
}

/** The leading run of complete minutes in `read` (consecutive, oldest first), and how many of them were complete only by the lag bound. */
export function completeMinutes(read: MinuteSample[], now: number, rule: Completeness): { complete: MinuteSample[]; late: number } {
    const complete: MinuteSample[] = [];
    let late = 0;
    const settled = rule.settledUntil?.() ?? Infinity;
    for (const [i, minute] of read.entries()) {
        if (minute.start + MINUTE_MS > settled) break;
        const boundPassed = now >= minute.start + MINUTE_MS + rule.maxLagMs;
        let lateHere = false;
        for (const version of VERSIONS) {
            if (!rule.hasShare(version, minute.start)) continue;
            if (read.slice(i + 1).some((later) => later.versions[version] !== undefined)) continue;
            if (!boundPassed) return { complete, late };
            lateHere = true;
        }
        complete.push(minute);
        if (lateHere) late++;
    }
    return { complete, late };
}

const NONE: VersionSample = { requests: 0, errors: 0, slow: 0 };

/** The gates' counts summed over samples (minutes, windows, versions), where any has them. */
export function summedGates(samples: (VersionSample | undefined)[]): Pick<VersionSample, "gates"> {
    const gates: NonNullable<VersionSample["gates"]> = {};
    for (const sample of samples)
        for (const [id, counts] of Object.entries(sample?.gates ?? {})) {
            const sum = (gates[id] ??= { events: 0, requests: 0 });
            sum.events += counts.events;
            sum.requests += counts.requests;
        }
    return Object.keys(gates).length ? { gates } : {};
}

/**
 * A version's live traffic in a minute: what the layer counted less the runner's own requests
 * in it (`stream.ts`), each count clamped at 0 and at the requests left (an answer the runner saw end just after a minute
 * boundary may have been counted by the layer just before it). A p99 cannot be taken apart, so
 * it stays as the layer had it.
 */
export function withoutRunner(layer: VersionSample | undefined, runner: VersionSample): VersionSample | undefined {
    if (layer === undefined) return undefined;
    const less = (a: number, b: number) => Math.max(0, a - b);
    const gates = Object.fromEntries(
        Object.entries(layer.gates ?? {}).map(([id, g]) => {
            const r = runner.gates?.[id] ?? { events: 0, requests: 0 };
            const requests = less(g.requests, r.requests);
            return [id, { events: requests === 0 ? 0 : less(g.events, r.events), requests }];
        }),
    );
    const requests = less(layer.requests, runner.requests);
    return {
        requests,
        errors: Math.min(requests, less(layer.errors, runner.errors)),
        slow: Math.min(requests, less(layer.slow, runner.slow)),
        ...(layer.p99Ms !== undefined ? { p99Ms: layer.p99Ms } : {}),
        ...(layer.gates ? { gates } : {}),
    };
}

/** Minutes summed into one sample for the judge: counts add; percentiles do not, so the worst minute's p99 stands. */
export function merge(minutes: MinuteSample[], firingAlarms: string[]): MetricsSample {
    const version = (v: Version): VersionSample => {
        const present = minutes.map((m) => m.versions[v] ?? NONE);
        const p99s = present.map((s) => s.p99Ms).filter((p): p is number => p !== undefined);
        return {
            requests: present.reduce((n, s) => n + s.requests, 0),
            errors: present.reduce((n, s) => n + s.errors, 0),
            slow: present.reduce((n, s) => n + s.slow, 0),
            ...(p99s.length ? { p99Ms: Math.max(...p99s) } : {}),
            ...summedGates(present),
        };
    };
    return {
        window: { start: minutes[0].start, end: minutes.at(-1)!.start + MINUTE_MS },
        versions: { stable: version("stable"), canary: version("canary") },
        firingAlarms,
    };
}

/** Reads forward from the first minute not yet judged; every minute is returned complete exactly once. */
export class MinuteCursor {
    /** The start of the first minute not yet judged. */
    next: number;

    constructor(
        private readonly source: Pick<MetricsSource, "minutes">,
        from: number,
        private readonly rule: Completeness,
    ) {
        this.next = minuteOf(from);
    }

    /** Reads the cursor's minute through the one still filling at `now`; returns those now complete, and moves past them. */
    async advance(now: number): Promise<{ minutes: MinuteSample[]; late: number }> {
        const end = minuteOf(now) + MINUTE_MS;
        if (end <= this.next) return { minutes: [], late: 0 };
        const read = await this.source.minutes({ start: this.next, end });
        const { complete, late } = completeMinutes(read, now, this.rule);
        this.next += complete.length * MINUTE_MS;
        return { minutes: complete, late };
    }
}

/**
 * The current load, for sizing a version's tasks: requests a minute over the last `count`
 * complete minutes before `now` (by the same rule), or undefined when none is complete.
 */
export async function recentLoad(source: Pick<MetricsSource, "minutes">, now: number, count: number, rule: Completeness): Promise<number | undefined> {
    const end = minuteOf(now) + MINUTE_MS;
    const start = end - (count + 1) * MINUTE_MS - minuteAfter(rule.maxLagMs);
    const { complete } = completeMinutes(await source.minutes({ start, end }), now, rule);
    const last = complete.slice(-count);
    if (last.length === 0) return undefined;
    const { stable, canary } = merge(last, []).versions;
    return (stable.requests + canary.requests) / last.length;
}

/**
 * The minutes that became complete since the cursor's last read, with the alarms firing;
 * undefined when reading failed three times (5 s, then 15 s apart, `wait` keeping the lease).
 */
export async function readComplete(
    cursor: MinuteCursor,
    metrics: Pick<MetricsSource, "firingAlarms">,
    now: () => number,
    wait: (ms: number) => Promise<void>,
    log: (line: string) => void,
): Promise<{ minutes: MinuteSample[]; firingAlarms: string[]; late: number } | undefined> {
    for (const backoffMs of [5_000, 15_000, 0]) {
        try {
            const { minutes, late } = await cursor.advance(now());
            if (minutes.length === 0) return { minutes, firingAlarms: [], late };
            return { minutes, firingAlarms: await metrics.firingAlarms(), late };
        } catch (e) {
            log(`reading metrics failed: ${(e as Error).message}${backoffMs ? `; retrying in ${backoffMs / 1000} s` : ""}`);
            if (backoffMs) await wait(backoffMs);
        }
    }
    return undefined;
}
