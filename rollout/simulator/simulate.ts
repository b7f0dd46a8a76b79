/**
 * The rollout engine against a simulated stack and noisy, seeded traffic on a virtual
 * clock: no AWS, no Pulumi CLI, and an hour of rollout in a millisecond. It is the demo
 * of the engine and its benchmark: over many seeded rollouts per scenario, how often a
 * healthy canary is rolled back anyway, how often a bad one is caught, how fast, and how
 * many bad requests it served first.
 *
 * Traffic is drawn as real traffic is: Poisson request counts per window, binomial 5xx
 * answers and slow requests, lognormal request times (the window's p99 is the order
 * statistic of its requests, not an expected value), data that CloudWatch shows only
 * after a delay, and reads that can fail.
 */
import { factory as mt19937 } from "@stdlib/random-base-mt19937";
import { factory as poissonFactory } from "@stdlib/random-base-poisson";
import { factory as binomialFactory } from "@stdlib/random-base-binomial";
import { factory as betaFactory } from "@stdlib/random-base-beta";
import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");
import normalCdf = require("@stdlib/stats-base-dists-normal-cdf");
import { JudgeLike, runRollout } from "../core/engine";
import { RolloutResult } from "../core/result";
import {
    Clock,
    DeployedScaling,
    DeployedState,
    IntendedState,
    MetricsSample,
    MetricsSource,
    MetricsWindow,
    MinuteSample,
    ServicesPort,
    StackPort,
    TrafficPort,
    UpdateFailed,
    VersionSample,
} from "../core/ports";
import { MINUTE_MS } from "../core/minutes";
import { DEFAULT_SCHEDULE, RolloutSchedule } from "../../contract/schedule";
import { Version } from "../../contract/versions";
import { Evidence, errorRate, Verdict } from "../core/judge";

/** How one version behaves: its 5xx fraction and its lognormal request time. */
export interface Behaviour {
    errorRate: number;
    medianMs: number;
    /** Spread of log request time. */
    sigma: number;
    /** A share of requests `factor` times slower than the rest (a tail regression), if any. */
    tail?: { share: number; factor: number };
}

export interface Scenario {
    name: string;
    description: string;
    /** Requests per second across both versions (the mean, when `rate` varies it). */
    requestsPerSecond: number;
    /** Requests per second at a time since the rollout started, when traffic is not steady. */
    rate?: (sinceStartMs: number) => number;
    /** The canary is `slowFactor` times slower for its first `minutes` of traffic (cold caches), like stable after. */
    warmup?: { minutes: number; slowFactor: number };
    /** Both versions' 5xx rate rises to `errorRate` for `minutes` once the canary first gets `weight`: an outage that is not the canary's fault. */
    outage?: { weight: number; minutes: number; errorRate: number };
    /** The canary's behaviour at a weight. */
    canary: (weight: number) => Behaviour;
    /** Stable's behaviour, when it is not the benchmark's `STABLE`. */
    stable?: Behaviour;
    /** The canary's real share of requests (percent) at a weight, when it is not the weight (clients stuck to it). */
    share?: (weight: number) => number;
    /**
     * A share of each version's 5xx that a few clients produce in bursts (a client retrying a
     * failing conversation), each burst landing on one version whole: 5xx are then not
     * independent per request, as the tests assume.
     */
    clusters?: { errorShare: number; burstSize: number };
    /** Schedule settings the scenario's stack sets on top of the schedule benchmarked (what the docs tell such a service to set). */
    settings?: Partial<RolloutSchedule>;
    /** Seconds until a minute's metrics are visible, as CloudWatch ingests them. */
    delaySeconds: number;
    /** Chance that a metrics read fails. */
    readFailureRate?: number;
    /** `pulumi up` to this weight fails. */
    failUpAt?: number;
    /**
     * The canary's tasks, when their number matters: each serves `perTaskRequestsPerSecond`
     * and fails what comes beyond it (an overloaded model server answers 503). With
     * `scaling`, the deployed stack lets capacity follow weight; without, it stays fixed.
     */
    capacity?: { tasks: number; perTaskRequestsPerSecond: number; scaling?: Record<Version, DeployedScaling> };
    /** The outcome the scenario is meant to end in. */
    expected: RolloutResult["outcome"];
    /** A known limit of the schedule benchmarked: the scenario shows how often it ends otherwise, and what the docs say to set. */
    limit?: string;
}

