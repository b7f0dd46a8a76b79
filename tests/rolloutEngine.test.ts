/**
 * The rollout engine on a fake clock, stack and metrics: every path it can take.
 */
import { planRollout, runRollout, RolloutOptions } from "../rollout/engine";
import { judge } from "../rollout/judge";
import { ConcurrentUpdate, MetricsSample, MetricsSource, MetricsWindow, StackPort, StackState, UpdateFailed, VersionSample } from "../rollout/ports";
import { SCENARIOS, simulate, SIMULATION_SCHEDULE, VirtualClock } from "../rollout/simulate";
import { RolloutSchedule } from "../rollout/schedule";

const SCHEDULE: RolloutSchedule = { ...SIMULATION_SCHEDULE, steps: [10, 50, 100], bakeSeconds: 300, sampleSeconds: 60, trafficWaitSeconds: 600 };
const GOOD: VersionSample = { requests: 500, errors: 1, p99Ms: 8000 };
const BAD: VersionSample = { requests: 500, errors: 100, p99Ms: 8000 };
const QUIET: VersionSample = { requests: 3, errors: 0, p99Ms: 8000 };

/** A stack that records every call, can fail chosen updates, and reports health on demand. */
class FakeStack implements StackPort {
    calls: string[] = [];
    failWeights = new Set<number>();
    concurrentAt?: number;
    failPromotion = false;
    constructor(public state: StackState, private readonly clock: VirtualClock) {}
    async read() {
        return structuredClone(this.state);
    }
    async setWeight(w: number) {
        this.calls.push(`weight ${w}`);
        await this.clock.sleep(30_000);
        if (w === this.concurrentAt) throw new ConcurrentUpdate("update already in progress");
        if (this.failWeights.has(w)) throw new UpdateFailed(`up to ${w} failed`);
        this.state.canaryWeight = w;
    }
    async promoteCanarySettings() {
        this.calls.push("promote");
        if (this.failPromotion) throw new UpdateFailed("promotion update failed");
        this.state.versions.stable = { ...this.state.versions.canary };
    }
    async waitHealthy(version: string) {
        this.calls.push(`healthy ${version}`);
    }
}

/** Metrics whose canary behaviour is a function of the stack's current weight. */
class FakeMetrics implements MetricsSource {
    windows: MetricsWindow[] = [];
    constructor(
        private readonly stack: FakeStack,
        private readonly canaryAt: (weight: number) => VersionSample,
        private readonly alarmsAt: (weight: number) => string[] = () => [],
    ) {}
    async sample(window: MetricsWindow): Promise<MetricsSample> {
        this.windows.push(window);
        const w = this.stack.state.canaryWeight;
        return { window, versions: { stable: GOOD, canary: this.canaryAt(w) }, firingAlarms: this.alarmsAt(w) };
    }
}

const fresh = (weight = 0): StackState => ({
    canaryWeight: weight,
    versions: { stable: { image: "llm:1", desiredCount: 2 }, canary: { image: "llm:2", desiredCount: 1 } },
});

function setup(canaryAt: (w: number) => VersionSample, state = fresh(), alarmsAt?: (w: number) => string[]) {
    const clock = new VirtualClock();
    const stack = new FakeStack(state, clock);
    const metrics = new FakeMetrics(stack, canaryAt, alarmsAt);
    const lines: string[] = [];
    const run = (options: RolloutOptions = {}, signal?: AbortSignal, schedule = SCHEDULE) =>
        runRollout({ schedule, stack, metrics, clock, log: (l) => lines.push(l), signal }, options);
    return { clock, stack, metrics, lines, run };
}

