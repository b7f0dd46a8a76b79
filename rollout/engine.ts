/**
 * The progressive rollout: step the canary's weight, bake while sampling metrics, judge,
 * then roll back or move on, and promote at the end. Everything it touches comes in
 * through the ports, so the same engine drives a real stack and the simulator.
 */
import { Clock, ConcurrentUpdate, MetricsSample, MetricsSource, StackPort, StackState } from "./ports";
import { judge, Verdict } from "./judge";
import { RolloutSchedule } from "./schedule";
import { progressLine } from "./report";

export interface RolloutOptions {
    /** Start at this step (1-based) instead of where the stack stands. */
    fromStep?: number;
    /** Stop after this step (1-based), leaving the weight there. */
    toStep?: number;
    /** On an interrupt, return traffic to stable instead of leaving the weight as it is. */
    rollbackOnInterrupt?: boolean;
}

export interface RolloutDeps {
    schedule: RolloutSchedule;
    stack: StackPort;
    metrics: MetricsSource;
    clock: Clock;
    log: (line: string) => void;
    /** Aborted on Ctrl-C. */
    signal?: AbortSignal;
}

export type Outcome = "promoted" | "paused" | "nothing-to-do" | "rolled-back" | "held" | "interrupted" | "failed";

export const EXIT_CODES: Record<Outcome, number> = {
    promoted: 0,
    paused: 0,
    "nothing-to-do": 0,
    "rolled-back": 1,
    failed: 2,
    held: 3,
    interrupted: 130,
};

export interface PlannedStep {
    /** 1-based position in the schedule; 0 for a resumed weight the schedule does not list. */
    index: number;
    weight: number;
}

export interface Plan {
    steps: PlannedStep[];
    /** Promote once the steps pass (the last step is 100 and no `toStep` cut it short). */
    promote: boolean;
    /** The stable version already has the canary's settings at 100%: only the return to stable is left. */
    finishPromotion: boolean;
    nothingToDo: boolean;
}

/** Where a rollout stands and what is left, from the stack's own state: this is what makes a rerun resume. */
export function planRollout(schedule: RolloutSchedule, state: StackState, options: RolloutOptions = {}): Plan {
    const sameImage = state.versions.stable.image === state.versions.canary.image;
    const w = state.canaryWeight;
    const none: Plan = { steps: [], promote: false, finishPromotion: false, nothingToDo: false };
    if (sameImage && w === 0) return { ...none, nothingToDo: true };
    if (sameImage && w === 100) return { ...none, finishPromotion: true };

    const indexed = schedule.steps.map((weight, i) => ({ index: i + 1, weight }));
    let steps: PlannedStep[];
    if (options.fromStep !== undefined) {
        steps = indexed.slice(options.fromStep - 1);
    } else {
        steps = w === 0 ? indexed : indexed.filter((s) => s.weight >= w);
        // A weight between steps (an earlier run stopped there) is baked again before going on.
        if (w > 0 && !schedule.steps.includes(w)) steps.unshift({ index: 0, weight: w });
    }
    if (options.toStep !== undefined) steps = steps.filter((s) => s.index <= options.toStep!);
    const promote = steps.length > 0 && steps[steps.length - 1].weight === 100 && (options.toStep ?? schedule.steps.length) >= schedule.steps.length;
    return { ...none, steps, promote };
}

export interface SampleRecord {
    at: number;
    step: number;
    weight: number;
    sample: MetricsSample;
    verdict: Verdict;
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
    steps: StepRecord[];
    samples: SampleRecord[];
    events: { at: number; message: string }[];
}

type BakeResult = Verdict | { kind: "interrupted" } | { kind: "timed-out"; reason: string };

class Interrupted extends Error {}