/** The benchmark's stable version: 0.3% 5xx, request times lognormal with a 2.5 s median. */
const STABLE: Behaviour = { errorRate: 0.003, medianMs: 2500, sigma: 0.5 };
const BROKEN_ERRORS: Behaviour = { ...STABLE, errorRate: 0.015 };
const SLOW: Behaviour = { ...STABLE, medianMs: STABLE.medianMs * 1.8 };
/**
 * Stable's 95th percentile request time. Each schedule's `slowRequestSeconds` is taken to sit
 * there, as the docs advise: request times are scaled to the threshold, so a stack whose
 * threshold is 60 s is judged on models whose p95 is 60 s (a threshold far above every request
 * would see nothing, on any judge). Slow shares are computed at this point of the unscaled
 * times; a p99 is reported scaled.
 */
const STABLE_P95_MS = STABLE.medianMs * Math.exp(1.6448536 * STABLE.sigma);
const ERRORS_2X: Behaviour = { ...STABLE, errorRate: 0.006 };
const TAIL: Behaviour = { ...STABLE, tail: { share: 0.03, factor: 4 } };
const MINUTE = 60_000;

/** 10 req/s where 30% of each version's 5xx come in bursts of 20 from one client, each burst on one version. */
const CLUSTERED = (name: string, canary: Behaviour, expected: Scenario["expected"]) => ({
    name,
    requestsPerSecond: 10,
    canary: () => canary,
    clusters: { errorShare: 0.3, burstSize: 20 },
    delaySeconds: 120,
    expected,
});
/**
 * What docs/judge.md tells such a service to set: the 5xx count's variance over its mean
 * (0.7 + 0.3 x 20 = 6.7, rounded up), and room for the 7x the evidence that takes.
 */
const DISPERSION_SETTINGS = { errorDispersion: 7, evidenceWaitSeconds: 86400 };

export const SCENARIOS: Scenario[] = [
    {
        name: "healthy",
        description: "a canary that behaves exactly like stable, 10 req/s",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 0,
        expected: "promoted",
    },
    {
        name: "healthy-delayed",
        description: "the same, with metrics visible 120 s late",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-no-5xx",
        description: "a service that answers no 5xx at all, and a canary like it, 10 req/s: accepted against stable's rate plus the margin",
        requestsPerSecond: 10,
        stable: { ...STABLE, errorRate: 0 },
        canary: () => ({ ...STABLE, errorRate: 0 }),
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-busy",
        description: "a healthy canary at 100 req/s",
        requestsPerSecond: 100,
        canary: () => STABLE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-late",
        description: "a healthy canary whose metrics arrive 270 s late, within rollout.metricsMaxLagSeconds",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 270,
        expected: "promoted",
    },
    {
        name: "healthy-diurnal",
        description: "a healthy canary under traffic between 3 and 15 req/s, a 60-minute sinusoid",
        requestsPerSecond: 9,
        rate: (t) => 9 - 6 * Math.cos((2 * Math.PI * t) / (60 * MINUTE)),
        canary: () => STABLE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-bursty",
        description: "a healthy canary under 2 and 30 req/s alternating every 3 minutes",
        requestsPerSecond: 16,
        rate: (t) => (Math.floor(t / (3 * MINUTE)) % 2 === 0 ? 2 : 30),
        canary: () => STABLE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "shared-outage",
        description: "both versions answer 3% 5xx (at most half the schedule's maxErrorRatePercent) for 10 minutes of the 25% step: not the canary's fault",
        requestsPerSecond: 10,
        canary: () => STABLE,
        outage: { weight: 25, minutes: 10, errorRate: 0.03 },
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-sticky",
        description: "a healthy canary whose real share is 1.5x its weight (clients stuck to it, alb.stickiness)",
        requestsPerSecond: 10,
        canary: () => STABLE,
        share: (w) => Math.min(100, 1.5 * w),
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        ...CLUSTERED("healthy-clustered", STABLE, "promoted"),
        description: "a healthy canary where 1% of clients produce 30% of the 5xx, in bursts of 20 that land on one version",
        limit: "5xx in bursts break the tests' independence, so healthy canaries are rolled back far above falseRollbackRate; set rollout.errorDispersion (healthy-clustered-dispersion)",
    },
    {
        ...CLUSTERED("healthy-clustered-dispersion", STABLE, "promoted"),
        description: "the same, with rollout.errorDispersion 7 (the bursts' variance over mean) and a 24-hour evidenceWaitSeconds, as docs/judge.md advises",
        settings: DISPERSION_SETTINGS,
    },
    {
        name: "healthy-warmup",
        description: "a canary 2x slower in its first 3 minutes of traffic (cold caches), like stable after",
        requestsPerSecond: 10,
        canary: () => STABLE,
        warmup: { minutes: 3, slowFactor: 2 },
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "errors-2x",
        description: "the canary answers 0.6% 5xx (stable 0.3%)",
        requestsPerSecond: 10,
        canary: () => ERRORS_2X,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        ...CLUSTERED("errors-2x-clustered-dispersion", ERRORS_2X, "rolled-back"),
        description: "0.6% 5xx against 0.3%, 30% of them in bursts of 20, judged with errorDispersion 7 and a 24-hour evidenceWaitSeconds",
        settings: DISPERSION_SETTINGS,
    },
    {
        name: "latency-tail",
        description: "median unchanged, 3% of the canary's requests 4x slower",
        requestsPerSecond: 10,
        canary: () => TAIL,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "errors-5x",
        description: "the canary answers 1.5% 5xx (stable 0.3%)",
        requestsPerSecond: 10,
        canary: () => BROKEN_ERRORS,
        delaySeconds: 0,
        expected: "rolled-back",
    },
    {
        name: "errors-5x-delayed",
        description: "the same, with metrics visible 120 s late",
        requestsPerSecond: 10,
        canary: () => BROKEN_ERRORS,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "errors-under-load",
        description: "1.5% 5xx only from 50% weight on (a bug that needs load)",
        requestsPerSecond: 10,
        canary: (w) => (w >= 50 ? BROKEN_ERRORS : STABLE),
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "latency-1.8x",
        description: "the canary's request times are 1.8x stable's",
        requestsPerSecond: 10,
        canary: () => SLOW,
        delaySeconds: 0,
        expected: "rolled-back",
    },
    {
        name: "latency-1.8x-delayed",
        description: "the same, with metrics visible 120 s late",
        requestsPerSecond: 10,
        canary: () => SLOW,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "broken",
        description: "most canary requests fail: caught within minutes",
        requestsPerSecond: 10,
        canary: () => ({ ...STABLE, errorRate: 0.6 }),
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "low-traffic",
        description: "one request a minute: inconclusive, so it holds (rollout.onLowTraffic)",
        requestsPerSecond: 1 / 60,
        canary: () => STABLE,
        delaySeconds: 120,
        expected: "held",
    },
    {
        name: "failed-reads",
        description: "a third of metric reads fail: retried, a healthy canary still promoted",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 120,
        readFailureRate: 0.33,
        expected: "promoted",
    },
    {
        name: "failed-up",
        description: "`pulumi up` fails at the 25% step",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 120,
        failUpAt: 25,
        expected: "rolled-back",
    },
    {
        name: "overload-fixed-capacity",
        description: "a healthy canary fixed at 1 task of 3 req/s: overloaded from 50% and rolled back for it",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 120,
        capacity: { tasks: 1, perTaskRequestsPerSecond: 3 },
        expected: "rolled-back",
    },
    {
        name: "overload-capacity-follows",
        description: "the same canary with capacity following weight (2 req/s per task, up to 8 tasks): promoted",
        requestsPerSecond: 10,
        canary: () => STABLE,
        delaySeconds: 120,
        capacity: {
            tasks: 1,
            perTaskRequestsPerSecond: 3,
            scaling: {
                stable: { minCount: 4, restingMinCount: 4, maxCount: 8, requestsPerTaskPerMinute: 120 },
                canary: { minCount: 1, restingMinCount: 1, maxCount: 8, requestsPerTaskPerMinute: 120 },
            },
        },
        expected: "promoted",
    },
];

