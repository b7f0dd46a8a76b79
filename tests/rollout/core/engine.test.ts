/**
 * The rollout engine and its plan on a fake clock, stack, services, traffic layer and
 * metrics: every path it can take.
 */
import { VirtualClock } from "../../../rollout/simulator/world";
import { runRollout } from "../../../rollout/core/engine";
import { capacityFor } from "../../../rollout/core/capacity";
import { planRollout, RolloutOptions } from "../../../rollout/core/plan";
import { Judge } from "../../../rollout/core/judge";
import {
    ConcurrentUpdate,
    ControlPort,
    DeployedState,
    IntendedState,
    LeaseLost,
    MetricsSample,
    MetricsSource,
    MetricsWindow,
    MinuteSample,
    ServiceRolledBack,
    ServicesPort,
    StackPort,
    TrafficPort,
    UpdateFailed,
    UpdateRefused,
    VersionSample,
} from "../../../rollout/core/ports";

import { DEFAULT_SCHEDULE, RolloutSchedule } from "../../../contract/schedule";

const SCHEDULE: RolloutSchedule = { ...DEFAULT_SCHEDULE, steps: [10, 50, 100], bakeSeconds: 300, sampleSeconds: 60, trafficWaitSeconds: 600 };
const GOOD: VersionSample = { requests: 500, errors: 1, slow: 5, p99Ms: 8000 };
const BAD: VersionSample = { requests: 500, errors: 100, slow: 5, p99Ms: 8000 };
const QUIET: VersionSample = { requests: 3, errors: 0, slow: 0, p99Ms: 8000 };

const deployedAt = (canaryWeight: number, stable = "v1", canary = "v2"): DeployedState => ({
    canaryWeight,
    versions: { stable: { fingerprint: stable, taskDefinitionArn: `td/${stable}:1` }, canary: { fingerprint: canary, taskDefinitionArn: `td/${canary}:1` } },
});
const intendedAt = (canaryWeight: number, stable = "v1", canary = "v2"): IntendedState => ({ canaryWeight, fingerprints: { stable, canary } });

/**
 * A stack whose config and deployment are separate, as on disk and in the backend: an
 * update copies the config's part it is for, and can be made to fail or be refused.
 */
class FakeStack implements StackPort, ServicesPort, TrafficPort {
    calls: string[] = [];
    failWeights = new Set<number>();
    refuseWeights = new Set<number>();
    concurrentAt?: number;
    failPromotion = false;
    rolledBack?: "stable" | "canary";
    /** What the traffic layer reports, when it lags behind or disagrees with the update. */
    trafficOverride?: number;
    evaluationExitCode = 0;
    refuseCapacity = false;
    constructor(
        public deployedState: DeployedState,
        public intendedState: IntendedState,
        private readonly clock: VirtualClock,
    ) {}
    async deployed() {
        return structuredClone(this.deployedState);
    }
    async intended() {
        return structuredClone(this.intendedState);
    }
    async setWeight(w: number) {
        this.calls.push(`weight ${w}`);
        this.intendedState.canaryWeight = w;
        await this.clock.sleep(30_000);
        if (w === this.concurrentAt) throw new ConcurrentUpdate("update already in progress");
        if (this.refuseWeights.has(w)) throw new UpdateRefused(`refused: the update would also replace the canary's task definition`);
        if (this.failWeights.has(w)) throw new UpdateFailed(`up to ${w} failed: aws:appmesh/route:Route inference-appmesh-weighted: BadRequestException`);
        this.deployedState.canaryWeight = w;
        this.weights.push([this.clock.now(), w]);
        return this.deployed();
    }
    /** [time, weight] of every weight deployed, from the start. */
    readonly weights: [number, number][] = [];
    weightAt(t: number): number {
        return this.weights.filter(([at]) => at <= t).at(-1)?.[1] ?? 0;
    }
    async deployCanary() {
        this.calls.push("deploy canary");
        this.deployedState.versions.canary = { fingerprint: this.intendedState.fingerprints.canary, taskDefinitionArn: "td/canary:2" };
        return this.deployed();
    }
    async promote() {
        this.calls.push("promote");
        this.intendedState.fingerprints.stable = this.intendedState.fingerprints.canary;
        if (this.failPromotion) throw new UpdateFailed("promotion update failed");
        this.deployedState.versions.stable = { fingerprint: this.intendedState.fingerprints.canary, taskDefinitionArn: "td/stable:2" };
        return this.deployed();
    }
    async setMinCount(version: "stable" | "canary", count: number | undefined) {
        this.calls.push(`${version} min ${count ?? "resting"}`);
        if (this.refuseCapacity)
            throw new UpdateRefused(
                `refused to raise the ${version}'s minimum task count: besides its scalable target, the update would update its task definition`,
            );
        const scaling = this.deployedState.scaling![version];
        scaling.minCount = count ?? scaling.restingMinCount;
        return this.deployed();
    }
    async waitHealthy(version: "stable" | "canary", arn: string, count: number) {
        this.calls.push(`healthy ${version} ${arn} x${count}`);
    }
    async waitRunning(version: "stable" | "canary", arn: string) {
        this.calls.push(`running ${version} ${arn}`);
        if (this.rolledBack === version) throw new ServiceRolledBack(`ECS did not keep the ${version} service on the deployed revision`);
    }
    async canaryWeight() {
        return this.trafficOverride ?? this.deployedState.canaryWeight;
    }
    async evaluate() {
        this.calls.push("evaluate");
        return { exitCode: this.evaluationExitCode, reason: `exit code ${this.evaluationExitCode}` };
    }
}

