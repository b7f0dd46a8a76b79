/**
 * The collector's per-minute deltas (tests/harness/collector.ts, as its sources describe
 * them): a server's cumulative time to first token, scraped every 15 s on two tasks, one of
 * which restarts mid-series, arrives in CloudWatch as that minute's requests and mean.
 */
import { deltas, perMinute, Scrape } from "../../harness/collector";

/** Requests a task serves in each 15 s, and their mean time to first token: a slower spell from minute 10. */
const served = (task: number, tick: number) => ({ n: 3 + ((tick * 7 + task) % 5), mean: tick >= 40 ? 1.8 : 0.6 + 0.1 * task });

function cumulative(task: number, ticks: number, restartAt?: number): { scrapes: Scrape[]; truth: Map<number, { count: number; sum: number }> } {
    const scrapes: Scrape[] = [];
    const truth = new Map<number, { count: number; sum: number }>();
    let count = 0;
    let sum = 0;
    for (let tick = 1; tick <= ticks; tick++) {
        // The server restarts just after a scrape: its counts start again from zero.
        if (tick === restartAt) count = sum = 0;
        const { n, mean } = served(task, tick);
        count += n;
        sum += n * mean;
        const at = tick * 15_000 - 1;
        scrapes.push({ at, count, sum });
        const minute = Math.floor(at / 60_000) * 60_000;
        const m = truth.get(minute) ?? { count: 0, sum: 0 };
        truth.set(minute, { count: m.count + n, sum: m.sum + n * mean });
    }
    return { scrapes, truth };
}

test("a cumulative histogram with a restart arrives as per-minute deltas: no negative value, each minute's count and mean the truth's", () => {
    const steady = cumulative(0, 80);
    const restarting = cumulative(1, 80, 30);
    const minutes = perMinute(deltas(steady.scrapes, "histogram"), deltas(restarting.scrapes, "histogram"));
    for (const point of [...deltas(steady.scrapes, "histogram"), ...deltas(restarting.scrapes, "histogram")]) {
        expect(point.count).toBeGreaterThanOrEqual(0);
        expect(point.sum).toBeGreaterThanOrEqual(0);
    }
    expect(minutes.size).toBe(20);
    for (const [minute, { count, sum }] of minutes) {
        const truth = [steady.truth.get(minute)!, restarting.truth.get(minute)!];
        const trueCount = truth[0].count + truth[1].count;
        expect(count).toBe(trueCount);
        expect(Math.abs(sum / count - (truth[0].sum + truth[1].sum) / trueCount)).toBeLessThan(0.01 * ((truth[0].sum + truth[1].sum) / trueCount));
    }
    // The slower spell shows in the minute it starts, not hours later as a mean since the task started would.
    expect(minutes.get(10 * 60_000)!.sum / minutes.get(10 * 60_000)!.count).toBeCloseTo(1.8, 5);
    const sinceStart = steady.scrapes[43];
    expect(sinceStart.sum / sinceStart.count).toBeLessThan(0.8);
});

test("a counter that falls is dropped for that scrape and counted again from the next: never negative, at most one scrape lost", () => {
    const { scrapes, truth } = cumulative(0, 80, 30);
    const counted = deltas(scrapes, "counter");
    expect(counted.every((p) => p.count >= 0)).toBe(true);
    expect(counted).toHaveLength(79);
    const total = [...truth.values()].reduce((s, m) => s + m.count, 0);
    expect(total - counted.reduce((s, p) => s + p.count, 0)).toBe(served(0, 30).n);
});
