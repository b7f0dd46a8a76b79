/**
 * The dry run's forecast of the time to promote a healthy canary agrees with the simulator's
 * median within 20%, for a service with 0.3% 5xx and for one with none (accepted against
 * stable's rate plus the margin), and on every committed stack's schedule (a budget's planned
 * at the same traffic, as the run does before its first step).
 */
import * as fs from "fs";
import * as path from "path";
import { planBudget } from "../../../rollout/core/budget";
import { stackSchedule } from "../../../rollout/cli/simulate";
import { SCENARIOS, STABLE } from "../../../rollout/simulator/scenarios";
import { powerReport } from "../../../rollout/core/power";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";
import { benchmark } from "../../../rollout/simulator/simulate";

const BENCHMARK = { requestsPerSecond: 10, errorRate: 0.003, slowShare: 0.05 };

test.each([
    ["healthy-no-5xx", 0],
    ["healthy-delayed", 0.003],
])("its expected time to promote agrees with the simulator's median within 20%% (%s: stable at %s 5xx)", async (name, errorRate) => {
    const forecast = Number(/about (\d+) min in all/.exec(powerReport(DEFAULT_SCHEDULE, { ...BENCHMARK, errorRate }, "given")[3])?.[1]);
    const simulated = (
        await benchmark(
            SCENARIOS.find((s) => s.name === name)!,
            20,
            { seed: 1 },
        )
    ).medianMinutesToDecision;
    expect(Math.abs(forecast / simulated - 1)).toBeLessThan(0.2);
});

/** The benchmark's stable, gates included (its tokens' dispersion about what the simulator measures). */
const WITH_GATES = {
    ...BENCHMARK,
    gates: { cutoff: { trialsPerRequest: 1, rate: 0.04 }, ttft: { trialsPerRequest: 1, rate: 0.1 }, tokens: { trialsPerRequest: 1, rate: 300 } },
};
/** Rollouts per stack: a median of 20 moves by 15% from seed to seed (72 to 86 minutes on the RAG gateway's schedule against 200 runs' 86). */
const STACK_RUNS = 60;
const STACKS = fs.readdirSync(path.join(__dirname, "../../..")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);

test.each(STACKS)("on %s's schedule the forecast agrees with the simulator's median within 20%%", async (stack) => {
    const schedule = stackSchedule(stack);
    const forecastOn = schedule.gates.tokens ? { ...schedule, gates: { ...schedule.gates, tokens: { ...schedule.gates.tokens, dispersion: 500 } } } : schedule;
    // Each event gate's stable rate as the simulator draws it (an application's refusals, 2% of answers).
    const events = Object.fromEntries(Object.keys(schedule.gates.events ?? {}).map((name) => [name, { trialsPerRequest: 1, rate: STABLE.refusalRate }]));
    const traffic = { ...WITH_GATES, gates: { ...WITH_GATES.gates, ...events } };
    const planned = forecastOn.budgetSeconds !== undefined ? planBudget(forecastOn, traffic, "given") : { schedule: forecastOn, lastStep: {} };
    const forecast = Number(/about (\d+) min in all/.exec(powerReport(planned.schedule, traffic, "given", planned.lastStep).join("\n"))?.[1]);
    const simulated = (
        await benchmark(
            SCENARIOS.find((s) => s.name === "healthy-delayed")!,
            STACK_RUNS,
            { seed: 1, schedule },
        )
    ).medianMinutesToDecision;
    expect(Math.abs(forecast / simulated - 1)).toBeLessThan(0.2);
});
