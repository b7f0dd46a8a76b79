/**
 * The rollout schedule and its gates, read from stack config (`rollout.*`) with defaults
 * and validated like the rest of the config: a bad value stops before anything changes.
 */
import { ConfigReader, ConfigSource } from "../mesh/configReader";

export interface RolloutSchedule {
    /** Canary weights to step through, ascending, ending at 100. */
    steps: number[];
    /** How long each step bakes before it is judged. */
    bakeSeconds: number;
    /** How often metrics are sampled while baking (each sample can fail the step at once). */
    sampleSeconds: number;
    /** Fail when the canary's 5xx rate exceeds this. */
    maxErrorRatePercent: number;
    /** Fail when the canary's p99 request time exceeds this. */
    maxP99LatencySeconds: number;
    /** Fail when the canary's 5xx rate exceeds stable's by more than this many percentage points. */
    maxErrorRateIncreasePoints: number;
    /** Fail when the canary's p99 exceeds stable's by more than this percent. */
    maxLatencyIncreasePercent: number;
    /** Fewer canary requests than this in a window is "not enough data", neither pass nor fail. */
    minRequests: number;
    /** How long past the bake time to wait for enough traffic. */
    trafficWaitSeconds: number;
    /** What to do when the wait runs out: roll back, or hold the weight and stop (exit 3). */
    onLowTraffic: "rollback" | "hold";
}

export const DEFAULT_STEPS = [5, 10, 25, 50, 100];

export function loadSchedule(source: ConfigSource): RolloutSchedule {
    const r = new ConfigReader(source).object("rollout");
    const steps = r.has("steps") ? readSteps(r) : DEFAULT_STEPS;
    const bakeSeconds = r.integer("bakeSeconds", { min: 60, max: 86400 }, 600);
    const sampleSeconds = r.integer("sampleSeconds", { min: 10, max: 3600 }, 60);
    if (sampleSeconds > bakeSeconds) r.report("sampleSeconds", sampleSeconds, `at most bakeSeconds (${bakeSeconds})`);
    const schedule: RolloutSchedule = {
        steps,
        bakeSeconds,
        sampleSeconds,
        maxErrorRatePercent: r.integer("maxErrorRatePercent", { min: 0, max: 100 }, 2),
        maxP99LatencySeconds: r.integer("maxP99LatencySeconds", { min: 1, max: 3600 }, 60),
        maxErrorRateIncreasePoints: r.integer("maxErrorRateIncreasePoints", { min: 0, max: 100 }, 1),
        maxLatencyIncreasePercent: r.integer("maxLatencyIncreasePercent", { min: 0, max: 1000 }, 25),
        minRequests: r.integer("minRequests", { min: 1, max: 1_000_000 }, 20),
        trafficWaitSeconds: r.integer("trafficWaitSeconds", { min: 0, max: 86400 }, 1800),
        onLowTraffic: r.oneOf("onLowTraffic", ["rollback", "hold"] as const, "hold"),
    };
    r.check();
    return schedule;
}

function readSteps(r: ConfigReader): number[] {
    const steps = r.integerList("steps", 1, 100);
    const ascending = steps.every((w, i) => i === 0 || w > steps[i - 1]);
    if (steps.length > 0 && (!ascending || steps[steps.length - 1] !== 100)) {
        r.report("steps", steps, "strictly ascending weights ending at 100, e.g. [5, 10, 25, 50, 100]");
    }
    return steps;
}
