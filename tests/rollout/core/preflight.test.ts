/** Before the first step (`rollout/core/preflight.ts`): stable's hours read once, the dispersions, and a budget's plan, judge or refusal. */
import { preflight } from "../../../rollout/core/preflight";
import { Judge } from "../../../rollout/core/judge";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";
import { MetricsSource, MinuteSample } from "../../../rollout/core/ports";
import { GPU_BUDGETED } from "../../../rollout/simulator/scenarios";

const NOW = Date.UTC(2026, 11, 7, 12, 0, 30);
/** Stable alone at `perMinute` requests, 0.3% 5xx and 5% slow, every minute of the 3 hours; counting the reads. */
function history(perMinute: number) {
    const reads: number[] = [];
    const source: MetricsSource = {
        minutes: async ({ start, end }) => {
            reads.push(start);
            const out: MinuteSample[] = [];
            for (let t = start; t < end; t += 60_000)
                out.push({ start: t, versions: { stable: { requests: perMinute, errors: (perMinute * 3) / 1000, slow: perMinute / 20 }, canary: undefined } });
            return out;
        },
        firingAlarms: async () => [],
    };
    return { source, reads };
}

test("without a budget and with every dispersion set, nothing is read and the engine's own judge judges", async () => {
    const { source, reads } = history(120);
    const before = await preflight({ ...DEFAULT_SCHEDULE, errorDispersion: 1 }, source, NOW);
    expect(reads).toEqual([]);
    expect(before).toEqual({ schedule: { ...DEFAULT_SCHEDULE, errorDispersion: 1 }, lines: ["dispersion of 5xx: 1, as set"] });
});

test("with a budget, stable's hours are read once: the dispersions, then the promises at stable's traffic, and a judge that holds them", async () => {
    const { source, reads } = history(120);
    const before = await preflight({ ...DEFAULT_SCHEDULE, ...GPU_BUDGETED }, source, NOW);
    expect(reads).toHaveLength(1);
    expect(before.refusal).toBeUndefined();
    expect(before.judge).toBeInstanceOf(Judge);
    expect(before.lines[0]).toMatch(/^dispersion of 5xx: /);
    expect(before.lines[1]).toMatch(/^budget: 60 min from the first step to the decision to promote, at 2\.0 requests a second \(stable's last 3 hours\)/);
    expect(before.schedule.detectErrorRateFactor).toBeGreaterThan(2);
    // The promises the report repeats are the ones the schedule holds.
    expect(before.promises?.map((p) => [p.id, p.factor])).toEqual([
        ["errors", before.schedule.detectErrorRateFactor],
        ["slow", before.schedule.detectSlowRequestFactor],
    ]);
});

test("with a budget and no readable traffic, the rollout is refused before anything moves, saying why", async () => {
    const failing: MetricsSource = { minutes: async () => Promise.reject(new Error("Throttling")), firingAlarms: async () => [] };
    const before = await preflight({ ...DEFAULT_SCHEDULE, ...GPU_BUDGETED }, failing, NOW);
    expect(before.refusal).toBe("refused: rollout.budgetSeconds needs stable's traffic to plan, and its last 3 hours are unreadable (Throttling)");
    expect(before.judge).toBeUndefined();
    const quiet = await preflight({ ...DEFAULT_SCHEDULE, ...GPU_BUDGETED }, history(0).source, NOW);
    expect(quiet.refusal).toBe(
        "refused: rollout.budgetSeconds needs stable's traffic to plan, and its last 3 hours are without traffic: a service with none yet runs without a budget, judged by a paired stream (evaluation.requestsPerSecond, docs/evaluation.md)",
    );
});
