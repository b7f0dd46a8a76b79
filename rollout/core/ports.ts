/**
 * What the rollout engine needs from the world, as small interfaces. The real adapters
 * (`pulumiStack.ts`, `aws.ts`, `cloudwatch.ts`) and the simulator (`simulate.ts`)
 * implement them, so the engine runs the same against AWS and against synthetic data.
 */
import type { GoldenItem } from "../../contract/golden";
import { Version } from "../../contract/versions";
import type { EvaluationMoment } from "../../contract/outputs";

/** Traffic a version served in a window, as CloudWatch reports it. */
export interface VersionSample {
    requests: number;
    errors: number;
    /** Requests slower than the schedule's `slowRequestSeconds`. */
    slow: number;
    /** p99 request time, or undefined when there were no requests. */
    p99Ms?: number;
    /** The model's gates (`rollout.gates`), by name: each one's events and trials, where the stack has it. */
    gates?: Record<string, GateCounts>;
}

/** A gate's bad events and the trials they are out of. */
export interface GateCounts {
    events: number;
    requests: number;
}

export interface MetricsWindow {
    /** Epoch milliseconds. */
    start: number;
    end: number;
}

/** Whole minutes summed for the judge (`minutes.ts`). */
export interface MetricsSample {
    window: MetricsWindow;
    versions: Record<Version, VersionSample>;
    /** Names of the stack's canary alarms that are in ALARM. */
    firingAlarms: string[];
}

/** One whole minute as CloudWatch has it: each version's bucket, or undefined where it has no data point (yet, or at all). */
export interface MinuteSample {
    /** Epoch milliseconds, on a whole minute. */
    start: number;
    versions: Record<Version, VersionSample | undefined>;
}

export interface MetricsSource {
    /** Every whole minute in [start, end) (both on whole minutes), oldest first, as CloudWatch has it now. */
    minutes(range: MetricsWindow): Promise<MinuteSample[]>;
    /** Names of the stack's canary alarms that are in ALARM. */
    firingAlarms(): Promise<string[]>;
}

/** One version as the last successful update deployed it (the stack's outputs). */
export interface DeployedVersion {
    fingerprint: string;
    taskDefinitionArn: string;
}

/** A version's task-count bounds as deployed (Service Auto Scaling works between them). */
export interface DeployedScaling {
    /** The minimum in force (as the rollout raised it, while it does). */
    minCount: number;
    /** The minimum the config gives the version at rest. */
    restingMinCount: number;
    maxCount: number;
    /** The load one task is sized for. */
    requestsPerTaskPerMinute: number;
}

/** What is deployed: the rollout plans from this, never from local config alone. */
export interface DeployedState {
    canaryWeight: number;
    versions: Record<Version, DeployedVersion>;
    /** Each version's scaling, when capacity follows weight. */
    scaling?: Record<Version, DeployedScaling>;
    /** When the stack's evaluation runs, if it declares one. */
    evaluations?: EvaluationMoment[];
}

/** What the local config (the stack file this runner would deploy) says. */
export interface IntendedState {
    canaryWeight: number;
    /** `fingerprint(definitionOf(version))` of each version's config. */
    fingerprints: Record<Version, string>;
    /** Each version's least task count the config would deploy. */
    minCounts?: Record<Version, number>;
}

/**
 * The stack. Each update is guarded: before it deploys, it refuses (with `UpdateRefused`,
 * naming them) when anything but what it is for would change.
 */
export interface StackPort {
    deployed(): Promise<DeployedState>;
    intended(): Promise<IntendedState>;
    /** Sets `canaryWeight` and deploys; only the resource that carries the split may change. */
    setWeight(weight: number): Promise<DeployedState>;
    /** Deploys the canary's settings as the config has them; only the canary's service may change. */
    deployCanary(): Promise<DeployedState>;
    /** Gives stable the canary's definition (not its scaling bounds) and deploys; only stable's service may change. */
    promote(): Promise<DeployedState>;
    /**
     * Raises a version's minimum task count to `count` (or, with undefined, returns it to its
     * resting value) and deploys; only that version's scalable target may change.
     */
    setMinCount(version: Version, count: number | undefined): Promise<DeployedState>;
}