/** How a canary behaves with `tasks` tasks at `weight` and `rate` requests a second: what its tasks cannot take fails fast with a 503. */
function underLoad(scenario: Scenario, weight: number, tasks: number, rate: number): Behaviour {
    const b = scenario.canary(weight);
    const capacity = scenario.capacity;
    if (!capacity) return b;
    const load = (rate * weight) / 100;
    const served = Math.min(1, (capacity.perTaskRequestsPerSecond * tasks) / load);
    return served >= 1 ? b : { ...b, errorRate: 1 - served * (1 - b.errorRate) };
}

/** The share of a behaviour's requests slower than `slowMs`: its lognormal tail (and its slower share's). */
function slowShare(b: Behaviour, slowMs: number): number {
    const above = (medianMs: number) => 1 - normalCdf(Math.log(slowMs / medianMs) / b.sigma, 0, 1);
    return b.tail ? (1 - b.tail.share) * above(b.medianMs) + b.tail.share * above(b.medianMs * b.tail.factor) : above(b.medianMs);
}

/** Whether a canary behaviour is worse than stable: what the benchmark counts as a bad request served. */
const isBad = (b: Behaviour) => b.errorRate > STABLE.errorRate || b.medianMs > STABLE.medianMs || b.tail !== undefined;

/** Requests a second at `t`, as the scenario's traffic goes. */
const rateAt = (scenario: Scenario, startedAt: number, t: number) => scenario.rate?.(t - startedAt) ?? scenario.requestsPerSecond;

/** Pieces of at most 10 s: time-varying traffic is integrated piece by piece. */
function* pieces(from: number, to: number): Generator<[number, number]> {
    for (let t = from; t < to; t += 10_000) yield [t, Math.min(to, t + 10_000)];
}

