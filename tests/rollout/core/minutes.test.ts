/**
 * Whole-minute reads (`rollout/minutes.ts`): when a minute is complete, how minutes add
 * up, and that a cursor reading a source that answers as CloudWatch does counts every
 * request exactly once, however its reads fall and however late the data arrives within
 * the bound.
 */
import { completeMinutes, merge, MINUTE_MS, MinuteCursor, recentLoad, withoutRunner } from "../../../rollout/core/minutes";
import { MinuteSample, VersionSample } from "../../../rollout/core/ports";
import { Version } from "../../../contract/versions";

const T0 = Date.UTC(2026, 11, 4, 12, 0);
const at = (minutes: number) => T0 + minutes * MINUTE_MS;
const V = (requests: number, errors = 0): VersionSample => ({ requests, errors, slow: 0, p99Ms: 1000 });
const minute = (m: number, stable?: VersionSample, canary?: VersionSample): MinuteSample => ({ start: at(m), versions: { stable, canary } });
const both = { maxLagMs: 300_000, hasShare: () => true };

describe("which minutes are complete", () => {
    test.each([
        ["a minute with a later minute of data for both versions", [minute(0, V(5), V(1)), minute(1, V(5), V(1))], at(2), both, 1, 0],
        ["the newest minute waits for a later one", [minute(0, V(5), V(1))], at(2), both, 0, 0],
        ["a version's later data completes only that version: the other still waits", [minute(0, V(5), V(1)), minute(1, V(5), undefined)], at(2), both, 0, 0],
        ["no data is not 'no traffic' until the bound", [minute(0, undefined, undefined), minute(1, undefined, undefined)], at(5) + 59_000, both, 0, 0],
        ["past the bound a minute is judged with what arrived, and counted late", [minute(0, V(2), undefined), minute(1, V(5), undefined)], at(7), both, 2, 2],
        ["the bound passes minute by minute", [minute(0, V(2), undefined), minute(1, V(5), undefined)], at(6), both, 1, 1],
        [
            "a version with no share (stable at 100%) does not wait",
            [minute(0, undefined, V(9)), minute(1, undefined, V(9))],
            at(2),
            { maxLagMs: 300_000, hasShare: (v: Version) => v === "canary" },
            1,
            0,
        ],
        [
            "with a paired stream, not before the runner has returned every answer that may have ended in it",
            [minute(0, V(5), V(1)), minute(1, V(5), V(1)), minute(2, V(5), V(1))],
            at(3),
            { ...both, settledUntil: () => at(1) + 30_000 },
            1,
            0,
        ],
    ])("%s", (_name, read, now, rule, complete, late) => {
        const result = completeMinutes(read as MinuteSample[], now as number, rule as typeof both);
        expect([result.complete.length, result.late]).toEqual([complete, late]);
    });
});

describe("live traffic: the layer's counts less the runner's", () => {
    const runner = (more: Partial<VersionSample> = {}): VersionSample => ({ requests: 2, errors: 1, slow: 2, ...more });
    test.each([
        ["no data stays no data", undefined, runner(), undefined],
        [
            "each count less the runner's; the p99 as the layer had it",
            { requests: 10, errors: 2, slow: 3, p99Ms: 9000, gates: { ttft: { events: 4, requests: 10 } } },
            runner({ gates: { ttft: { events: 2, requests: 2 } } }),
            { requests: 8, errors: 1, slow: 1, p99Ms: 9000, gates: { ttft: { events: 2, requests: 8 } } },
        ],
        [
            "an answer the runner saw end after the minute the layer counted it in: each count clamped at 0 and at its trials left",
            { requests: 3, errors: 1, slow: 3, gates: { ttft: { events: 1, requests: 1 }, cutoff: { events: 1, requests: 3 } } },
            runner({ requests: 4, errors: 0, slow: 0, gates: { ttft: { events: 0, requests: 2 } } }),
            { requests: 0, errors: 0, slow: 0, gates: { ttft: { events: 0, requests: 0 }, cutoff: { events: 1, requests: 3 } } },
        ],
    ])("%s", (_what, layer, r, live) => {
        expect(withoutRunner(layer as VersionSample | undefined, r)).toEqual(live);
    });
});