describe("runRollout", () => {
    test("a healthy canary steps through every weight, then promotes in a safe order", async () => {
        const { stack, run, lines } = setup(() => GOOD);
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(result.exitCode).toBe(0);
        // Stable takes the canary's image while the canary serves 100%, and gets traffic back only once healthy.
        expect(stack.calls).toEqual(["weight 10", "weight 50", "weight 100", "promote", "healthy stable", "weight 0"]);
        expect(result.steps.map((s) => [s.weight, s.verdict?.kind])).toEqual([[10, "pass"], [50, "pass"], [100, "pass"]]);
        expect(lines.some((l) => /^step 1\/3 weight 10% .*canary 500 req 0\.20% 5xx p99 8\.0s/.test(l))).toBe(true);
    });

    test("each step bakes for the whole bake time before it passes", async () => {
        const { run, metrics } = setup(() => GOOD);
        const result = await run();
        const step = result.steps[0];
        expect(step.endedAt! - step.startedAt).toBeGreaterThanOrEqual(SCHEDULE.bakeSeconds * 1000);
        // Interval samples are one sample period long; the pass is judged over the whole bake.
        expect(metrics.windows[0].end - metrics.windows[0].start).toBe(60_000);
        expect(metrics.windows.some((w) => w.end - w.start >= SCHEDULE.bakeSeconds * 1000)).toBe(true);
    });

    test("a failing gate rolls back at the next sample, not at the end of the bake", async () => {
        const { stack, run } = setup((w) => (w >= 50 ? BAD : GOOD));
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.exitCode).toBe(1);
        expect(result.reason).toMatch(/step 2 at 50%: canary 5xx rate 20\.00% is above 2\.00%/);
        expect(stack.calls).toEqual(["weight 10", "weight 50", "weight 0"]);
        const badStep = result.steps[1];
        // The fake update takes 30 s; then one sample period, far short of the 300 s bake.
        expect(badStep.endedAt! - badStep.startedAt).toBe(30_000 + SCHEDULE.sampleSeconds * 1000);
    });

    test("a firing canary alarm rolls back even when the gates pass", async () => {
        const { stack, run } = setup(() => GOOD, fresh(), (w) => (w === 10 ? ["canary-latency"] : []));
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toContain("alarm firing: canary-latency");
        expect(stack.calls.at(-1)).toBe("weight 0");
    });

    test("a failed up rolls back", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.failWeights.add(50);
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toContain("up to 50 failed");
        expect(stack.calls).toEqual(["weight 10", "weight 50", "weight 0"]);
    });

    test("a rollback whose own update fails is reported as failed, with both reasons", async () => {
        const { stack, run } = setup((w) => (w >= 10 ? BAD : GOOD));
        stack.failWeights.add(0);
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.exitCode).toBe(2);
        expect(result.reason).toMatch(/canary 5xx rate .*; the rollback's update failed too: up to 0 failed/);
    });

    test("too little traffic is neither pass nor fail: it waits, then holds", async () => {
        const { stack, run } = setup(() => QUIET);
        const result = await run();
        expect(result.outcome).toBe("held");
        expect(result.exitCode).toBe(3);
        expect(stack.calls).toEqual(["weight 10"]);
        const step = result.steps[0];
        expect(step.endedAt! - step.startedAt).toBeGreaterThanOrEqual((SCHEDULE.bakeSeconds + SCHEDULE.trafficWaitSeconds) * 1000);
        expect(step.verdict?.kind).toBe("insufficient");
    });

    test("too little traffic rolls back when the schedule says so", async () => {
        const { stack, run } = setup(() => QUIET);
        const result = await run({}, undefined, { ...SCHEDULE, onLowTraffic: "rollback" });
        expect(result.outcome).toBe("rolled-back");
        expect(stack.calls).toEqual(["weight 10", "weight 0"]);
    });

    test("traffic that arrives during the wait lets the step pass", async () => {
        let samples = 0;
        const { run } = setup(() => (++samples > 8 ? GOOD : QUIET));
        expect((await run()).outcome).toBe("promoted");
    });

    test("a concurrent update is reported, not retried and not rolled back", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.concurrentAt = 50;
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.reason).toContain("another update is running on this stack");
        expect(stack.calls).toEqual(["weight 10", "weight 50"]);
    });

    test("an interrupt leaves the weight where it is, so a rerun resumes", async () => {
        const controller = new AbortController();
        const { stack, run } = setup((w) => {
            if (w === 50) controller.abort();
            return GOOD;
        });
        const result = await run({}, controller.signal);
        expect(result.outcome).toBe("interrupted");
        expect(result.exitCode).toBe(130);
        expect(stack.state.canaryWeight).toBe(50);
        expect(stack.calls).toEqual(["weight 10", "weight 50"]);
    });

    test("an interrupt rolls back when asked to", async () => {
        const controller = new AbortController();
        const { stack, run } = setup((w) => {
            if (w === 50) controller.abort();
            return GOOD;
        });
        const result = await run({ rollbackOnInterrupt: true }, controller.signal);
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toBe("interrupted");
        expect(stack.calls).toEqual(["weight 10", "weight 50", "weight 0"]);
    });

    test("a failed promotion leaves traffic on the canary instead of on a half-updated stable", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.failPromotion = true;
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.reason).toContain("traffic stays on the canary at 100%");
        expect(stack.calls).toEqual(["weight 10", "weight 50", "weight 100", "promote"]);
    });

    test("resumes after a crash mid-step: re-bakes the weight the stack holds, then goes on", async () => {
        const { stack, run } = setup(() => GOOD, fresh(50));
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(result.steps.map((s) => s.weight)).toEqual([50, 100]);
        // No update to 50: the stack is already there.
        expect(stack.calls).toEqual(["weight 100", "promote", "healthy stable", "weight 0"]);
    });

    test("resumes an unfinished promotion without stepping again", async () => {
        const state = fresh(100);
        state.versions.stable = { ...state.versions.canary };
        const { stack, run } = setup(() => GOOD, state);
        expect((await run()).outcome).toBe("promoted");
        expect(stack.calls).toEqual(["healthy stable", "weight 0"]);
    });

    test("does nothing when the canary already runs the stable image at 0%", async () => {
        const state = fresh(0);
        state.versions.canary = { ...state.versions.stable };
        const { stack, run } = setup(() => GOOD, state);
        const result = await run();
        expect(result.outcome).toBe("nothing-to-do");
        expect(stack.calls).toEqual([]);
    });

    test("--to-step stops at that step, without promoting", async () => {
        const { stack, run } = setup(() => GOOD);
        const result = await run({ toStep: 2 });
        expect(result.outcome).toBe("paused");
        expect(stack.calls).toEqual(["weight 10", "weight 50"]);
    });
});