/** Time only moves when the engine sleeps (or a simulated update takes time). */
export class VirtualClock implements Clock {
    constructor(private t = Date.UTC(2026, 10, 26, 9, 0, 0)) {}
    now(): number {
        return this.t;
    }
    async sleep(ms: number, signal?: AbortSignal): Promise<void> {
        if (!signal?.aborted) this.t += ms;
    }
}

/**
 * An in-memory stack, its services and its traffic layer: the weight timeline is what
 * the metrics are drawn from. Updates take time, as real ones do.
 */
class SimulatedStack implements StackPort, ServicesPort, TrafficPort {
    /** [time, weight, canary tasks] from the start; what is in force at t is the last entry at or before t. */
    readonly timeline: [number, number, number][];
    private state: DeployedState;
    private revision = 1;

    constructor(
        private readonly clock: VirtualClock,
        private readonly scenario: Scenario,
        /** The 5xx rate of a shared outage: the scenario's, or half the schedule's absolute limit if lower (an outage is not the canary's fault, and not an outage the limit is for). */
        private readonly outageErrorRate = 0,
    ) {
        const version = (fingerprint: string) => ({ fingerprint, taskDefinitionArn: `arn:aws:ecs:::task-definition/sim:${this.revision++}` });
        this.state = { canaryWeight: 0, versions: { stable: version("llm:1.4.0"), canary: version("llm:1.5.0") } };
        if (scenario.capacity?.scaling) this.state.scaling = structuredClone(scenario.capacity.scaling);
        this.timeline = [[clock.now(), 0, scenario.capacity?.tasks ?? 1]];
    }

    private change(weight: number, tasks: number) {
        this.timeline.push([this.clock.now(), weight, tasks]);
    }

    private get canaryTasks(): number {
        return this.timeline.at(-1)![2];
    }

    async deployed(): Promise<DeployedState> {
        return structuredClone(this.state);
    }

    async intended(): Promise<IntendedState> {
        const { stable, canary } = this.state.versions;
        return { canaryWeight: this.state.canaryWeight, fingerprints: { stable: stable.fingerprint, canary: canary.fingerprint } };
    }

    async setWeight(weight: number): Promise<DeployedState> {
        await this.clock.sleep(45_000); // a weight-only update touches one resource
        if (weight === this.scenario.failUpAt) throw new UpdateFailed(`simulated: updating the route to ${weight}% failed`);
        this.state.canaryWeight = weight;
        this.change(weight, this.canaryTasks);
        return this.deployed();
    }

    async setMinCount(version: Version, count: number | undefined): Promise<DeployedState> {
        await this.clock.sleep(45_000); // one scalable target
        const scaling = this.state.scaling![version];
        scaling.minCount = count ?? scaling.restingMinCount;
        return this.deployed();
    }

    /** New tasks take the model's load time; then the version has its minimum (only the canary's tasks are modelled). */
    async waitHealthy(version: Version, _arn: string, count: number): Promise<void> {
        await this.clock.sleep(300_000);
        if (version === "canary") this.change(this.state.canaryWeight, Math.max(this.canaryTasks, count));
    }

    async deployCanary(): Promise<DeployedState> {
        return this.deployed();
    }

    async promote(): Promise<DeployedState> {
        await this.clock.sleep(60_000);
        this.state.versions.stable = {
            fingerprint: this.state.versions.canary.fingerprint,
            taskDefinitionArn: `arn:aws:ecs:::task-definition/sim:${this.revision++}`,
        };
        return this.deployed();
    }

    async waitRunning(): Promise<void> {
        await this.clock.sleep(300_000); // model load
    }

    async evaluate(): Promise<{ exitCode: number; reason: string }> {
        return { exitCode: 0, reason: "no evaluation in the simulation" };
    }

    async canaryWeight(): Promise<number> {
        return this.state.canaryWeight;
    }

    /** Each weight and canary task count in force within [start, end), and when. */
    exposure(start: number, end: number): { weight: number; tasks: number; from: number; to: number }[] {
        return this.timeline.flatMap(([at, weight, tasks], i) => {
            const from = Math.max(start, at);
            const to = Math.min(end, this.timeline[i + 1]?.[0] ?? Infinity);
            return to > from ? [{ weight, tasks, from, to }] : [];
        });
    }

    /** The canary's real share of requests (percent) at a weight. */
    canaryShare(weight: number): number {
        return this.scenario.share?.(weight) ?? weight;
    }

    /** When the rollout began: traffic that varies over time is timed from here. */
    get startedAt(): number {
        return this.timeline[0][0];
    }

