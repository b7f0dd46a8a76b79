/**
 * What the metrics collector and CloudWatch make of a model server's cumulative series, as
 * their sources say, for tests to hold the pipeline's configuration to:
 * - `cumulativetodelta` with `initial_value: keep` (opentelemetry-collector-contrib v0.117.0,
 *   `processor/cumulativetodeltaprocessor/internal/tracking/tracker.go`, `Convert`): the
 *   first point is its own delta; a histogram whose count fell starts again from its new
 *   value; a counter that fell is dropped for that point; the point is remembered either way;
 * - `awsemf` writes each histogram delta as a statistic set (Count, Sum) and each counter
 *   delta as a value, at the scrape's timestamp;
 * - CloudWatch adds up every statistic set and value of a minute, from every task.
 */
export interface Scrape {
    /** Milliseconds. */
    at: number;
    /** Cumulative since the server started: a histogram's count and sum, or a counter's value in `count`. */
    count: number;
    sum: number;
}

export function deltas(scrapes: Scrape[], kind: "histogram" | "counter"): Scrape[] {
    const out: Scrape[] = [];
    let previous: Scrape | undefined;
    for (const scrape of scrapes) {
        if (!previous) out.push(scrape);
        else if (scrape.count >= previous.count) out.push({ at: scrape.at, count: scrape.count - previous.count, sum: scrape.sum - previous.sum });
        else if (kind === "histogram") out.push(scrape);
        previous = scrape;
    }
    return out;
}

/** A minute's `SampleCount` (or a counter's `Sum`) and `Sum`, from every task's deltas. */
export function perMinute(...tasks: Scrape[][]): Map<number, { count: number; sum: number }> {
    const minutes = new Map<number, { count: number; sum: number }>();
    for (const point of tasks.flat()) {
        const minute = Math.floor(point.at / 60_000) * 60_000;
        const m = minutes.get(minute) ?? { count: 0, sum: 0 };
        minutes.set(minute, { count: m.count + point.count, sum: m.sum + point.sum });
    }
    return minutes;
}
