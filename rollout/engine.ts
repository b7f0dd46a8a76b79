/**
 * The progressive rollout: run the plan's phases in order. Each weight step first raises
 * the canary's minimum task count to its share of the current load and waits for those
 * tasks to be healthy (its own update, changing only the canary's scalable target; the
 * return to a promoted stable does the same for stable), then deploys the weight (an
 * update that may change nothing else), verifies it at the traffic layer, bakes while
 * sampling metrics and judges; a failure rolls back, and after the last step
 * the promotion runs as explicit phases in an order that never sends a request to a
 * version without healthy tasks. Everything it touches comes in through the ports.
 */
import { Clock, ConcurrentUpdate, ControlPort, DeployedState, LeaseLost, MetricsSample, MetricsSource, ServicesPort, StackPort, TrafficPort, UpdateRefused } from "./ports";
import { Evidence, Judge, Verdict } from "./judge";
import { RolloutSchedule } from "./schedule";
import { progressLine } from "./report";
import { Phase, planRollout, RolloutOptions } from "./plan";
import { capacityFor } from "./capacity";
import { Version } from "../mesh/config/schema";

export interface RolloutDeps {
    schedule: RolloutSchedule;
    stack: StackPort;
    services: ServicesPort;
    traffic: TrafficPort;
    metrics: MetricsSource;
    control?: ControlPort;
    clock: Clock;
    /** Every line: events and per-sample progress. */
    log: (line: string) => void;
    /** Events only (a step starts, passes, a rollback, the promotion, the outcome): for notifications. */
    notify?: (event: string) => void;
    /** Aborted on SIGINT or SIGTERM: the rollout stops within seconds, leaving the weight as it is. */
    signal?: AbortSignal;
    /** The gates, when not the sequential tests (the benchmark compares them with earlier gates). */
    judge?: JudgeLike;
}

/** What the engine asks of its gates. */
export interface JudgeLike {
    observe(sample: MetricsSample): Verdict;
    newStep(): void;
    standing(): Evidence[];
}

export type Outcome = "promoted" | "paused" | "nothing-to-do" | "rolled-back" | "held" | "interrupted" | "refused" | "failed";

/** Exit codes, as docs/rollout.md documents them. */
export const EXIT_CODES: Record<Outcome, number> = {
    promoted: 0,
    paused: 0,
    "nothing-to-do": 0,
    "rolled-back": 1,
    failed: 2,
    refused: 4,
    held: 3,
    interrupted: 130,
};

export interface SampleRecord {
    at: number;
    step: number;
    weight: number;
    sample: MetricsSample;
    verdict: Verdict;
    /** Each test's evidence against its threshold after this sample. */
    evidence: Evidence[];
}

export interface StepRecord {
    index: number;
    weight: number;
    startedAt: number;
    endedAt?: number;
    verdict?: Verdict;
}

export interface RolloutResult {
    outcome: Outcome;
    reason: string;
    exitCode: number;
    startedAt: number;
    endedAt: number;
    /** The weight deployed when the rollout ended, as the stack's outputs report it. */
    finalWeight?: number;
    steps: StepRecord[];
    samples: SampleRecord[];
    events: { at: number; message: string }[];
}

type BakeResult = Verdict | { kind: "timed-out"; reason: string } | { kind: "outage"; reason: string };

/** Someone asked the rollout to stop (a signal) or to roll back (`abort`). */
class Stop extends Error {
    constructor(readonly abortRequestedBy?: string) {
        super(abortRequestedBy ? `aborted by ${abortRequestedBy}` : "interrupted");
    }
}

/** How long the traffic layer may take to report a weight it was given. */
const VERIFY_ATTEMPTS = 10;
const VERIFY_INTERVAL_MS = 3_000;
/** The stretch of traffic a version's capacity is sized from, ending where metrics are complete. */
const LOAD_WINDOW_MS = 5 * 60_000;