    /** Whether `t` falls in the scenario's outage: the minutes after the canary first got its weight. */
    inOutage(t: number): boolean {
        const outage = this.scenario.outage;
        const began = outage && this.timeline.find(([, weight]) => weight === outage.weight)?.[0];
        return outage !== undefined && began !== undefined && t >= began && t < began + outage.minutes * MINUTE;
    }

    /** How each version behaves at `t`, at a weight and task count. */
    behaviour(version: Version, weight: number, tasks: number, t: number): Behaviour {
        let b = version === "stable" ? (this.scenario.stable ?? STABLE) : underLoad(this.scenario, weight, tasks, rateAt(this.scenario, this.startedAt, t));
        if (version === "canary" && this.warmingUp(t)) b = { ...b, medianMs: b.medianMs * this.scenario.warmup!.slowFactor };
        return this.inOutage(t) ? { ...b, errorRate: Math.max(b.errorRate, this.outageErrorRate) } : b;
    }

    /** Whether `t` falls in the canary's first minutes of traffic. */
    private warmingUp(t: number): boolean {
        const warmup = this.scenario.warmup;
        const first = warmup && this.timeline.find(([, weight]) => weight > 0)?.[0];
        return warmup !== undefined && first !== undefined && t >= first && t < first + warmup.minutes * MINUTE;
    }

    /** Canary requests expected within [start, end), over the weights in force; only those while it was worse than stable, with `badOnly`. */
    canaryServed(start: number, end: number, badOnly = false): number {
        let n = 0;
        for (const { weight, from, to } of this.exposure(start, end)) {
            if (weight === 0 || (badOnly && !isBad(this.scenario.canary(weight)))) continue;
            for (const [a, b] of pieces(from, to)) n += (rateAt(this.scenario, this.startedAt, a) * this.canaryShare(weight) * (b - a)) / 100_000;
        }
        return n;
    }
}

/** Seeded random draws: each rollout of a benchmark gets its own reproducible stream. */
class Draws {
    readonly uniform: () => number;
    readonly poisson: (mean: number) => number;
    readonly binomial: (n: number, p: number) => number;
    readonly beta: (a: number, b: number) => number;

    constructor(seed: number) {
        const prng = (mt19937({ seed }) as unknown as { normalized: () => number }).normalized;
        this.uniform = prng;
        this.poisson = poissonFactory({ prng });
        this.binomial = binomialFactory({ prng });
        this.beta = betaFactory({ prng });
    }
}

/** One version's traffic in part of a minute, as drawn so far. */
interface Drawn {
    requests: number;
    errors: number;
    slow: number;
    p99Ms?: number;
}

/**
 * CloudWatch as the rollout reads it, in whole minutes: each version's bucket holds the
 * requests of that minute that have arrived (each request's data lands `delaySeconds`
 * after it was served), so a bucket still filling shows part of its minute, and a minute
 * with no request arrived yet has no data point. Each minute is drawn once, piece by
 * piece as its requests arrive (Poisson counts add up), so every read of a minute sees
 * the same requests: a read pattern that counts a bucket twice shows as requests judged
 * above requests served. A read fails with `readFailureRate`.
 */
class NoisyMetrics implements MetricsSource {
    /** Per minute start: how far into the minute requests have been drawn, and what was drawn. */
    private readonly drawn = new Map<number, { until: number; versions: Record<Version, Drawn> }>();

    constructor(
        private readonly stack: SimulatedStack,
        private readonly clock: VirtualClock,
        private readonly scenario: Scenario,
        private readonly draws: Draws,
        /** The schedule's slow-request threshold, where stable's p95 is taken to be. */
        private readonly slowMs: number,
    ) {}

    async minutes(range: MetricsWindow): Promise<MinuteSample[]> {
        if (this.scenario.readFailureRate && this.draws.uniform() < this.scenario.readFailureRate) throw new Error("simulated: GetMetricData throttled");
        const arrivedUntil = this.clock.now() - this.scenario.delaySeconds * 1000;
        const out: MinuteSample[] = [];
        for (let start = range.start; start < range.end; start += MINUTE_MS) {
            const minute = this.drawn.get(start) ?? {
                until: start,
                versions: { stable: { requests: 0, errors: 0, slow: 0 }, canary: { requests: 0, errors: 0, slow: 0 } },
            };
            const upTo = Math.min(start + MINUTE_MS, arrivedUntil);
            if (upTo > minute.until) {
                this.draw(minute.versions, minute.until, upTo);
                minute.until = upTo;
            }
            this.drawn.set(start, minute);
            const bucket = (d: Drawn): VersionSample | undefined => (d.requests > 0 ? { ...d } : undefined);
            out.push({ start, versions: { stable: bucket(minute.versions.stable), canary: bucket(minute.versions.canary) } });
        }
        return out;
    }