test("minutes add up: counts sum, the worst p99 stands, a version with no data counts as none", () => {
    const sample = merge(
        [minute(0, { requests: 10, errors: 1, slow: 2, p99Ms: 900 }, undefined), minute(1, { requests: 5, errors: 0, slow: 1, p99Ms: 1200 }, V(3, 1))],
        ["a"],
    );
    expect(sample).toEqual({
        window: { start: at(0), end: at(2) },
        versions: { stable: { requests: 15, errors: 1, slow: 3, p99Ms: 1200 }, canary: { requests: 3, errors: 1, slow: 0, p99Ms: 1000 } },
        firingAlarms: ["a"],
    });
});

/**
 * A metrics source that answers as GetMetricData does (API reference): `StartTime` rounded
 * down to the whole minute, `EndTime` exclusive, one bucket per period that holds the
 * requests that have arrived, a bucket still filling included. Data arrives late by a lag
 * that varies, but in order (a series is ingested first in, first out): the assumption
 * behind judging a minute once a later one has data.
 */
class CloudWatchLike {
    readonly served: { at: number; version: Version; arrives: number }[] = [];
    now = T0;

    minutes(range: { start: number; end: number }): Promise<MinuteSample[]> {
        const start = Math.floor(range.start / MINUTE_MS) * MINUTE_MS;
        const out: MinuteSample[] = [];
        for (let m = start; m < range.end; m += MINUTE_MS) {
            const count = (version: Version) =>
                this.served.filter((r) => r.version === version && r.at >= m && r.at < m + MINUTE_MS && r.arrives <= this.now).length;
            const bucket = (version: Version) => (count(version) > 0 ? V(count(version)) : undefined);
            out.push({ start: m, versions: { stable: bucket("stable"), canary: bucket("canary") } });
        }
        return Promise.resolve(out);
    }
}

/** A seeded stream of requests over 40 minutes, each arriving up to `maxLagMs` late. */
function traffic(maxLagMs: number) {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const source = new CloudWatchLike();
    const arrival: Record<Version, number> = { stable: 0, canary: 0 };
    for (let t = T0; t < at(40); t += 1000 + Math.floor(random() * 2000)) {
        const version: Version = random() < 0.2 ? "canary" : "stable";
        arrival[version] = Math.max(arrival[version], t + Math.floor(random() * maxLagMs));
        source.served.push({ at: t, version, arrives: arrival[version] });
    }
    return source;
}

async function readAll(source: CloudWatchLike, maxLagSeconds: number, until: number) {
    const cursor = new MinuteCursor(source, T0 + 17_000, { maxLagMs: maxLagSeconds * 1000, hasShare: () => true });
    let counted = 0;
    let late = 0;
    for (source.now = T0 + 23_000; source.now < until; source.now += 37_000) {
        const read = await cursor.advance(source.now);
        counted += read.minutes.reduce((n, m) => n + (m.versions.stable?.requests ?? 0) + (m.versions.canary?.requests ?? 0), 0);
        late += read.late;
    }
    const judgedThrough = cursor.next;
    return { counted, late, served: source.served.filter((r) => r.at < judgedThrough).length, judgedThrough };
}

test("reads at uneven times, of data up to 200 s late, count every request once", async () => {
    const result = await readAll(traffic(200_000), 300, at(30));
    // Everything but the last few minutes, whose data is still arriving, was judged.
    expect(result.judgedThrough).toBeGreaterThanOrEqual(at(26));
    expect(result.counted).toBe(result.served);
    expect(result.late).toBe(0);
});

test("data later than the bound is judged with what had arrived, and said to be late", async () => {
    const result = await readAll(traffic(400_000), 120, at(30));
    expect(result.late).toBeGreaterThan(0);
    expect(result.counted).toBeLessThan(result.served);
});

test("the load is the mean of the last complete minutes, by the same rule", async () => {
    const source = traffic(90_000);
    source.now = at(20) + 30_000;
    const load = await recentLoad(source, source.now, 5, both);
    // Minutes 14-18 are complete (19 waits for minute 20's data); about 30 requests a minute were served.
    const served = source.served.filter((r) => r.at >= at(14) && r.at < at(19)).length / 5;
    expect(load).toBeCloseTo(served, 5);
});
