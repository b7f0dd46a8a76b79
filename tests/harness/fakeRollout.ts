/**
 * A fake clock, stack, services, traffic layer, metrics and control for the rollout's core:
 * a stack whose config and deployment are separate, metrics that follow the weight in force,
 * and `setup`, which wires them into `runRollout` as the CLI does with the real adapters.
 */
import { VirtualClock } from "../../rollout/simulator/world";
import { runRollout } from "../../rollout/core/engine";
import { RolloutOptions } from "../../rollout/core/plan";
import type { RolloutDeps } from "../../rollout/core/deps";
import {
    ConcurrentUpdate,
    ControlPort,
    DeployedState,
    IntendedState,
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
} from "../../rollout/core/ports";

import { DEFAULT_SCHEDULE, RolloutSchedule } from "../../contract/schedule";

export const SCHEDULE: RolloutSchedule = { ...DEFAULT_SCHEDULE, steps: [10, 50, 100], bakeSeconds: 300, sampleSeconds: 60, trafficWaitSeconds: 600 };
export const GOOD: VersionSample = { requests: 500, errors: 1, slow: 5, p99Ms: 8000 };
export const BAD: VersionSample = { requests: 500, errors: 100, slow: 5, p99Ms: 8000 };
export const QUIET: VersionSample = { requests: 3, errors: 0, slow: 0, p99Ms: 8000 };

export const deployedAt = (canaryWeight: number, stable = "v1", canary = "v2"): DeployedState => ({
    canaryWeight,
    versions: { stable: { fingerprint: stable, taskDefinitionArn: `td/${stable}:1` }, canary: { fingerprint: canary, taskDefinitionArn: `td/${canary}:1` } },
});
export const intendedAt = (canaryWeight: number, stable = "v1", canary = "v2"): IntendedState => ({ canaryWeight, fingerprints: { stable, canary } });

/**
 * A stack whose config and deployment are separate, as on disk and in the backend: an
 * update copies the config's part it is for, and can be made to fail or be refused.
 */
export class FakeStack implements StackPort, ServicesPort, TrafficPort {
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
export class FakeMetrics implements MetricsSource {
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
export class FakeControl implements ControlPort {
    beats: string[] = [];
    constructor(private readonly abortAfter = Infinity) {}
    async heartbeat(status: string) {
        this.beats.push(status);
        return this.beats.length > this.abortAfter ? { abortRequestedBy: "ops@laptop" } : {};
    }
}

export function setup(
    canaryAt: (w: number) => VersionSample,
    deployed = deployedAt(0),
    intended = intendedAt(0),
    alarmsAt?: (w: number) => string[],
    extra: Pick<RolloutDeps, "golden" | "stream"> = {},
    clock = new VirtualClock(),
) {
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
            {
                schedule: SCHEDULE,
                stack,
                services: stack,
                traffic: stack,
                metrics,
                control,
                clock,
                log: (l) => lines.push(l),
                signal,
                weights,
                ...extra,
            },
            options,
        );
    return { clock, stack, metrics, lines, run, published };
}