/**
 * Whole minutes whose canary behaviour is a function of the weight in force at the minute's
 * end; a minute's data arrives whole, `delayMs` after it closes (the fine grain of partial
 * buckets is `minutes.test.ts`'s).
 */
class FakeMetrics implements MetricsSource {
    reads: MetricsWindow[] = [];
    delayMs = 0;
    constructor(
        private readonly stack: FakeStack,
        private readonly clock: VirtualClock,
        private readonly canaryAt: (weight: number) => VersionSample,
        private readonly alarmsAt: (weight: number) => string[] = () => [],
    ) {}
    async minutes(range: MetricsWindow): Promise<MinuteSample[]> {
        this.reads.push(range);
        const out: MinuteSample[] = [];
        for (let start = range.start; start < range.end; start += 60_000) {
            const arrived = this.clock.now() >= start + 60_000 + this.delayMs;
            const w = this.stack.weightAt(start + 59_999);
            out.push({
                start,
                versions: arrived
                    ? { stable: w < 100 ? GOOD : undefined, canary: w > 0 ? this.canaryAt(w) : undefined }
                    : { stable: undefined, canary: undefined },
            });
        }
        return out;
    }
    async firingAlarms(): Promise<string[]> {
        return this.alarmsAt(this.stack.deployedState.canaryWeight);
    }
}

/** A lease that records heartbeats and answers with an abort after `abortAfter` of them. */
class FakeControl implements ControlPort {
    beats: string[] = [];
    constructor(private readonly abortAfter = Infinity) {}
    async heartbeat(status: string) {
        this.beats.push(status);
        return this.beats.length > this.abortAfter ? { abortRequestedBy: "ops@laptop" } : {};
    }
}

function setup(canaryAt: (w: number) => VersionSample, deployed = deployedAt(0), intended = intendedAt(0), alarmsAt?: (w: number) => string[]) {
    const clock = new VirtualClock();
    const stack = new FakeStack(deployed, intended, clock);
    const metrics = new FakeMetrics(stack, clock, canaryAt, alarmsAt);
    const lines: string[] = [];
    /** The weights published for the dashboard, as verified; the first publish fails, as CloudWatch may. */
    const published: number[] = [];
    let publishes = 0;
    const weights = {
        publish: async (weight: number) => {
            if (publishes++ === 0) throw new Error("ThrottlingException: Rate exceeded");
            published.push(weight);
        },
    };
    const run = (options: RolloutOptions = {}, signal?: AbortSignal, control?: ControlPort) =>
        runRollout(
            { schedule: SCHEDULE, stack, services: stack, traffic: stack, metrics, control, clock, log: (l) => lines.push(l), signal, weights },
            options,
        );
    return { clock, stack, metrics, lines, run, published };
}