/** Runs the rollout to an outcome. Never throws: every failure becomes an outcome with a reason. */
export async function runRollout(deps: RolloutDeps, options: RolloutOptions = {}): Promise<RolloutResult> {
    const { schedule, stack, metrics, clock, log, signal } = deps;
    const startedAt = clock.now();
    const steps: StepRecord[] = [];
    const samples: SampleRecord[] = [];
    const events: { at: number; message: string }[] = [];
    const event = (message: string) => {
        events.push({ at: clock.now(), message });
        log(message);
    };
    const finish = (outcome: Outcome, reason: string): RolloutResult => {
        event(`${outcome}: ${reason}`);
        return { outcome, reason, exitCode: EXIT_CODES[outcome], startedAt, endedAt: clock.now(), steps, samples, events };
    };
    const checkInterrupt = () => {
        if (signal?.aborted) throw new Interrupted();
    };

    const rollback = async (reason: string): Promise<RolloutResult> => {
        event(`rolling back: ${reason}`);
        try {
            await stack.setWeight(0);
        } catch (e) {
            return finish("failed", `${reason}; the rollback's update failed too: ${(e as Error).message}`);
        }
        return finish("rolled-back", reason);
    };

    const bake = async (step: PlannedStep): Promise<BakeResult> => {
        const stepStart = clock.now();
        const sampleMs = schedule.sampleSeconds * 1000;
        const bakeMs = schedule.bakeSeconds * 1000;
        for (;;) {
            await clock.sleep(sampleMs);
            if (signal?.aborted) return { kind: "interrupted" };
            const now = clock.now();
            // Each interval alone can fail the step at once; the pass needs the whole bake.
            const interval = await metrics.sample({ start: now - sampleMs, end: now });
            const verdict = judge(schedule, interval);
            samples.push({ at: now, step: step.index, weight: step.weight, sample: interval, verdict });
            log(progressLine(step, schedule.steps.length, interval, verdict, now - stepStart));
            if (verdict.kind === "fail") return verdict;
            const elapsed = now - stepStart;
            if (elapsed < bakeMs) continue;
            const whole = judge(schedule, await metrics.sample({ start: stepStart, end: now }));
            if (whole.kind !== "insufficient") return whole;
            if (elapsed >= bakeMs + schedule.trafficWaitSeconds * 1000) return { kind: "timed-out", reason: whole.reason };
        }
    };

    let state: StackState;
    try {
        state = await stack.read();
    } catch (e) {
        return finish("failed", `could not read the stack: ${(e as Error).message}`);
    }
    const plan = planRollout(schedule, state, options);
    if (plan.nothingToDo) return finish("nothing-to-do", "the canary runs the stable image at weight 0; nothing to roll out");

    let weight = state.canaryWeight;
    // Once promotion starts, a failure must not send traffic back to a half-updated stable.
    let promoting = plan.finishPromotion;
    try {
        if (!plan.finishPromotion) {
            for (const step of plan.steps) {
                checkInterrupt();
                const record: StepRecord = { index: step.index, weight: step.weight, startedAt: clock.now() };
                steps.push(record);
                event(`step ${step.index || "(resumed)"}/${schedule.steps.length}: canaryWeight ${step.weight}`);
                if (weight !== step.weight) {
                    await stack.setWeight(step.weight);
                    weight = step.weight;
                }
                const result = await bake(step);
                record.endedAt = clock.now();
                if (result.kind === "interrupted") throw new Interrupted();
                if (result.kind === "timed-out") {
                    record.verdict = { kind: "insufficient", reason: result.reason };
                    const reason = `not enough canary traffic after ${schedule.bakeSeconds + schedule.trafficWaitSeconds} s at ${step.weight}%: ${result.reason}`;
                    if (schedule.onLowTraffic === "rollback") return await rollback(reason);
                    return finish("held", `${reason}; holding at ${step.weight}% (rerun to continue)`);
                }
                record.verdict = result;
                if (result.kind === "fail") return await rollback(`step ${step.index} at ${step.weight}%: ${result.reason}`);
            }
            if (!plan.promote) return finish("paused", `stopped after step ${plan.steps.at(-1)?.index} at ${weight}% as asked`);
            checkInterrupt();
            promoting = true;
            event("promoting: the stable version takes the canary's settings while the canary serves 100%");
            await stack.promoteCanarySettings();
        }
        event("waiting for the stable version's new tasks to be healthy");
        await stack.waitHealthy("stable");
        checkInterrupt();
        event("returning traffic to stable (canaryWeight 0)");
        await stack.setWeight(0);
        return finish("promoted", "every step passed; stable now runs the canary's image");
    } catch (e) {
        // Ctrl-C also reaches the `pulumi` child, which cancels its update: that failure is the interrupt.
        if (e instanceof Interrupted || signal?.aborted) {
            if (options.rollbackOnInterrupt && !promoting) return await rollback("interrupted");
            return finish("interrupted", `interrupted at ${weight}%; the stack holds the state, so rerunning resumes`);
        }
        if (e instanceof ConcurrentUpdate) {
            return finish("failed", `another update is running on this stack, so this run stopped without retrying (${e.message}). Rerun when it finishes.`);
        }
        if (promoting) {
            // Rolling back now would send traffic to a stable version that may be half-updated.
            return finish("failed", `promotion did not finish: ${(e as Error).message}; traffic stays on the canary at ${weight}%. Rerun to finish the promotion.`);
        }
        return await rollback(`${(e as Error).name}: ${(e as Error).message}`);
    }
}