    async firingAlarms(): Promise<string[]> {
        return [];
    }

    /** Adds the requests served in [from, to) to each version's draws, at the weights and task counts in force. */
    private draw(versions: Record<Version, Drawn>, from: number, to: number): void {
        const clusters = this.scenario.clusters;
        const add = (into: Drawn, b: Behaviour, mean: number) => {
            const n = mean > 0 ? this.draws.poisson(mean) : 0;
            if (n === 0) return;
            into.requests += n;
            if (clusters) {
                const bursts = this.draws.poisson((n * b.errorRate * clusters.errorShare) / clusters.burstSize);
                into.errors += Math.min(n, this.draws.binomial(n, b.errorRate * (1 - clusters.errorShare)) + bursts * clusters.burstSize);
            } else into.errors += this.draws.binomial(n, b.errorRate);
            into.slow += this.draws.binomial(n, slowShare(b, STABLE_P95_MS));
            // The 99th percentile of n request times is their k-th smallest, whose quantile is Beta(k, n + 1 - k).
            const k = Math.ceil(0.99 * n);
            const p99 = b.medianMs * Math.exp(b.sigma * normalQuantile(this.draws.beta(k, n + 1 - k), 0, 1));
            into.p99Ms = Math.max(into.p99Ms ?? 0, (p99 * this.slowMs) / STABLE_P95_MS);
        };
        for (const segment of this.stack.exposure(from, to)) {
            for (const [a, b] of pieces(segment.from, segment.to)) {
                const requests = (rateAt(this.scenario, this.stack.startedAt, a) * (b - a)) / 1000;
                const share = this.stack.canaryShare(segment.weight);
                add(versions.stable, this.stack.behaviour("stable", segment.weight, segment.tasks, a), (requests * (100 - share)) / 100);
                add(versions.canary, this.stack.behaviour("canary", segment.weight, segment.tasks, a), (requests * share) / 100);
            }
        }
    }
}

/**
 * The gates before sequential testing, kept to compare against on the same seeds: a
 * window fails on a canary 5xx rate above 2%, 1 point above stable's, a p99 above 60 s or
 * 25% above stable's, each judged from 20 requests.
 */
class LegacyJudge implements JudgeLike {
    observe(sample: MetricsSample): Verdict {
        const { canary, stable } = sample.versions;
        if (canary.requests < 20) return { kind: "pass" };
        if (errorRate(canary) > 2) return { kind: "fail", reason: "canary 5xx rate above 2%" };
        if (canary.p99Ms !== undefined && canary.p99Ms > 60_000) return { kind: "fail", reason: "canary p99 above 60 s" };
        if (stable.requests >= 20) {
            if (errorRate(canary) - errorRate(stable) > 1) return { kind: "fail", reason: "canary 5xx rate 1 point above stable's" };
            if (canary.p99Ms !== undefined && stable.p99Ms !== undefined && canary.p99Ms > stable.p99Ms * 1.25)
                return { kind: "fail", reason: "canary p99 25% above stable's" };
        }
        return { kind: "pass" };
    }
    newStep(): void {}
    standing(): Evidence[] {
        return [];
    }
    /** The gates before had no acceptance: a step passed once baked. */
    acceptance(): { accepted: boolean; reason: string } {
        return { accepted: true, reason: "" };
    }
}

/**
 * Not a gate: the reference any judge is measured against. An ideal two-sample sequential
 * probability ratio test (Wald) for each rate (5xx, slow requests) on the same conditional
 * binomial as the gates (the canary's share of both versions' events), that knows the size
 * of the scenario's regression (or, where there is none, the configured one to detect) but
 * not stable's rate: it rejects at the gates' false-rollback rate and accepts at their miss
 * rate. For a known size no test with those error rates decides faster on average (Wald and
 * Wolfowitz), so what it serves and takes is the least a judge can here.
 */
class IdealJudge implements JudgeLike {
    private readonly tests: { name: string; r0: number; r1: number; events: (v: VersionSample) => number; logRatio: number; accepted: boolean }[];
    private readonly reject: number;
    private readonly accept: number;

    constructor(schedule: RolloutSchedule, scenario: Scenario) {
        const slowMs = STABLE_P95_MS;
        const worst = scenario.canary(100);
        const size = (actual: number, tolerated: number, detect: number) => (actual > tolerated ? actual : detect);
        const errorsTolerated = 1 + schedule.errorRateIncreasePercent / 100;
        const slowTolerated = 1 + schedule.slowRequestIncreasePercent / 100;
        this.tests = [
            {
                name: "5xx",
                r0: errorsTolerated,
                r1: size(worst.errorRate / STABLE.errorRate, errorsTolerated, schedule.detectErrorRateFactor),
                events: (v) => v.errors,
                logRatio: 0,
                accepted: false,
            },
            {
                name: "slow",
                r0: slowTolerated,
                r1: size(slowShare(worst, slowMs) / slowShare(STABLE, slowMs), slowTolerated, schedule.detectSlowRequestFactor),
                events: (v) => v.slow,
                logRatio: 0,
                accepted: false,
            },
        ];
        this.reject = Math.log(this.tests.length / schedule.falseRollbackRate);
        this.accept = Math.log(schedule.missRate);
    }