describe("planRollout", () => {
    test.each([
        [0, {}, [10, 50, 100], true],
        [10, {}, [10, 50, 100], true],
        [30, {}, [30, 50, 100], true],
        [0, { fromStep: 2 }, [50, 100], true],
        [0, { toStep: 1 }, [10], false],
        [0, { fromStep: 2, toStep: 2 }, [50], false],
    ] as [number, RolloutOptions, number[], boolean][])("at %d%% with %j: steps %j, promote %s", (weight, options, steps, promote) => {
        const plan = planRollout(SCHEDULE, fresh(weight), options);
        expect(plan.steps.map((s) => s.weight)).toEqual(steps);
        expect(plan.promote).toBe(promote);
    });
});

describe("judge", () => {
    const sample = (canary: VersionSample, stable: VersionSample = GOOD, firingAlarms: string[] = []): MetricsSample => ({
        window: { start: 0, end: 60_000 },
        versions: { stable, canary },
        firingAlarms,
    });
    test.each([
        ["pass", sample(GOOD)],
        ["insufficient", sample(QUIET)],
        ["insufficient", sample({ requests: 19, errors: 19, p99Ms: 1 })],
        ["fail", sample({ requests: 100, errors: 3, p99Ms: 8000 })],
        ["fail", sample({ requests: 100, errors: 0, p99Ms: 61_000 })],
        ["fail", sample({ requests: 100, errors: 2, p99Ms: 8000 }, { requests: 1000, errors: 0, p99Ms: 8000 })],
        ["pass", sample({ requests: 100, errors: 2, p99Ms: 8000 }, { requests: 1000, errors: 15, p99Ms: 8000 })],
        ["fail", sample({ requests: 100, errors: 0, p99Ms: 10_500 }, { requests: 1000, errors: 0, p99Ms: 8000 })],
        ["pass", sample({ requests: 100, errors: 0, p99Ms: 10_500 }, { requests: 5, errors: 0, p99Ms: 8000 })],
        ["fail", sample(GOOD, GOOD, ["canary-errors"])],
    ])("%s: %j", (kind, s) => {
        expect(judge(SCHEDULE, s).kind).toBe(kind);
    });
});

describe("simulation", () => {
    test.each(SCENARIOS.map((s) => [s.name, s]))("%s ends as expected", async (_name, scenario) => {
        const sim = await simulate(scenario);
        expect(sim.result.outcome).toBe(scenario.expected);
    });

    test("a bad canary is rolled back within one bake period of its failing data", async () => {
        for (const name of ["error-spike", "latency-regression"]) {
            const sim = await simulate(SCENARIOS.find((s) => s.name === name)!);
            expect(sim.exposureMs).toBeDefined();
            expect(sim.exposureMs!).toBeLessThanOrEqual(SIMULATION_SCHEDULE.bakeSeconds * 1000);
            expect(sim.badCanaryRequests).toBeGreaterThan(0);
        }
    });

    test("a healthy canary is never counted as bad", async () => {
        const sim = await simulate(SCENARIOS.find((s) => s.name === "healthy")!);
        expect(sim.badCanaryRequests).toBe(0);
        expect(sim.exposureMs).toBeUndefined();
    });
});