describe("runRollout", () => {
    test("each weight verified at the traffic layer is published for the dashboard; a failed publish is said, and changes nothing", async () => {
        const { run, lines, published } = setup(() => GOOD);
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(lines).toContain("could not publish the weight to CloudWatch: ThrottlingException: Rate exceeded");
        expect(published).toEqual([50, 100, 0]);
    });

    test("a healthy canary: its revision running, then each weight deployed, verified and baked, then promotion in a safe order", async () => {
        const { stack, run, lines } = setup(() => GOOD);
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(result.exitCode).toBe(0);
        // Stable takes the canary's definition while the canary serves 100%, and gets traffic back only once ECS runs it.
        expect(stack.calls).toEqual(["running canary td/v2:1", "weight 10", "weight 50", "weight 100", "promote", "running stable td/stable:2", "weight 0"]);
        expect(result.steps.map((s) => [s.weight, s.verdict?.kind])).toEqual([
            [10, "pass"],
            [50, "pass"],
            [100, "pass"],
        ]);
        expect(result.finalWeight).toBe(0);
        expect(
            lines.some((l) => /^step 1\/3 weight 10% .*canary 500 req, 5xx 0\.20% \(1\), slow 1\.00% \(5\), p99 8\.0s \| ok \| evidence .* of 400/.test(l)),
        ).toBe(true);
    });

    test("a step judges whole minutes, each once and in order, from its start until everything served in its bake is judged", async () => {
        const { run } = setup(() => GOOD);
        const result = await run({ toStep: 1 });
        const windows = result.samples.map((s) => s.sample.window);
        for (const w of windows) expect([w.start % 60_000, w.end % 60_000]).toEqual([0, 0]);
        windows.forEach((w, i) => i > 0 && expect(w.start).toBe(windows[i - 1].end));
        const [step] = result.steps;
        expect(windows[0].start).toBe(Math.floor(step.startedAt / 60_000) * 60_000);
        expect(step.bakedAt! - step.startedAt).toBeGreaterThanOrEqual(300_000);
        expect(windows.at(-1)!.end).toBeGreaterThanOrEqual(step.bakedAt!);
    });

    test("with late metrics, a minute is judged once a later minute has data, and the step ends once its bake is judged", async () => {
        const { run, metrics } = setup(() => GOOD);
        metrics.delayMs = 120_000;
        const result = await run({ toStep: 1 });
        expect(result.outcome).toBe("paused");
        const [step] = result.steps;
        // Nothing is judged before a minute has a later minute with data: 1 minute, then 2 of delay, then the next read.
        expect(result.samples[0].at - step.startedAt).toBeGreaterThanOrEqual(180_000);
        expect(result.samples.at(-1)!.sample.window.end).toBeGreaterThanOrEqual(step.bakedAt!);
        expect(step.endedAt! - step.bakedAt!).toBeGreaterThanOrEqual(120_000);
        expect(result.samples.every((s) => s.late === undefined)).toBe(true);
    });

    test("data later than metricsMaxLagSeconds: the minute is judged with what arrived, and the line and the record say so", async () => {
        const { run, metrics, lines } = setup(() => GOOD);
        metrics.delayMs = 400_000;
        const result = await run({ toStep: 1 });
        const late = result.samples.filter((s) => s.late);
        expect(late.length).toBeGreaterThan(0);
        expect(lines).toContainEqual(expect.stringMatching(/\| \d+ minute\(s\) judged 300 s late with what had arrived$/));
    });

    test("failed reads are retried; a sustained outage holds the weight, saying why", async () => {
        const { run, metrics, stack } = setup(() => GOOD);
        metrics.minutes = async () => {
            throw new Error("ThrottlingException: Rate exceeded");
        };
        const result = await run();
        expect(result.outcome).toBe("held");
        expect(result.reason).toMatch(/^metrics unreadable for \d+ s at 10%; holding at 10%/);
        expect(stack.calls.at(-1)).toBe("weight 10");
    });

    test("a failing gate rolls back at the next sample, not at the end of the bake", async () => {
        const { stack, run } = setup((w) => (w >= 50 ? BAD : GOOD));
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.exitCode).toBe(1);
        expect(result.reason).toMatch(
            /^step 2 at 50%: canary 5xx rate above stable's: canary 5xx [0-9.]+% \(\d+\/\d+\) vs stable 5xx [0-9.]+% \(\d+\/\d+\); evidence .* reached 400$/,
        );
        expect(stack.calls).toEqual(["running canary td/v2:1", "weight 10", "weight 50", "weight 0"]);
        // Caught at the first minute of 50% that is complete: the next read after it closed.
        const fifty = result.steps[1];
        expect(result.samples.filter((s) => s.step === 2)).toHaveLength(2);
        expect(fifty.endedAt! - fifty.startedAt).toBeLessThanOrEqual(3 * 60_000);
        expect(result.finalWeight).toBe(0);
    });

    test("a firing canary alarm rolls back even when the gates pass", async () => {
        const { run } = setup(
            () => GOOD,
            deployedAt(0),
            intendedAt(0),
            (w) => (w === 50 ? ["canary-latency"] : []),
        );
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toContain("alarm firing: canary-latency");
    });

    test("a failed up rolls back, naming the cause", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.failWeights.add(50);
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toContain("BadRequestException");
        expect(stack.calls.slice(-2)).toEqual(["weight 50", "weight 0"]);
    });

    test("a rollback whose own update fails is reported as failed, with both reasons", async () => {
        const { stack, run } = setup(() => BAD);
        stack.failWeights.add(0);
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.reason).toMatch(/canary 5xx rate .*; the rollback failed too: up to 0 failed/);
    });

    test("an update that would change more than the weight is refused: nothing deployed, no rollback", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.refuseWeights.add(50);
        const result = await run();
        expect(result.outcome).toBe("refused");
        expect(result.exitCode).toBe(4);
        expect(stack.calls.at(-1)).toBe("weight 50");
        expect(result.finalWeight).toBe(10);
    });

    test("a weight the traffic layer does not confirm fails the step and rolls back", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.trafficOverride = 0;
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toContain("the traffic layer sends 0% to the canary, not the 10% just deployed");
    });

    test("an ECS rollback of the canary's deployment fails the rollout before any traffic moves", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.rolledBack = "canary";
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.reason).toContain("ECS did not keep the canary service on the deployed revision");
        expect(stack.calls).toEqual(["running canary td/v2:1"]);
    });

    test("never a promotion without acceptance: a canary neither clearly bad nor shown within tolerance holds at the last step before 100%", async () => {
        const clock = new VirtualClock();
        const stack = new FakeStack(deployedAt(0), intendedAt(0), clock);
        // 1.5x stable's 5xx: the tests need long to decide either way.
        const metrics = new FakeMetrics(stack, clock, () => ({ requests: 500, errors: 3, slow: 10, p99Ms: 8000 }));
        const GOOD_STABLE = { requests: 500, errors: 2, slow: 10, p99Ms: 8000 };
        metrics.minutes = (async (range: MetricsWindow) =>
            (await FakeMetrics.prototype.minutes.call(metrics, range)).map((m) => ({
                ...m,
                versions: { ...m.versions, stable: m.versions.stable && GOOD_STABLE },
            }))) as FakeMetrics["minutes"];
        const result = await runRollout({
            schedule: { ...SCHEDULE, evidenceWaitSeconds: 900 },
            stack,
            services: stack,
            traffic: stack,
            metrics,
            clock,
            log: () => {},
        });
        expect(result.outcome).toBe("held");
        expect(result.reason).toMatch(
            /^not enough evidence that the canary is within tolerance after 1200 s \(not yet shown: 5xx rate under 2x stable's.*\) at 50%; holding at 50%/,
        );
        expect(stack.calls).toEqual(["running canary td/v2:1", "weight 10", "weight 50"]);
    });

    test("too little traffic is neither pass nor fail: it waits, then holds", async () => {
        const { stack, run } = setup(() => QUIET);
        const result = await run();
        expect(result.outcome).toBe("held");
        expect(result.exitCode).toBe(3);
        expect(stack.calls).toEqual(["running canary td/v2:1", "weight 10"]);
    });

    test("too little traffic rolls back when the schedule says so", async () => {
        const clock = new VirtualClock();
        const stack = new FakeStack(deployedAt(0), intendedAt(0), clock);
        const result = await runRollout({
            schedule: { ...SCHEDULE, onLowTraffic: "rollback" },
            stack,
            services: stack,
            traffic: stack,
            metrics: new FakeMetrics(stack, clock, () => QUIET),
            clock,
            log: () => {},
        });
        expect(result.outcome).toBe("rolled-back");
        expect(stack.calls.at(-1)).toBe("weight 0");
    });

    test("a concurrent update is reported, not retried and not rolled back", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.concurrentAt = 50;
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(result.reason).toContain("another update is running");
        expect(stack.calls.at(-1)).toBe("weight 50");
    });

    test("a signal stops within the sample, leaving the weight as it is, so a rerun resumes", async () => {
        const { stack, run, clock } = setup(() => GOOD);
        const controller = new AbortController();
        const sleep = clock.sleep.bind(clock);
        clock.sleep = async (ms: number, signal?: AbortSignal) => {
            if (clock.now() - Date.UTC(2026, 10, 26, 9) > 8 * 60_000) controller.abort();
            return sleep(ms, signal);
        };
        const result = await run({}, controller.signal);
        expect(result.outcome).toBe("interrupted");
        expect(result.exitCode).toBe(130);
        expect(stack.calls.at(-1)).not.toBe("weight 0");
    });

    test("an abort request rolls back at the next heartbeat", async () => {
        const { stack, run } = setup(() => GOOD);
        const control = new FakeControl(4);
        const result = await run({}, undefined, control);
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toBe("aborted by ops@laptop");
        expect(stack.calls.at(-1)).toBe("weight 0");
        expect(control.beats.some((b) => b.startsWith("step 1 at 10%: baking"))).toBe(true);
    });

    test("a failed promotion leaves traffic on the canary; a rerun deploys stable, waits for it, then returns the weight", async () => {
        const { stack, run } = setup(() => GOOD);
        stack.failPromotion = true;
        const first = await run();
        expect(first.outcome).toBe("failed");
        expect(first.reason).toContain("traffic stays on the canary at 100%");
        expect(stack.deployedState.canaryWeight).toBe(100);
        stack.failPromotion = false;
        stack.calls = [];
        const second = await run();
        expect(second.outcome).toBe("promoted");
        expect(stack.calls).toEqual(["promote", "running stable td/stable:2", "weight 0"]);
    });

    test("an environment-only change is a canary like any other: deployed at 0, then rolled out", async () => {
        const { stack, run } = setup(() => GOOD, deployedAt(0, "v1", "v1"), intendedAt(0, "v1", "v1-new-env"));
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(stack.calls.slice(0, 3)).toEqual(["deploy canary", "running canary td/canary:2", "weight 10"]);
    });

    test("a rollout that lost its lease (broken as stale by another runner) stops without touching the stack", async () => {
        const { stack, run } = setup(() => GOOD);
        const control: ControlPort = {
            heartbeat: async () => {
                throw new LeaseLost("this rollout lost its lease on the stack to runner-b");
            },
        };
        const result = await run({}, undefined, control);
        expect(result.outcome).toBe("failed");
        expect(result.reason).toBe("this rollout lost its lease on the stack to runner-b; stopped without changing anything more, at 0%");
        expect(stack.calls).toEqual([]);
    });

    test.each([
        // moment, outcome, reason, the calls
        ["beforeTraffic", "failed", "the evaluation failed (exit code 3); the canary got no traffic", ["running canary td/v2:1", "evaluate"]],
        ["eachStep", "rolled-back", "the evaluation after the 10% step failed (exit code 3)", ["running canary td/v2:1", "weight 10", "evaluate", "weight 0"]],
        [
            "beforePromotion",
            "rolled-back",
            "the evaluation before the promotion failed (exit code 3)",
            ["running canary td/v2:1", "weight 10", "weight 50", "weight 100", "evaluate", "weight 0"],
        ],
    ] as const)("an evaluation that fails %s: %s", async (moment, outcome, reason, calls) => {
        const { stack, run } = setup(() => GOOD, { ...deployedAt(0), evaluations: [moment] });
        stack.evaluationExitCode = 3;
        const result = await run();
        expect([result.outcome, result.reason]).toEqual([outcome, reason]);
        expect(stack.calls).toEqual(calls);
        expect(result.finalWeight).toBe(0);
    });

    test("a passing evaluation lets the steps begin", async () => {
        const { stack, run } = setup(() => GOOD, { ...deployedAt(0), evaluations: ["beforeTraffic"] });
        expect((await run({ toStep: 1 })).outcome).toBe("paused");
        expect(stack.calls).toEqual(["running canary td/v2:1", "evaluate", "weight 10"]);
    });

    test("--to-step stops at that step, without promoting", async () => {
        const { stack, run } = setup(() => GOOD);
        const result = await run({ toStep: 2 });
        expect(result.outcome).toBe("paused");
        expect(stack.calls).toEqual(["running canary td/v2:1", "weight 10", "weight 50"]);
    });
});