/**
 * How a long wait stays answerable: `signal` cuts its sleeps short, `heartbeat` runs at
 * every poll (it keeps the lease, and throws to stop the wait), `progress` hears what the
 * wait is stuck on whenever that changes.
 */
export interface Waiting {
    signal?: AbortSignal;
    heartbeat?: () => Promise<void>;
    progress?: (line: string) => void;
}

/** The ECS services that run the versions. */
export interface ServicesPort {
    /**
     * Resolves once the version's service runs `taskDefinitionArn` in a COMPLETED PRIMARY
     * deployment; throws `ServiceRolledBack` when ECS's circuit breaker rolled it back.
     */
    waitRunning(version: Version, taskDefinitionArn: string, waiting?: Waiting): Promise<void>;
    /** Resolves once at least `count` tasks of the version's revision `taskDefinitionArn` run and pass their health checks. */
    waitHealthy(version: Version, taskDefinitionArn: string, count: number, waiting?: Waiting): Promise<void>;
    /** Runs the stack's evaluation task once and waits for it: its exit code (undefined if it never ran to an exit) and why; undefined when the stack declares no evaluation image. */
    evaluate(waiting?: Waiting): Promise<{ exitCode?: number; reason: string } | undefined>;
}

/**
 * One version's answer to a golden item, as the runner returns it (`mesh/evaluation/handler.js`):
 * status 0 when no answer came. A runner deployed before it returned when the answer ended (and
 * what it carried) leaves those out.
 */
export interface RunnerAnswer {
    status: number;
    ms: number;
    body: string;
    truncated?: boolean;
    error?: string;
    firstMs?: number;
    doneAt?: number;
    tokens?: number;
    finish?: string;
}

/** The golden set's runner in the VPC: each item sent to both versions through their pins, the answers in the items' order. */
export interface RunnerPort {
    answer(items: GoldenItem[], waiting?: Waiting): Promise<{ stable: RunnerAnswer; canary: RunnerAnswer }[]>;
}

/** A judge model that compares two answers to a prompt: the first, the second, or a tie, with its words. */
export interface PairJudge {
    prefer(prompt: string, first: string, second: string): Promise<{ choice: "first" | "second" | "tie"; words: string }>;
}

/** The traffic layer itself (App Mesh route, Lattice listener), read back after every weight change. */
export interface TrafficPort {
    canaryWeight(): Promise<number>;
}

/** Where a rollout in progress is visible to others, and how they reach it. */
export interface ControlPort {
    /** Called at every sample and wait: keeps the lease, publishes `status`, and returns an abort request if one was made. */
    heartbeat(status: string): Promise<{ abortRequestedBy?: string }>;
}

/** An error the engine tells apart by its class, named after it. */
class RolloutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = new.target.name;
    }
}

/** `pulumi up` failed; the stack is as the failed update left it. */
export class UpdateFailed extends RolloutError {}

/** An update would have changed more than it was for; nothing was deployed. */
export class UpdateRefused extends RolloutError {}

/** Someone else is updating the stack; retrying blindly could fight them. */
export class ConcurrentUpdate extends RolloutError {}

/** Another runner took this rollout's lease (it was broken as stale): this one must change nothing more. */
export class LeaseLost extends RolloutError {}

/** ECS rolled a version's new deployment back (deployment circuit breaker). */
export class ServiceRolledBack extends RolloutError {}

export interface Clock {
    now(): number;
    /** Waits `ms`, or less when `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Real time, or time run `scale` times faster from `origin` (epoch ms): end-to-end tests
 * compress a rollout this way, through the same code path, with every process of a test
 * sharing one origin.
 */
export function systemClock(scale = 1, origin = Date.now()): Clock {
    return {
        now: () => origin + (Date.now() - origin) * scale,
        sleep: (ms, signal) =>
            new Promise((resolve) => {
                if (signal?.aborted) return resolve();
                const timer = setTimeout(done, ms / scale);
                function done() {
                    clearTimeout(timer);
                    signal?.removeEventListener("abort", done);
                    resolve();
                }
                signal?.addEventListener("abort", done, { once: true });
            }),
    };
}
