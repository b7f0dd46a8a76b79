/**
 * What a schedule can tell before a run (`rollout/core/power.ts`): the regressions it catches at
 * its miss rate, its expected step times, and whether it can decide at all at a traffic.
 * (Its times against the simulator's: tests/seeded/forecast.seeded.test.ts.)
 */
import { powerReport, trafficOf } from "../../../rollout/core/power";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";

const BENCHMARK = { requestsPerSecond: 10, errorRate: 0.003, slowShare: 0.05 };

test("at the benchmark's traffic the default schedule decides, and says what it catches and how long each step takes", () => {
    const lines = powerReport(DEFAULT_SCHEDULE, BENCHMARK, "given");
    expect(lines[0]).toBe("power at 10.0 requests a second, 0.30% 5xx, 5.0% slower than stable's 95th percentile (given):");
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

describe("the model's gates", () => {
    const withGates = {
        ...DEFAULT_SCHEDULE,
        gates: {
            cutoff: { tolerancePercent: 0, detectFactor: 2 },
            tokens: { tolerancePercent: 10, detectFactor: 1.3, dispersion: 500 },
            events: { refusals: { metric: "Refusals", trials: "Answers", tolerancePercent: 0, detectFactor: 2 } },
        },
    };
    const traffic = { ...BENCHMARK, gates: { cutoff: { trialsPerRequest: 1, rate: 0.04 }, tokens: { trialsPerRequest: 1, rate: 300 } } };

    test("each gate's promise at the traffic it had: a share in percent, a rate per trial; a gate without trials is said to be unknown", () => {
        const lines = powerReport(withGates, traffic, "given");
        expect(lines).toContain(
            "  cut-off answer: a canary at 8.0% or more (2x stable's, or 0.10 point above) is promoted at most 1.0% of the time; so is one at 20.0% from the last step before 100% on",
        );
        expect(lines).toContain(
            "  tokens-per-answer: a canary at 390.0 or more (1.3x stable's 300.0) is promoted at most 1.0% of the time; so is one at 1500.0 from the last step before 100% on",
        );
        expect(lines).toContain("  refusals: no trials in this traffic, so its power is unknown and the times below leave it out");
    });

    test("a gate's dispersion slows its acceptance: at a dispersion of 500,000, tokens per answer cannot be shown within the schedule's bounds", () => {
        const slow = { ...withGates, gates: { tokens: { tolerancePercent: 10, detectFactor: 1.3, dispersion: 500_000 } } };
        expect(powerReport(withGates, traffic, "given").at(-1)).toMatch(/is expected to be accepted/);
        expect(powerReport(slow, traffic, "given").at(-1)).toMatch(/cannot decide within its bounds/);
    });
});

test("the traffic of whole minutes: requests a second over the minutes, both versions' rates (none seen: the judge's estimate, half an event), and each gate's trials per request and events per trial", () => {
    const minute = (start: number) => ({
        start,
        versions: {
            stable: { requests: 570, errors: 2, slow: 30, gates: { tokens: { events: 171_000, requests: 570 } } },
            canary: { requests: 30, errors: 1, slow: 0, gates: { tokens: { events: 9_000, requests: 30 } } },
        },
    });
    expect(trafficOf([minute(0), minute(60_000)])).toEqual({
        requestsPerSecond: 10,
        errorRate: 6 / 1200,
        slowShare: 60 / 1200,
        gates: { tokens: { trialsPerRequest: 1, rate: 300 } },
    });
    const quiet = (start: number) => ({ start, versions: { stable: { requests: 600, errors: 0, slow: 0 }, canary: undefined } });
    expect(trafficOf([quiet(0), quiet(60_000)])).toMatchObject({ errorRate: 0.5 / 1201, slowShare: 0.5 / 1201 });
    expect(trafficOf([{ start: 0, versions: { stable: undefined, canary: undefined } }])).toBeUndefined();
});
