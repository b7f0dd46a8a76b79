/**
 * Where the slow-request gate's threshold sits. Its evidence comes fastest where stable's share
 * of slow requests is common: at 0.4% (a threshold of 10 s for a model whose median is 3 s), a
 * healthy canary needs thousands of requests to be shown "not 1.5x stable's", and holds. So,
 * unless the schedule pins `slowRequestSeconds`, the rollout reads stable's 95th percentile over
 * its last 3 hours before the first step and judges slow requests against it (5% of stable's
 * requests are then slow, as the benchmark has them), and says so.
 */
import { RolloutSchedule, UNPINNED_SLOW_SECONDS } from "../../contract/schedule";
import { HISTORY_MINUTES } from "./dispersion";
import { MetricsWindow } from "./ports";
import { MINUTE_MS } from "./minutes";

/** The percentile of stable's request times an unpinned threshold is set to. */
export const DERIVED_PERCENTILE = 95;

/** Stable's request time at a percentile over a window, in milliseconds; undefined without data. */
export type StablePercentile = (percentile: number, window: MetricsWindow) => Promise<number | undefined>;

/** The schedule with its slow-request threshold in seconds, and a line saying where it came from. */
export async function withSlowThreshold(
    schedule: RolloutSchedule,
    stablePercentile: StablePercentile,
    now: number,
): Promise<{ schedule: RolloutSchedule & { slowRequestSeconds: number }; line: string }> {
    if (schedule.slowRequestSeconds !== undefined)
        return {
            schedule: { ...schedule, slowRequestSeconds: schedule.slowRequestSeconds },
            line: `slow requests: over ${schedule.slowRequestSeconds} s, as set`,
        };
    const end = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const hours = HISTORY_MINUTES / 60;
    let ms: number | undefined;
    let why = "no data";
    try {
        ms = await stablePercentile(DERIVED_PERCENTILE, { start: end - HISTORY_MINUTES * MINUTE_MS, end });
    } catch (e) {
        why = (e as Error).message;
    }
    if (ms === undefined || !(ms > 0))
        return {
            schedule: { ...schedule, slowRequestSeconds: UNPINNED_SLOW_SECONDS },
            line: `slow requests: over ${UNPINNED_SLOW_SECONDS} s, the fallback: stable's ${DERIVED_PERCENTILE}th percentile over its last ${hours} hours is unreadable (${why}); pin rollout.slowRequestSeconds`,
        };
    const seconds = Math.round(ms / 10) / 100;
    return {
        schedule: { ...schedule, slowRequestSeconds: seconds },
        line: `slow requests: over ${seconds} s, stable's ${DERIVED_PERCENTILE}th percentile over its last ${hours} hours (rollout.slowRequestSeconds pins it)`,
    };
}