/** Runs the rollout to an outcome. Never throws: every failure becomes an outcome with a reason. */
export async function runRollout(deps: RolloutDeps, options: RolloutOptions = {}): Promise<RolloutResult> {
    const { schedule, stack, services, traffic, metrics, control, clock, log, notify, signal } = deps;
    const startedAt = clock.now();
    const steps: StepRecord[] = [];
    const samples: SampleRecord[] = [];
    const events: { at: number; message: string }[] = [];
    let deployed: DeployedState | undefined;
    let status = "starting";
    /** The last few sample lines, published with the status so `status` shows the last verdicts. */
    const recent: string[] = [];

    const event = (message: string) => {
        events.push({ at: clock.now(), message });
        log(message);
        notify?.(message);
    };
    const finish = (outcome: Outcome, reason: string): RolloutResult => {
        event(`${outcome}: ${reason}`);
        return { outcome, reason, exitCode: EXIT_CODES[outcome], startedAt, endedAt: clock.now(), finalWeight: deployed?.canaryWeight, steps, samples, events };
    };
    /** Stops here when a signal arrived or someone asked to abort; keeps the lease alive. */
    const checkpoint = async () => {
        if (signal?.aborted) throw new Stop();
        const reply = await control?.heartbeat([status, ...recent].join("\n"));
        if (reply?.abortRequestedBy) throw new Stop(reply.abortRequestedBy);
    };
    const wait = async (ms: number) => {
        await clock.sleep(ms, signal);
        await checkpoint();
    };

    const verifyWeight = async (weight: number) => {
        for (let attempt = 1; ; attempt++) {
            const seen = await traffic.canaryWeight();
            if (seen === weight) return;
            if (attempt === VERIFY_ATTEMPTS) throw new Error(`the traffic layer sends ${seen}% to the canary, not the ${weight}% just deployed`);
            // No checkpoint here: a rollback verifies its weight too, and must not stop halfway.
            await clock.sleep(VERIFY_INTERVAL_MS, signal);
        }
    };
    const setWeight = async (weight: number) => {
        status = `setting canaryWeight ${weight}`;
        if (deployed?.canaryWeight !== weight) deployed = await stack.setWeight(weight);
        await verifyWeight(weight);
        event(`canaryWeight ${weight} deployed and verified at the traffic layer`);
    };

    /** Once the rollout is done with a version's share, its minimum goes back to its resting value; says what stayed if that failed. */
    const release = async (version: Version): Promise<string> => {
        const scaling = deployed?.scaling?.[version];
        if (!scaling || scaling.minCount === scaling.restingMinCount) return "";
        try {
            event(`returning the ${version}'s minimum task count from ${scaling.minCount} to ${scaling.restingMinCount}`);
            deployed = await stack.setMinCount(version, undefined);
            return "";
        } catch (e) {
            return `; the ${version}'s minimum task count stays at ${scaling.minCount} (${(e as Error).message}), which the next run returns to ${scaling.restingMinCount}`;
        }
    };
    const releaseAll = async () => (await release("canary")) + (await release("stable"));

    const rollback = async (reason: string): Promise<RolloutResult> => {
        event(`rolling back: ${reason}`);
        try {
            deployed = await stack.setWeight(0);
            await verifyWeight(0);
        } catch (e) {
            return finish("failed", `${reason}; the rollback failed too: ${(e as Error).message}`);
        }
        return finish("rolled-back", `${reason}${await releaseAll()}`);
    };

    const judge = deps.judge ?? new Judge(schedule);
    const delayMs = schedule.metricsDelaySeconds * 1000;
    /** Reads a window, retrying a failed read with backoff; undefined when every try failed. */
    const read = async (window: { start: number; end: number }) => {
        for (const backoffMs of [5_000, 15_000, 0]) {
            try {
                return await metrics.sample(window);
            } catch (e) {
                log(`reading metrics failed: ${(e as Error).message}${backoffMs ? `; retrying in ${backoffMs / 1000} s` : ""}`);
                if (backoffMs) await wait(backoffMs);
            }
        }
        return undefined;
    };

    /**
     * Bakes a step. Metrics are complete `metricsDelaySeconds` after the fact, so each read
     * covers the stretch up to that point, and the bake counts from the first data that
     * covers the new weight: "not ingested yet" is never mistaken for "no traffic".
     */
    const bake = async (step: { index: number; weight: number }, stepStart: number): Promise<BakeResult> => {
        const bakeMs = schedule.bakeSeconds * 1000;
        judge.newStep();
        let covered = stepStart;
        let canaryRequests = 0;
        let outageSince: number | undefined;
        for (;;) {
            status = `step ${step.index || "(resumed)"} at ${step.weight}%: baking`;
            await wait(schedule.sampleSeconds * 1000);
            const end = clock.now() - delayMs;
            if (end <= covered) continue;
            const sample = await read({ start: covered, end });
            if (sample === undefined) {
                outageSince ??= clock.now();
                if (clock.now() - outageSince >= schedule.metricsOutageSeconds * 1000) {
                    return { kind: "outage", reason: `metrics unreadable for ${Math.round((clock.now() - outageSince) / 1000)} s at ${step.weight}%` };
                }
                continue;
            }
            outageSince = undefined;
            covered = end;
            canaryRequests += sample.versions.canary.requests;
            const verdict = judge.observe(sample);
            samples.push({ at: clock.now(), step: step.index, weight: step.weight, sample, verdict, evidence: judge.standing() });
            const line = progressLine(step, schedule.steps.length, sample, verdict, end - stepStart, judge.standing());
            log(line);
            recent.push(line);
            if (recent.length > 5) recent.shift();
            if (verdict.kind === "fail") return verdict;
            const baked = end - stepStart;
            if (baked < bakeMs) continue;
            if (canaryRequests >= schedule.minRequests) return { kind: "pass" };
            const reason = `the canary served ${canaryRequests} requests at this step; ${schedule.minRequests} needed to pass`;
            if (baked >= bakeMs + schedule.trafficWaitSeconds * 1000) return { kind: "timed-out", reason };
        }
    };

    /**
     * Before a version's share grows to `share` percent: raise its minimum task count to that
     * share of the current load, and wait until that many of its tasks are healthy. Never
     * lowered mid-rollout.
     */
    const sizeFor = async (version: Version, share: number) => {
        const scaling = deployed?.scaling?.[version];
        if (!scaling) return;
        const end = clock.now() - delayMs;
        const load = await read({ start: end - LOAD_WINDOW_MS, end });
        if (!load) {
            event(`the current load is unreadable, so the ${version} keeps its minimum of ${scaling.minCount} tasks (autoscaling still follows its load)`);
            return;
        }
        const perMinute = ((load.versions.stable.requests + load.versions.canary.requests) * 60_000) / LOAD_WINDOW_MS;
        const { count, capped } = capacityFor(perMinute, share, scaling);
        if (capped) event(`${share}% of ${Math.round(perMinute)} requests a minute needs more ${version} tasks than its maxCount (${scaling.maxCount}); going ahead with ${count}`);
        await raiseTo(version, count, `${share}% of ${Math.round(perMinute)} requests a minute`);
    };
    /** Raises a version's minimum task count (never lowers it) and waits until that many of its tasks are healthy. */
    const raiseTo = async (version: Version, count: number, why: string) => {
        const scaling = deployed?.scaling?.[version];
        if (!scaling || count <= scaling.minCount) return;
        status = `raising the ${version}'s minimum task count to ${count}`;
        event(`raising the ${version}'s minimum task count from ${scaling.minCount} to ${count} for ${why} (only its scalable target changes)`);
        const raised = await stack.setMinCount(version, count);
        deployed = raised;
        status = `waiting for ${count} healthy ${version} tasks`;
        const progress = (line: string) => {
            status = line;
            log(line);
        };
        await services.waitHealthy(version, raised.versions[version].taskDefinitionArn, count, { signal, heartbeat: checkpoint, progress });
        await checkpoint();
        event(`${count} ${version} tasks are healthy`);
    };

    const waitRunning = async (version: "stable" | "canary") => {
        const arn = deployed!.versions[version].taskDefinitionArn;
        status = `waiting for ECS to run ${version} ${arn}`;
        event(`waiting until ECS runs the ${version} version's deployed revision (${arn.split("/").pop()}) in a completed deployment`);
        // A model can take most of an hour to load: the lease is renewed, and an abort heard, meanwhile.
        await services.waitRunning(version, arn, { signal, heartbeat: checkpoint });
        await checkpoint();
    };

    let promoting = false;
    try {
        deployed = await stack.deployed();
        const plan = planRollout(schedule, deployed, await stack.intended(), options);
        if (plan.kind === "refuse") return finish("refused", plan.reason);
        if (plan.kind === "nothing") return finish("nothing-to-do", plan.reason);
        event(`plan: ${plan.summary}`);

        let lastStep: Phase | undefined;
        for (const phase of plan.phases) {
            await checkpoint();
            switch (phase.kind) {
                case "deploy-canary":
                    status = "deploying the canary's settings at weight 0";
                    event("deploying the canary's new settings at weight 0 (only the canary's service changes)");
                    deployed = await stack.deployCanary();
                    break;
                case "wait-canary":
                    await waitRunning("canary");
                    break;
                case "evaluate": {
                    // A canary that rests at zero tasks runs one for its evaluation.
                    await raiseTo("canary", 1, "its evaluation");
                    const when = { beforeTraffic: "before it gets traffic", eachStep: `after the ${deployed.canaryWeight}% step`, beforePromotion: "before the promotion" }[phase.moment];
                    status = `running the evaluation ${when}`;
                    event(`running the evaluation task against the canary (pinned), ${when}`);
                    const evaluation = await services.evaluate({ signal, heartbeat: checkpoint });
                    await checkpoint();
                    if (evaluation.exitCode !== 0) {
                        if (deployed.canaryWeight > 0) return await rollback(`the evaluation ${when} failed (${evaluation.reason})`);
                        return finish("failed", `the evaluation failed (${evaluation.reason}); the canary got no traffic${await releaseAll()}`);
                    }
                    event(`the evaluation passed (${evaluation.reason})`);
                    break;
                }
                case "step": {
                    lastStep = phase;
                    const record: StepRecord = { index: phase.index, weight: phase.weight, startedAt: clock.now() };
                    steps.push(record);
                    event(`step ${phase.index || "(resumed)"}/${schedule.steps.length}: canaryWeight ${phase.weight}`);
                    await sizeFor("canary", phase.weight);
                    await setWeight(phase.weight);
                    const result = await bake(phase, clock.now());
                    record.endedAt = clock.now();
                    if (result.kind === "outage") {
                        record.verdict = { kind: "inconclusive", reason: result.reason };
                        if (schedule.onMetricsOutage === "rollback") return await rollback(result.reason);
                        return finish("held", `${result.reason}; holding at ${phase.weight}% (rerun to continue)`);
                    }
                    if (result.kind === "timed-out") {
                        record.verdict = { kind: "inconclusive", reason: result.reason };
                        const reason = `not enough canary traffic after ${schedule.bakeSeconds + schedule.trafficWaitSeconds} s at ${phase.weight}%: ${result.reason}`;
                        if (schedule.onLowTraffic === "rollback") return await rollback(reason);
                        return finish("held", `${reason}; holding at ${phase.weight}% (rerun to continue)`);
                    }
                    record.verdict = result;
                    if (result.kind === "fail") return await rollback(`step ${phase.index || "(resumed)"} at ${phase.weight}%: ${result.reason}`);
                    break;
                }
                case "verify-canary-full":
                    await verifyWeight(100);
                    break;
                case "promote":
                    promoting = true;
                    status = "promoting";
                    event("promoting: stable takes the canary's definition while the canary serves 100% (only stable's service changes)");
                    deployed = await stack.promote();
                    break;
                case "wait-stable":
                    promoting = true;
                    await waitRunning("stable");
                    break;
                case "return-to-stable":
                    await sizeFor("stable", 100);
                    event("returning traffic to the promoted stable (canaryWeight 0)");
                    await setWeight(0);
                    return finish("promoted", `every step passed; stable runs the canary's definition and serves all traffic${await releaseAll()}`);
            }
        }
        const last = lastStep?.kind === "step" ? lastStep : undefined;
        return finish("paused", `stopped after step ${last?.index} at ${deployed.canaryWeight}% as asked`);
    } catch (e) {
        if (e instanceof Stop && e.abortRequestedBy && !promoting) return await rollback(e.message);
        // SIGINT also reaches the `pulumi` child, which cancels its update: that failure is the interrupt.
        if (signal?.aborted || e instanceof Stop) {
            return finish("interrupted", `interrupted at ${deployed?.canaryWeight ?? "?"}%; the stack holds the state, so rerunning resumes`);
        }
        if (e instanceof UpdateRefused) return finish("refused", e.message);
        if (e instanceof LeaseLost) return finish("failed", `${e.message}; stopped without changing anything more, at ${deployed?.canaryWeight}%`);
        if (e instanceof ConcurrentUpdate) {
            return finish("failed", `another update is running on this stack, so this run stopped without retrying (${e.message}). Rerun when it finishes.`);
        }
        if (promoting) {
            // Rolling back now would send traffic to a stable version that may be half-updated.
            return finish("failed", `promotion did not finish: ${(e as Error).message}; traffic stays on the canary at ${deployed?.canaryWeight}%. Rerun to finish the promotion.`);
        }
        if (deployed === undefined) return finish("failed", `could not read the stack: ${(e as Error).message}`);
        if (deployed.canaryWeight === 0) return finish("failed", (e as Error).message);
        return await rollback((e as Error).message);
    }
}