    /** A window of the warm-up is left out, as the gates leave it out of their comparisons: the same constraint for both. */
    observe(sample: MetricsSample, warmup = false): Verdict {
        const { canary, stable } = sample.versions;
        if (sample.firingAlarms.length > 0) return { kind: "fail", reason: `alarm firing: ${sample.firingAlarms.join(", ")}` };
        if (warmup || canary.requests === 0 || stable.requests === 0) return { kind: "pass" };
        for (const t of this.tests.filter((test) => !test.accepted)) {
            const share = (r: number) => (r * canary.requests) / (r * canary.requests + stable.requests);
            const [q0, q1] = [share(t.r0), share(t.r1)];
            t.logRatio += t.events(canary) * Math.log(q1 / q0) + t.events(stable) * Math.log((1 - q1) / (1 - q0));
            if (t.logRatio >= this.reject) return { kind: "fail", reason: `canary ${t.name} rate ${t.r1.toFixed(1)}x stable's (ideal test)` };
            if (t.logRatio <= this.accept) t.accepted = true;
        }
        return { kind: "pass" };
    }

    newStep(): void {}

    standing(): Evidence[] {
        return this.tests.map((t) => ({
            test: `canary ${t.name} rate ${t.r1.toFixed(1)}x stable's (ideal)`,
            evidence: Math.exp(t.logRatio),
            threshold: Math.exp(this.reject),
        }));
    }

    acceptance(): { accepted: boolean; reason: string } {
        const pending = this.tests.filter((t) => !t.accepted).map((t) => t.name);
        return { accepted: pending.length === 0, reason: pending.length ? `not yet accepted: ${pending.join(", ")}` : "" };
    }
}

export interface SimulationResult {
    scenario: Scenario;
    result: RolloutResult;
    /** From the start of the rollout to its outcome, in virtual time. */
    timeToDecisionMs: number;
    /** Requests the canary served while it was worse than stable. */
    badCanaryRequests: number;
    /** How much of the canary's traffic the judge saw (expected counts, from the weights in force). */
    judged: JudgedTraffic;
}

/** Canary requests served and judged, in expected counts over the weights in force, and as the judge counted them. */
export interface JudgedTraffic {
    /** Served from the rollout's start to the end of its last step's bake (or of the step, when it did not finish baking). */
    served: number;
    /** Of those, the ones in minutes the judge judged. */
    judgedOfServed: number;
    /** In every minute the judge judged, expected. */
    inJudgedMinutes: number;
    /** In every minute the judge judged, as it counted them: above `inJudgedMinutes` if a minute was counted twice. */
    countedByJudge: number;
}

/** What the judge saw of the canary's traffic in a finished simulated rollout. */
function judgedTraffic(stack: SimulatedStack, result: RolloutResult): JudgedTraffic {
    const canary = (from: number, to: number) => (to <= from ? 0 : stack.canaryServed(from, to));
    const last = result.steps.at(-1);
    const end = last?.bakedAt ?? last?.endedAt ?? result.endedAt;
    const windows = result.samples.map((s) => s.sample.window);
    return {
        served: canary(result.startedAt, end),
        judgedOfServed: windows.reduce((n, w) => n + canary(Math.max(w.start, result.startedAt), Math.min(w.end, end)), 0),
        inJudgedMinutes: windows.reduce((n, w) => n + canary(w.start, w.end), 0),
        countedByJudge: result.samples.reduce((n, s) => n + s.sample.versions.canary.requests, 0),
    };
}

export type Gates = "sequential" | "legacy" | "ideal";

export interface SimulationOptions {
    schedule?: RolloutSchedule;
    seed?: number;
    /** Which gates judge: the sequential ones, the ones before them, or the ideal test. */
    gates?: Gates;
    log?: (line: string) => void;
}

