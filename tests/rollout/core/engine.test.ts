/**
 * The rollout engine on a fake clock, stack, services, traffic layer and metrics
 * (`tests/harness/fakeRollout.ts`): every path it can take, and capacity that follows weight.
 */
import { VirtualClock } from "../../../rollout/simulator/world";
import { runRollout } from "../../../rollout/core/engine";
import { capacityFor } from "../../../rollout/core/capacity";
import { ControlPort, DeployedState, LeaseLost, MetricsWindow } from "../../../rollout/core/ports";

import { SCHEDULE, GOOD, BAD, QUIET, deployedAt, intendedAt, FakeStack, FakeMetrics, FakeControl, setup } from "../../harness/fakeRollout";
import { PacedPair, PairedStream, StreamPort } from "../../../rollout/core/stream";
import { GoldenItem } from "../../../contract/golden";

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

    test.each([
        // requests a minute, weight, the runner's a minute to this version, expected count
        [200, 5, 60, 4],
        [0, 0, 60, 3],
        [200, 50, 0, 5],
    ])("%d requests a minute at %d%% and a paired stream's %d: %d tasks", (load, weight, pinned, count) => {
        expect(capacityFor(load, weight, { minCount: 1, restingMinCount: 1, maxCount: 8, requestsPerTaskPerMinute: 20 }, pinned).count).toBe(count);
    });
});

describe("with a paired stream", () => {
    /** A runner whose every answer ends 30 s after its invocation began, 10 pairs a minute, one in five a 503 on both versions. */
    class ClockedRunner implements StreamPort {
        calls: number[] = [];
        constructor(private readonly clock: VirtualClock) {}
        async pace(items: GoldenItem[]): Promise<PacedPair[]> {
            const at = this.clock.now();
            this.calls.push(at);
            const answer = (status: number) => ({ status, ms: 1000, firstMs: 200, doneAt: at + 30_000, body: "yes" });
            return items.map((item, i) => ({ id: item.id, stable: answer(i % 5 === 0 ? 503 : 200), canary: answer(i % 5 === 0 ? 503 : 200) }));
        }
    }
    const items: GoldenItem[] = [{ id: "q", request: { stream: true }, expected: "yes" }];

    test("the runner sends while the steps bake; each judged minute is live traffic less the runner's, its own counts judged beside it; it stops with the rollout", async () => {
        const clock = new VirtualClock();
        const runner = new ClockedRunner(clock);
        const stream = new PairedStream(runner, items, { ratePerSecond: 10 / 60, slowMs: 10_000, gates: [], seed: 1 }, () => {});
        const { run } = setup(() => GOOD, deployedAt(0), intendedAt(0), undefined, { stream }, clock);
        const result = await run();
        expect(result.outcome).toBe("promoted");
        expect(runner.calls.length).toBeGreaterThan(10);
        const judged = result.samples.filter((s) => s.paired);
        expect(judged).toHaveLength(result.samples.length);
        for (const s of judged) {
            const minutes = (s.sample.window.end - s.sample.window.start) / 60_000;
            const ran = s.paired!.versions.canary.requests;
            // The layer's 500 canary requests a minute, less the runner's in those minutes (its 503s too).
            if (s.sample.versions.canary.requests > 0) expect(s.sample.versions.canary.requests).toBe(500 * minutes - ran);
            expect(s.paired!.versions.canary.errors).toBe(ran / 5);
        }
        // Every pair whose answers ended before the last judged minute's end is judged, once.
        const pairs = judged.reduce((n, s) => n + s.paired!.versions.stable.requests, 0);
        const end = judged.at(-1)!.sample.window.end;
        expect(pairs).toBe(10 * runner.calls.filter((at) => at + 30_000 < end).length);
        const calls = runner.calls.length;
        stream.tick(clock.now() + 3_600_000);
        expect(runner.calls.length).toBe(calls);
    });
});
