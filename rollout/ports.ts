/**
 * What the rollout engine needs from the world, as small interfaces. The real adapters
 * (`pulumiStack.ts`, `cloudwatch.ts`) and the simulator (`simulate.ts`) implement them,
 * so the engine runs the same against AWS and against synthetic data.
 */
import { Version } from "../mesh/config/schema";

/** Traffic a version served in a window, as CloudWatch reports it. */
export interface VersionSample {
    requests: number;
    errors: number;
    /** p99 request time, or undefined when there were no requests. */
    p99Ms?: number;
}

export interface MetricsWindow {
    /** Epoch milliseconds. */
    start: number;
    end: number;
}

export interface MetricsSample {
    window: MetricsWindow;
    versions: Record<Version, VersionSample>;
    /** Names of the stack's canary alarms that are in ALARM. */
    firingAlarms: string[];
}

export interface MetricsSource {
    sample(window: MetricsWindow): Promise<MetricsSample>;
}

/** What the stack holds now: the rollout's whole state lives here, so a rerun resumes. */
export interface StackState {
    canaryWeight: number;
    /** The config objects of each version (`stable`, `canary`): image, cpu, memory, ... */
    versions: Record<Version, Record<string, unknown>>;
}

export interface StackPort {
    read(): Promise<StackState>;
    /** Sets `canaryWeight` and deploys; throws `UpdateFailed` or `ConcurrentUpdate`. */
    setWeight(weight: number): Promise<void>;
    /** Gives the stable version the canary's settings (keeping its own task count) and deploys. */
    promoteCanarySettings(): Promise<void>;
    /** Resolves once the version's service runs its desired count of healthy tasks. */
    waitHealthy(version: Version): Promise<void>;
}

/** `pulumi up` failed; the stack is as the failed update left it. */
export class UpdateFailed extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UpdateFailed";
    }
}

/** Someone else is updating the stack; retrying blindly could fight them. */
export class ConcurrentUpdate extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ConcurrentUpdate";
    }
}

export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
