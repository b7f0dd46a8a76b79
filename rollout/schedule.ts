/**
 * The rollout schedule and its gates (`rollout.*` in stack config). The program
 * validates this section with the rest of the config, so `pulumi preview` refuses a
 * schedule the rollout would refuse.
 */
import { z } from "zod";
import { integer, integerList, oneOf, rule, section } from "../mesh/config/fields";

export const DEFAULT_STEPS = [5, 10, 25, 50, 100];

export const rolloutSection = section(
    {
        /** Canary weights to step through, ascending, ending at 100. */
        steps: integerList(1, 100).default(DEFAULT_STEPS),
        /** How long each step bakes before it is judged. */
        bakeSeconds: integer(60, 86400).default(600),
        /** How often metrics are sampled while baking (each sample can fail the step at once). */
        sampleSeconds: integer(10, 3600).default(60),
        /** Fail when the canary's 5xx rate exceeds this. */
        maxErrorRatePercent: integer(0, 100).default(2),
        /** Fail when the canary's p99 request time exceeds this. */
        maxP99LatencySeconds: integer(1, 3600).default(60),
        /** Fail when the canary's 5xx rate exceeds stable's by more than this many percentage points. */
        maxErrorRateIncreasePoints: integer(0, 100).default(1),
        /** Fail when the canary's p99 exceeds stable's by more than this percent. */
        maxLatencyIncreasePercent: integer(0, 1000).default(25),
        /** Fewer canary requests than this in a window is "not enough data", neither pass nor fail. */
        minRequests: integer(1, 1_000_000).default(20),
        /** How long past the bake time to wait for enough traffic. */
        trafficWaitSeconds: integer(0, 86400).default(1800),
        /** What to do when the wait runs out: roll back, or hold the weight and stop (exit 3). */
        onLowTraffic: oneOf(["rollback", "hold"]).default("hold"),
    },
    {
        rules: [
            rule<{ steps: number[] }>(["steps"], (r, report) => {
                const ascending = r.steps.every((w, i) => i === 0 || w > r.steps[i - 1]);
                if (!ascending || r.steps.at(-1) !== 100) {
                    report("steps", r.steps, "strictly ascending weights ending at 100, e.g. [5, 10, 25, 50, 100]");
                }
            }),
            rule<{ sampleSeconds: number; bakeSeconds: number }>(["sampleSeconds", "bakeSeconds"], (r, report) => {
                if (r.sampleSeconds > r.bakeSeconds) report("sampleSeconds", r.sampleSeconds, `at most bakeSeconds (${r.bakeSeconds})`);
            }),
        ],
    },
);

export type RolloutSchedule = z.output<typeof rolloutSection>;

/** The schedule of a stack that sets no `rollout.*` key. */
export const DEFAULT_SCHEDULE: RolloutSchedule = rolloutSection.parse(undefined);
