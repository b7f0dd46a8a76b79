/**
 * `rollout load`: traffic on demand, through the golden set's runner, to both versions through
 * their pins: a new endpoint can be tried, its dashboard fills, both versions answer. The runner
 * is asked for a minute of load at a time, a new minute every minute (the next starts while the
 * last one's slowest answers are still coming), so the rate holds across minutes; an abort stops
 * the next minute from starting, and what is in flight finishes.
 */
import { GoldenItem } from "../../contract/golden";
import { Version } from "../../contract/versions";
import { Clock } from "./ports";

/** One version's answers over some load: how many, by HTTP status (0: none came), and their mean time. */
export interface Tally {
    requests: number;
    statuses: Record<string, number>;
    meanMs: number;
}

/** The runner's load mode: `items` in turn at `ratePerSecond` to each version for `seconds`. */
export interface LoadPort {
    load(items: GoldenItem[], ratePerSecond: number, seconds: number): Promise<Record<Version, Tally>>;
}

/** The most load one invocation sends: a minute, so progress shows and an abort takes hold within one. */
const CHUNK_SECONDS = 60;

const add = (a: Tally, b: Tally): Tally => {
    const requests = a.requests + b.requests;
    const statuses = { ...a.statuses };
    for (const [code, n] of Object.entries(b.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
    return { requests, statuses, meanMs: requests ? Math.round((a.meanMs * a.requests + b.meanMs * b.requests) / requests) : 0 };
};
const EMPTY: Tally = { requests: 0, statuses: {}, meanMs: 0 };

/** A version's tally in words: "300 answered (298 2xx, 2 503), mean 1.2 s". */
export function tallyText(version: Version, t: Tally): string {
    const ok = Object.entries(t.statuses).reduce((n, [code, c]) => n + (code.startsWith("2") ? c : 0), 0);
    const others = Object.entries(t.statuses)
        .filter(([code]) => !code.startsWith("2"))
        .map(([code, c]) => `${c} ${code === "0" ? "without an answer" : code}`);
    return `${version} ${t.requests} sent (${[`${ok} 2xx`, ...others].join(", ")}), mean ${(t.meanMs / 1000).toFixed(1)} s`;
}

/**
 * Sends `ratePerSecond` requests a second to each version for `minutes`, a minute an invocation,
 * saying after each minute what both versions answered; returns the totals.
 */
export async function sendLoad(
    port: LoadPort,
    items: GoldenItem[],
    ratePerSecond: number,
    minutes: number,
    clock: Clock,
    progress: (line: string) => void,
    signal?: AbortSignal,
): Promise<Record<Version, Tally>> {
    const totals: Record<Version, Tally> = { stable: EMPTY, canary: EMPTY };
    const inFlight: Promise<void>[] = [];
    const seconds = minutes * 60;
    let done = 0;
    for (let at = 0; at < seconds && !signal?.aborted; at += CHUNK_SECONDS) {
        const chunk = Math.min(CHUNK_SECONDS, seconds - at);
        inFlight.push(
            port.load(items, ratePerSecond, chunk).then((tallies) => {
                done += chunk;
                totals.stable = add(totals.stable, tallies.stable);
                totals.canary = add(totals.canary, tallies.canary);
                progress(`load: ${(done / 60).toFixed(1)} of ${minutes} min | ${tallyText("stable", totals.stable)} | ${tallyText("canary", totals.canary)}`);
            }),
        );
        if (at + CHUNK_SECONDS < seconds) await clock.sleep(CHUNK_SECONDS * 1000, signal);
    }
    await Promise.all(inFlight);
    return totals;
}
