/**
 * The dry run's forecast of the time to promote a healthy canary agrees with the simulator's
 * median within 20%, for a service with 0.3% 5xx and for one with none (accepted against
 * stable's rate plus the margin).
 */
import { SCENARIOS } from "../../../rollout/simulator/scenarios";
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
