/**
 * Every scenario of the simulator end to end on a few seeds: each ends as it should, a
 * healthy canary is never counted as bad, and a seed replays its rollout. The rates are the
 * benchmark's (npm run bench:ci runs 300 of each, and covers the scenarios with schedule
 * settings of their own, which run six-hour rollouts).
 */
import { SCENARIOS } from "../../../rollout/simulator/scenarios";
import { benchmark, simulate } from "../../../rollout/simulator/simulate";

describe("simulation", () => {
    const known = (limit: boolean) => SCENARIOS.filter((s) => !!s.limit === limit && !s.settings).map((s) => [s.name, s] as const);
    test.each(known(false))("%s ends as expected in at least 5 of 6 seeded rollouts", async (_name, scenario) => {
        const row = await benchmark(scenario, 6);
        expect(row.outcomes[scenario.expected] ?? 0).toBeGreaterThanOrEqual(5);
    });

    test.each(known(true))("%s shows its known limit: of 12 seeded rollouts, at least 2 end otherwise than expected", async (_name, scenario) => {
        const row = await benchmark(scenario, 12);
        expect(row.outcomes[scenario.expected] ?? 0).toBeLessThanOrEqual(10);
    });

    test("a healthy canary is never counted as bad; a bad one is", async () => {
        expect((await simulate(SCENARIOS.find((s) => s.name === "healthy")!)).badCanaryRequests).toBe(0);
        expect((await simulate(SCENARIOS.find((s) => s.name === "errors-5x")!)).badCanaryRequests).toBeGreaterThan(0);
    });

    test("the same seed gives the same rollout; another seed, other traffic", async () => {
        const scenario = SCENARIOS.find((s) => s.name === "healthy-delayed")!;
        const a = await simulate(scenario, { seed: 5 });
        const b = await simulate(scenario, { seed: 5 });
        const c = await simulate(scenario, { seed: 6 });
        expect(b.result.samples).toEqual(a.result.samples);
        expect(c.result.samples).not.toEqual(a.result.samples);
    });
});
