/**
 * What a schedule can tell before a run (`rollout/core/power.ts`): the regressions it catches at
 * its miss rate, its expected step times, and whether it can decide at all at a traffic.
 * (Its times against the simulator's: tests/seeded/forecast.seeded.test.ts.)
 */
import { powerReport } from "../../../rollout/core/power";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";

const BENCHMARK = { requestsPerSecond: 10, errorRate: 0.003, slowShare: 0.05 };

test("at the benchmark's traffic the default schedule decides, and says what it catches and how long each step takes", () => {
    const lines = powerReport(DEFAULT_SCHEDULE, BENCHMARK, "given");
    expect(lines[0]).toBe("power at 10.0 requests a second, 0.30% 5xx, 5.0% slower than 10 s (given):");
    expect(lines[1]).toBe(
        "  5xx: a canary at 0.60% or more (2x stable's, or 0.10 point above) is promoted at most 1.0% of the time; so is one at 1.5% from the last step before 100% on",
    );
    expect(lines[3]).toMatch(
        /^ {2}expected step times with a healthy canary: 5% \d+ min, 10% \d+ min, 25% \d+ min, 50% \d+ min \(until the canary is shown within tolerance\), 100% \d+ min; about \d+ min in all, with the canary's deploy and the promotion \(a model load each\)$/,
    );
    expect(lines[4]).toBe("  a healthy canary is expected to be accepted within the last step's bake and evidenceWaitSeconds");
});

test("at a tenth of it, the last step before 100% cannot accept within its bounds, and it says so before anything changes", () => {
    const lines = powerReport(DEFAULT_SCHEDULE, { ...BENCHMARK, requestsPerSecond: 1 }, "the last hour");
    expect(lines.at(-1)).toMatch(/^ {2}this schedule cannot decide within its bounds at this traffic: a healthy canary would hold/);
});

test("with almost no 5xx, the margin is the smallest regression caught", () => {
    const lines = powerReport(DEFAULT_SCHEDULE, { ...BENCHMARK, errorRate: 0.0001 }, "given");
    expect(lines[1]).toMatch(/^ {2}5xx: a canary at 0\.11% or more/);
});