describe("capacity follows weight", () => {
    /** 500 requests a minute per version with traffic (1,000 once both have some); 100 per task. */
    const scaled = (): DeployedState => ({
        ...deployedAt(0),
        scaling: {
            stable: { minCount: 4, restingMinCount: 4, maxCount: 12, requestsPerTaskPerMinute: 100 },
            canary: { minCount: 1, restingMinCount: 1, maxCount: 8, requestsPerTaskPerMinute: 100 },
        },
    });

    test("before each step the canary's minimum is raised to its share of the load and its tasks are healthy, then the weight moves; at the end it returns to rest", async () => {
        const { stack, run } = setup(() => GOOD, scaled());
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(stack.calls).toEqual([
            "running canary td/v2:1",
            // 10% of 500 a minute (stable alone so far) is one task: the resting minimum already.
            "weight 10",
            "canary min 5",
            "healthy canary td/v2:1 x5",
            "weight 50",
            // 50% of 1,000 a minute needed 5; 100% needs 10: capped at maxCount.
            "canary min 8",
            "healthy canary td/v2:1 x8",
            "weight 100",
            "promote",
            "running stable td/stable:2",
            // Stable scaled in while the canary served everything: all of the load (500 a minute) needs 5 of its tasks first.
            "stable min 5",
            "healthy stable td/stable:2 x5",
            "weight 0",
            "canary min resting",
            "stable min resting",
        ]);
        expect([stack.deployedState.scaling?.canary.minCount, stack.deployedState.scaling?.stable.minCount]).toEqual([1, 4]);
        expect(result.events.map((e) => e.message)).toEqual(
            expect.arrayContaining([expect.stringContaining("needs more canary tasks than its maxCount (8); going ahead with 8")]),
        );
    });

    test("a rollback returns the canary's minimum to rest once it has no traffic", async () => {
        const { stack, run } = setup((w) => (w >= 50 ? BAD : GOOD), scaled());
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(stack.calls.slice(-2)).toEqual(["weight 0", "canary min resting"]);
    });

    test("a capacity step that would change more than the scalable target is refused before the weight moves", async () => {
        const { stack, run } = setup(() => GOOD, scaled());
        stack.refuseCapacity = true;
        const result = await run();
        expect(result.outcome).toBe("refused");
        expect(stack.calls).toEqual(["running canary td/v2:1", "weight 10", "canary min 5"]);
        expect(stack.deployedState.canaryWeight).toBe(10);
    });

    test("a canary resting at zero tasks gets one for its evaluation, and its share before each step", async () => {
        const deployed = scaled();
        deployed.scaling!.canary = { minCount: 0, restingMinCount: 0, maxCount: 8, requestsPerTaskPerMinute: 1000 };
        const { stack, run } = setup(() => GOOD, { ...deployed, evaluations: ["beforeTraffic"] });
        await run({ toStep: 1 });
        expect(stack.calls).toEqual(["running canary td/v2:1", "canary min 1", "healthy canary td/v2:1 x1", "evaluate", "weight 10"]);
    });

    test("a canary raised for an evaluation that fails goes back to rest", async () => {
        const deployed = scaled();
        deployed.scaling!.canary = { minCount: 0, restingMinCount: 0, maxCount: 8, requestsPerTaskPerMinute: 1000 };
        const { stack, run } = setup(() => GOOD, { ...deployed, evaluations: ["beforeTraffic"] });
        stack.evaluationExitCode = 2;
        const result = await run();
        expect(result.outcome).toBe("failed");
        expect(stack.calls.slice(-2)).toEqual(["evaluate", "canary min resting"]);
    });

    test("without deployed scaling (fixed capacity) no capacity step runs", async () => {
        const { stack, run } = setup(() => GOOD);
        await run();
        expect(stack.calls.filter((c) => c.includes(" min ") || c.startsWith("healthy"))).toEqual([]);
    });

    test.each([
        // requests a minute, weight, expected count, capped
        [0, 50, 1, false],
        [0, 0, 1, false],
        [200, 5, 1, false],
        [200, 50, 5, false],
        [201, 50, 6, false],
        [200, 100, 8, true],
    ])("%d requests a minute at %d%%: %d tasks (capped: %s)", (load, weight, count, capped) => {
        expect(capacityFor(load, weight, { minCount: 1, restingMinCount: 1, maxCount: 8, requestsPerTaskPerMinute: 20 })).toEqual({ count, capped });
    });
});