export async function simulate(scenario: Scenario, options: SimulationOptions = {}): Promise<SimulationResult> {
    const schedule = { ...(options.schedule ?? DEFAULT_SCHEDULE), ...scenario.settings };
    const clock = new VirtualClock();
    const stack = new SimulatedStack(clock, scenario, Math.min(scenario.outage?.errorRate ?? 0, schedule.maxErrorRatePercent / 200));
    const draws = new Draws(options.seed ?? 1);
    const metrics = new NoisyMetrics(stack, clock, scenario, draws, schedule.slowRequestSeconds * 1000);
    const result = await runRollout({
        schedule,
        stack,
        services: stack,
        traffic: stack,
        metrics,
        clock,
        log: options.log ?? (() => {}),
        ...(options.gates === "legacy" ? { judge: new LegacyJudge() } : {}),
        ...(options.gates === "ideal" ? { judge: new IdealJudge(schedule, scenario) } : {}),
    });
    const badCanaryRequests = stack.canaryServed(result.startedAt, result.endedAt, true);
    return {
        scenario,
        result,
        timeToDecisionMs: result.endedAt - result.startedAt,
        badCanaryRequests: Math.round(badCanaryRequests),
        judged: judgedTraffic(stack, result),
    };
}

/** A scenario's figures over many seeded rollouts. */
export interface BenchmarkRow {
    scenario: string;
    runs: number;
    outcomes: Partial<Record<RolloutResult["outcome"], number>>;
    /** Share of runs that ended as the scenario expects. */
    expectedRate: number;
    meanMinutesToDecision: number;
    medianMinutesToDecision: number;
    p90MinutesToDecision: number;
    meanBadRequests: number;
    medianBadRequests: number;
    /** Of the canary requests served from the first step to the end of the last, the share in judged minutes (all runs pooled). */
    shareJudged: number;
    /** Canary requests the judge counted per request in the minutes it judged (1 when each minute is counted once). */
    judgedPerServed: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The q-quantile of `xs` (the nearest rank). */
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

/** Runs `runs` rollouts of a scenario on seeds `seed`, `seed + 1`, ... */
export async function benchmark(scenario: Scenario, runs: number, options: SimulationOptions = {}): Promise<BenchmarkRow> {
    const outcomes: BenchmarkRow["outcomes"] = {};
    const minutes: number[] = [];
    const bad: number[] = [];
    const judged: JudgedTraffic = { served: 0, judgedOfServed: 0, inJudgedMinutes: 0, countedByJudge: 0 };
    for (let i = 0; i < runs; i++) {
        const sim = await simulate(scenario, { ...options, seed: (options.seed ?? 1) + i, log: undefined });
        outcomes[sim.result.outcome] = (outcomes[sim.result.outcome] ?? 0) + 1;
        minutes.push(sim.timeToDecisionMs / 60_000);
        bad.push(sim.badCanaryRequests);
        for (const key of Object.keys(judged) as (keyof JudgedTraffic)[]) judged[key] += sim.judged[key];
    }
    return {
        scenario: scenario.name,
        runs,
        outcomes,
        expectedRate: (outcomes[scenario.expected] ?? 0) / runs,
        meanMinutesToDecision: mean(minutes),
        medianMinutesToDecision: quantile(minutes, 0.5),
        p90MinutesToDecision: quantile(minutes, 0.9),
        meanBadRequests: mean(bad),
        medianBadRequests: quantile(bad, 0.5),
        shareJudged: judged.served > 0 ? judged.judgedOfServed / judged.served : 1,
        judgedPerServed: judged.inJudgedMinutes > 0 ? judged.countedByJudge / judged.inJudgedMinutes : 1,
    };
}

export function benchmarkTable(rows: BenchmarkRow[], title: string): string {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = [
        `${title}`,
        "| scenario | runs | expected | as expected | promoted | rolled back | held | failed | time to decision: median / p90 | bad requests served: median / mean | canary requests judged | judged per served |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const r of rows) {
        const s = SCENARIOS.find((x) => x.name === r.scenario)!;
        const share = (o: RolloutResult["outcome"]) => pct((r.outcomes[o] ?? 0) / r.runs);
        lines.push(
            `| ${r.scenario} | ${r.runs} | ${s.expected} | ${pct(r.expectedRate)} | ${share("promoted")} | ${share("rolled-back")} | ${share("held")} | ${share("failed")} | ${r.medianMinutesToDecision.toFixed(1)} / ${r.p90MinutesToDecision.toFixed(1)} min | ${r.medianBadRequests.toFixed(0)} / ${r.meanBadRequests.toFixed(0)} | ${pct(r.shareJudged)} | ${r.judgedPerServed.toFixed(3)} |`,
        );
    }
    return lines.join("\n");
}

export function summaryLine(s: SimulationResult): string {
    const min = (ms: number) => `${(ms / 60000).toFixed(1)} min`;
    return (
        `${s.scenario.name.padEnd(20)} ${s.result.outcome.padEnd(12)} decided after ${min(s.timeToDecisionMs).padStart(9)}; ` +
        `bad canary served ${String(s.badCanaryRequests).padStart(5)} requests | ${s.result.reason}`
    );
}