describe("planRollout: from what is deployed and what the config says", () => {
    const phases = (deployed: DeployedState, intended: IntendedState, options: RolloutOptions = {}) => {
        const plan = planRollout(SCHEDULE, deployed, intended, options);
        return plan.kind === "run" ? plan.summary : `${plan.kind}: ${plan.reason}`;
    };
    test.each([
        [
            "a new rollout",
            deployedAt(0),
            intendedAt(0),
            {},
            "wait-canary -> 10% -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "resumed mid-rollout at a step",
            deployedAt(50),
            intendedAt(50),
            {},
            "wait-canary -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "resumed between steps",
            deployedAt(30),
            intendedAt(30),
            {},
            "wait-canary -> 30% (resumed) -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "config ahead: an interrupted update to 100 is deployed and baked first",
            deployedAt(50),
            intendedAt(100),
            {},
            "wait-canary -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "--from-step 2",
            deployedAt(0),
            intendedAt(0),
            { fromStep: 2 },
            "wait-canary -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        ["--to-step 1", deployedAt(0), intendedAt(0), { toStep: 1 }, "wait-canary -> 10%"],
        [
            "a promotion that did not deploy (config gave stable the canary's definition)",
            deployedAt(100),
            intendedAt(100, "v2", "v2"),
            {},
            "verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        ["a promotion deployed but not returned", deployedAt(100, "v2", "v2"), intendedAt(100, "v2", "v2"), {}, "wait-stable -> return-to-stable"],
        ["a new canary in config at 0", deployedAt(0, "v1", "v1"), intendedAt(0, "v1", "v3"), { toStep: 1 }, "deploy-canary -> wait-canary -> 10%"],
        [
            "with an evaluation, before the first step",
            { ...deployedAt(0), evaluations: ["beforeTraffic"] },
            intendedAt(0),
            { toStep: 1 },
            "wait-canary -> evaluate -> 10%",
        ],
        [
            "with an evaluation, resumed mid-rollout: past it",
            { ...deployedAt(50), evaluations: ["beforeTraffic"] },
            intendedAt(50),
            { toStep: 2 },
            "wait-canary -> 50%",
        ],
        [
            "with an evaluation before traffic, after each step and before the promotion",
            { ...deployedAt(0), evaluations: ["beforeTraffic", "eachStep", "beforePromotion"] },
            intendedAt(0),
            {},
            "wait-canary -> evaluate -> 10% -> evaluate -> 50% -> evaluate -> 100% -> evaluate -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "before the promotion only, resumed at 50%",
            { ...deployedAt(50), evaluations: ["beforePromotion"] },
            intendedAt(50),
            {},
            "wait-canary -> 50% -> 100% -> evaluate -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "before the promotion, but stopping short of it",
            { ...deployedAt(0), evaluations: ["beforePromotion"] },
            intendedAt(0),
            { toStep: 2 },
            "wait-canary -> 10% -> 50%",
        ],
    ] as [string, DeployedState, IntendedState, RolloutOptions, string][])("%s", (_name, deployed, intended, options, expected) => {
        expect(phases(deployed, intended, options)).toBe(expected);
    });

    test.each([
        ["config behind the deployment (a stale checkout)", deployedAt(50), intendedAt(10), /config says canaryWeight 10, but 50 is deployed/],
        [
            "the canary edited mid-rollout",
            deployedAt(50),
            intendedAt(50, "v1", "v9"),
            /canary in the config \(v9\) differs from the deployed canary \(v2\) at weight 50/,
        ],
        ["stable edited mid-rollout", deployedAt(50), intendedAt(50, "v8", "v2"), /stable in the config \(v8\) differs from the deployed stable \(v1\)/],
        ["a promotion begun below 100%", deployedAt(50), intendedAt(50, "v2", "v2"), /canary serves 50%, not 100%/],
        ["stable changed directly in config", deployedAt(0, "v1", "v1"), intendedAt(0, "v5", "v1"), /deploy stable with `pulumi up`/],
    ] as [string, DeployedState, IntendedState, RegExp][])("refuses %s, naming the difference", (_name, deployed, intended, reason) => {
        expect(phases(deployed, intended)).toMatch(/^refuse: /);
        expect(phases(deployed, intended)).toMatch(reason);
    });

    test("nothing to roll out when the canary runs what stable runs, at 0", () => {
        expect(phases(deployedAt(0, "v1", "v1"), intendedAt(0, "v1", "v1"))).toMatch(/^nothing: /);
    });
});

describe("Judge", () => {
    const sample = (canary: VersionSample, stable: VersionSample = GOOD, firingAlarms: string[] = []): MetricsSample => ({
        window: { start: 0, end: 60_000 },
        versions: { stable, canary },
        firingAlarms,
    });

    test("a canary like stable passes, with evidence below every threshold", () => {
        const judge = new Judge(SCHEDULE);
        for (let i = 0; i < 20; i++) expect(judge.observe(sample(GOOD)).kind).toBe("pass");
        for (const e of judge.standing()) expect(e.evidence).toBeLessThan(e.threshold);
    });

    test.each([
        ["5xx against stable", { requests: 500, errors: 40, slow: 5, p99Ms: 8000 }, "canary 5xx rate above stable's"],
        ["slow requests against stable", { requests: 500, errors: 1, slow: 80, p99Ms: 30000 }, "canary slow-request rate above stable's"],
    ])("fails on %s, naming the test and its evidence", (_name, canary, test) => {
        const judge = new Judge(SCHEDULE);
        const verdict = judge.observe(sample(canary));
        expect(verdict.kind).toBe("fail");
        expect((verdict as { reason: string }).reason).toMatch(
            new RegExp(`^${test.replace(/\./g, "\\.")}: canary \\w+ [0-9.]+% \\(\\d+/500\\) vs stable \\w+ [0-9.]+% \\(\\d+/\\d+\\); evidence .* reached 400$`),
        );
    });

    test("with errorDispersion, 5xx weigh less: what fails on independent 5xx passes when they come in bursts of that size, and slow requests are judged as before", () => {
        const burst = { requests: 500, errors: 40, slow: 5, p99Ms: 8000 };
        const plain = new Judge(SCHEDULE);
        const dispersed = new Judge({ ...SCHEDULE, errorDispersion: 8 });
        expect(plain.observe(sample(burst)).kind).toBe("fail");
        expect(dispersed.observe(sample(burst)).kind).toBe("pass");
        // The evidence is the likelihood ratio's eighth root, near enough: a count eight times as variable carries an eighth of the information.
        const fivexx = (j: Judge) => j.standing().find((e) => e.test.startsWith("canary 5xx rate above stable's"))!.evidence;
        expect(Math.log(fivexx(dispersed))).toBeLessThan(Math.log(fivexx(plain)) / 4);
        const slow = { requests: 500, errors: 1, slow: 80, p99Ms: 30000 };
        expect(new Judge({ ...SCHEDULE, errorDispersion: 8 }).observe(sample(slow)).kind).toBe("fail");
    });

    test("a verdict quotes both versions' rates with the counts behind them", () => {
        const verdict = new Judge(SCHEDULE).observe(sample({ requests: 500, errors: 40, slow: 5, p99Ms: 8000 }));
        expect((verdict as { reason: string }).reason).toMatch(
            new RegExp(
                `^canary 5xx rate above stable's: canary 5xx 8\\.00% \\(40/500\\) vs stable 5xx ${((100 * GOOD.errors) / GOOD.requests).toFixed(2).replace(".", "\\.")}% \\(${GOOD.errors}/${GOOD.requests}\\); evidence `,
            ),
        );
    });

    test("at 100% (no stable traffic) the absolute limit still judges", () => {
        const judge = new Judge(SCHEDULE);
        const none = { requests: 0, errors: 0, slow: 0 };
        const verdict = judge.observe(sample({ requests: 600, errors: 90, slow: 6, p99Ms: 8000 }, none));
        expect(verdict).toMatchObject({ kind: "fail", reason: expect.stringMatching(/^canary 5xx rate above 5\.0%/) });
    });

    test("a window of the warm-up is judged by the absolute limit alone: slow and 5xx against stable count only after it", () => {
        const slowCanary = { requests: 500, errors: 1, slow: 80, p99Ms: 30000 };
        const judge = new Judge(SCHEDULE);
        expect(judge.observe(sample(slowCanary), true).kind).toBe("pass");
        expect(judge.observe(sample({ requests: 600, errors: 300, slow: 6, p99Ms: 8000 }, GOOD), true)).toMatchObject({
            kind: "fail",
            reason: expect.stringMatching(/^canary 5xx rate above 5\.0%/),
        });
        expect(new Judge(SCHEDULE).observe(sample(slowCanary), false).kind).toBe("fail");
    });

    test("a firing canary alarm fails", () => {
        expect(new Judge(SCHEDULE).observe(sample(GOOD, GOOD, ["canary-errors"]))).toEqual({ kind: "fail", reason: "alarm firing: canary-errors" });
    });

    test("acceptance: nothing shown at first; a canary like stable is shown within tolerance over the rollout, and at the last step before 100% on that step's data too", () => {
        const judge = new Judge(SCHEDULE);
        judge.newStep("ramp");
        expect(judge.acceptance()).toEqual({ accepted: false, reason: "not yet shown: 5xx rate under 2x stable's; slow-request rate under 1.5x stable's" });
        const like = { requests: 3000, errors: 30, slow: 60 };
        for (let i = 0; i < 40; i++) judge.observe(sample(like, like));
        expect(judge.acceptance().accepted).toBe(true);
        judge.newStep("last");
        expect(judge.acceptance().reason).toBe("not yet shown: 5xx rate under 5x stable's at this step; slow-request rate under 5x stable's at this step");
        for (let i = 0; i < 10; i++) judge.observe(sample(like, like));
        expect(judge.acceptance()).toEqual({ accepted: true, reason: "" });
    });
});
