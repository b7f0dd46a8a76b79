/** The simulated world a rollout runs in: a virtual clock, a stack whose updates take time, and noisy, late metrics drawn per request. */
import { Scenario, STABLE, MINUTE, Behaviour, STABLE_P95_MS, STABLE_TOKENS, TOKENS_CV, TOKENS_CLIENT_SIGMA, ttftShare, TTFT_SIGMA } from "./scenarios";
import { GateSpec } from "../../contract/gates";
import { factory as mt19937 } from "@stdlib/random-base-mt19937";
import { factory as poissonFactory } from "@stdlib/random-base-poisson";
import { factory as binomialFactory } from "@stdlib/random-base-binomial";
import { factory as betaFactory } from "@stdlib/random-base-beta";
import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");
import normalCdf = require("@stdlib/stats-base-dists-normal-cdf");
import {
    Clock,
    DeployedState,
    IntendedState,
    MetricsSource,
    MetricsWindow,
    MinuteSample,
    ServicesPort,
    StackPort,
    TrafficPort,
    UpdateFailed,
    VersionSample,
} from "../core/ports";
import { MINUTE_MS, minuteOf } from "../core/minutes";
import type { PacedAnswer, PacedPair, StreamPort } from "../core/stream";
import type { GoldenItem } from "../../contract/golden";
import { Version } from "../../contract/versions";

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
export function slowShare(b: Behaviour, slowMs: number): number {
    const above = (medianMs: number) => 1 - normalCdf(Math.log(slowMs / medianMs) / b.sigma, 0, 1);
    return b.tail ? (1 - b.tail.share) * above(b.medianMs) + b.tail.share * above(b.medianMs * b.tail.factor) : above(b.medianMs);
}

/** Whether a canary behaviour is worse than stable: what the benchmark counts as a bad request served. */
const isBad = (b: Behaviour) =>
    b.errorRate > STABLE.errorRate ||
    b.medianMs > STABLE.medianMs ||
    b.tail !== undefined ||
    b.cutOffRate > STABLE.cutOffRate ||
    b.abortRate > STABLE.abortRate ||
    b.ttftFactor > STABLE.ttftFactor ||
    b.tokensFactor > STABLE.tokensFactor ||
    b.refusalRate > STABLE.refusalRate;

/**
 * A gate's expected events per trial for a behaviour: its answers cut off or aborted, its first tokens
 * after the bound (stable's 90th percentile), its tokens per answer, or (any event gate) its
 * refused answers.
 */
export function gateMean(id: string, b: Behaviour): number {
    switch (id) {
        case "cutoff":
            return b.cutOffRate;
        case "aborted":
            return b.abortRate;
        case "ttft":
            return ttftShare(b.ttftFactor);
        case "tokens":
            return STABLE_TOKENS * b.tokensFactor;
        default:
            return b.refusalRate;
    }
}

/** The gates read from the model server, whose events are independent per request (5xx and refusals come in the scenario's bursts). */
const FROM_SERVER = new Set(["cutoff", "aborted", "ttft"]);

/** A standard normal draw. */
const normal = (draws: Draws) => normalQuantile(draws.uniform(), 0, 1);

/**
 * The tokens of n answers at `mean` tokens each: lognormal lengths with a coefficient of
 * variation of `TOKENS_CV`, all scaled by one draw of the client factor; summed one by one
 * below 30 answers, and as their normal sum from there.
 */
function tokens(draws: Draws, n: number, mean: number): number {
    const client = Math.exp(TOKENS_CLIENT_SIGMA * normal(draws) - TOKENS_CLIENT_SIGMA ** 2 / 2);
    const mu = mean * client;
    if (n >= 30) return Math.max(0, Math.round(n * mu + Math.sqrt(n) * mu * TOKENS_CV * normal(draws)));
    let sum = 0;
    for (let i = 0; i < n; i++) sum += oneAnswer(draws, mu);
    return Math.round(sum);
}

/** One answer's tokens at `mean`: lognormal with a coefficient of variation of `TOKENS_CV`. */
function oneAnswer(draws: Draws, mean: number): number {
    const s = Math.sqrt(Math.log(1 + TOKENS_CV ** 2));
    return mean * Math.exp(s * normal(draws) - (s * s) / 2);
}

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
export class SimulatedStack implements StackPort, ServicesPort, TrafficPort {
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

    /** The simulation declares no evaluation image (a golden set is simulated by its runner). */
    async evaluate(): Promise<undefined> {
        return undefined;
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
export class Draws {
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

/** One version's traffic in part of a minute, as drawn so far: every request is an answer and a gate's trial. */
interface Drawn {
    requests: number;
    errors: number;
    slow: number;
    /** Each judged gate's events, by its id. */
    gates: Record<string, number>;
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
export class NoisyMetrics implements MetricsSource {
    /** Per minute start: how far into the minute requests have been drawn, and what was drawn. */
    private readonly drawn = new Map<number, { until: number; versions: Record<Version, Drawn> }>();

    constructor(
        private readonly stack: SimulatedStack,
        private readonly clock: VirtualClock,
        private readonly scenario: Scenario,
        private readonly draws: Draws,
        /** The schedule's slow-request threshold, where stable's p95 is taken to be. */
        private readonly slowMs: number,
        /** The model gates the schedule judges: the server's per-minute counts of each are then read too. */
        private readonly gates: GateSpec[] = [],
        /** Stable's traffic before the rollout (which the rollout reads to measure dispersions), drawn apart so the rollout's own draws stay as they were. */
        private readonly history: Draws = draws,
        /** Stable's share of requests above a threshold the stack pins, where the scenario places it elsewhere than stable's 95th percentile. */
        pinnedSlowShare?: number,
        /** The golden set's runner, whose requests the layer and the server count too. */
        private readonly runner?: SimulatedRunner,
    ) {
        this.slowAtMs = pinnedSlowShare === undefined ? STABLE_P95_MS : STABLE.medianMs * Math.exp(STABLE.sigma * normalQuantile(1 - pinnedSlowShare, 0, 1));
    }

    /** Where slow requests start, in the unscaled request times the behaviours are given in. */
    private readonly slowAtMs: number;

    async minutes(range: MetricsWindow): Promise<MinuteSample[]> {
        if (this.scenario.readFailureRate && this.draws.uniform() < this.scenario.readFailureRate) throw new Error("simulated: GetMetricData throttled");
        const arrivedUntil = this.clock.now() - this.scenario.delaySeconds * 1000;
        const out: MinuteSample[] = [];
        for (let start = range.start; start < range.end; start += MINUTE_MS) {
            const minute = this.drawn.get(start) ?? {
                until: start,
                versions: { stable: { requests: 0, errors: 0, slow: 0, gates: {} }, canary: { requests: 0, errors: 0, slow: 0, gates: {} } },
            };
            const upTo = Math.min(start + MINUTE_MS, arrivedUntil);
            if (upTo > minute.until) {
                this.draw(minute.versions, minute.until, upTo);
                minute.until = upTo;
            }
            this.drawn.set(start, minute);
            const bucket = ({ gates, ...d }: Drawn): VersionSample | undefined =>
                d.requests > 0
                    ? {
                          ...d,
                          ...(this.gates.length
                              ? { gates: Object.fromEntries(this.gates.map((g) => [g.id, { events: gates[g.id] ?? 0, requests: d.requests }])) }
                              : {}),
                      }
                    : undefined;
            out.push({ start, versions: { stable: bucket(minute.versions.stable), canary: bucket(minute.versions.canary) } });
        }
        return out;
    }

    async firingAlarms(): Promise<string[]> {
        return [];
    }

    /**
     * Adds the requests served in [from, to) to each version's draws, at the weights and task
     * counts in force; before the rollout began, stable served everything (from its own stream).
     */
    private draw(versions: Record<Version, Drawn>, from: number, to: number): void {
        this.runner?.countedIn(from, to, (version, counted) => {
            const into = versions[version];
            into.requests += 1;
            into.errors += counted.errors;
            into.slow += counted.slow;
            for (const g of this.gates) into.gates[g.id] = (into.gates[g.id] ?? 0) + (counted.gates[g.id] ?? 0);
        });
        const before = Math.min(to, this.stack.startedAt);
        if (from < before) this.drawWith(this.history, versions, from, before, () => [{ weight: 0, tasks: 0, from, to: before }]);
        if (to > Math.max(from, this.stack.startedAt))
            this.drawWith(this.draws, versions, Math.max(from, this.stack.startedAt), to, (a, b) => this.stack.exposure(a, b));
    }

    /**
     * Events (5xx, an application's refusals) among n requests at `rate`; with the scenario's
     * clusters, a share of them in bursts from one client, each burst landing on one version whole.
     */
    private bursty(draws: Draws, n: number, rate: number): number {
        const clusters = this.scenario.clusters;
        if (!clusters) return draws.binomial(n, rate);
        const bursts = draws.poisson((n * rate * clusters.errorShare) / clusters.burstSize);
        return Math.min(n, draws.binomial(n, rate * (1 - clusters.errorShare)) + bursts * clusters.burstSize);
    }

    private drawWith(
        draws: Draws,
        versions: Record<Version, Drawn>,
        from: number,
        to: number,
        exposure: (from: number, to: number) => { weight: number; tasks: number; from: number; to: number }[],
    ): void {
        const add = (into: Drawn, b: Behaviour, mean: number) => {
            const n = mean > 0 ? draws.poisson(mean) : 0;
            if (n === 0) return;
            into.requests += n;
            into.errors += this.bursty(draws, n, b.errorRate);
            into.slow += draws.binomial(n, slowShare(b, this.slowAtMs));
            for (const g of this.gates) {
                const rate = gateMean(g.id, b);
                const events = g.id === "tokens" ? tokens(draws, n, rate) : FROM_SERVER.has(g.id) ? draws.binomial(n, rate) : this.bursty(draws, n, rate);
                into.gates[g.id] = (into.gates[g.id] ?? 0) + events;
            }
            // The 99th percentile of n request times is their k-th smallest, whose quantile is Beta(k, n + 1 - k).
            const k = Math.ceil(0.99 * n);
            const p99 = b.medianMs * Math.exp(b.sigma * normalQuantile(draws.beta(k, n + 1 - k), 0, 1));
            into.p99Ms = Math.max(into.p99Ms ?? 0, (p99 * this.slowMs) / STABLE_P95_MS);
        };
        for (const segment of exposure(from, to)) {
            for (const [a, b] of pieces(segment.from, segment.to)) {
                const requests = (rateAt(this.scenario, this.stack.startedAt, a) * (b - a)) / 1000;
                const share = this.stack.canaryShare(segment.weight);
                add(versions.stable, this.stack.behaviour("stable", segment.weight, segment.tasks, a), (requests * (100 - share)) / 100);
                add(versions.canary, this.stack.behaviour("canary", segment.weight, segment.tasks, a), (requests * share) / 100);
            }
        }
    }
}

/** Stable's median time to first token, ms, and the `ttft` gate's bound: its 90th percentile, where the live gate's is. */
const STABLE_TTFT_MS = 400;
export const FIRST_TOKEN_BOUND_MS = STABLE_TTFT_MS * Math.exp(1.2815516 * TTFT_SIGMA);
/** The network between the runner and the traffic layer: the runner sees each answer this much later than the layer counts it. */
const HOP_MS = 50;
/** Spread of an item's log time shared by both versions' answers to it (a longer prompt is slower on both). */
const ITEM_SIGMA = 0.3;
/** The share of answers the golden set's scorer passes, on both versions. */
const PASS_RATE = 0.9;

/** One runner request as the layer and the server count it, at the minute its answer left the layer. */
interface Counted {
    errors: number;
    slow: number;
    gates: Record<string, number>;
}

/**
 * The golden set's runner in pace mode: each pair's answers drawn from each version's behaviour
 * at the weight in force, `slowFactor` times slower than live requests and sharing the item's
 * spread; the layer and the server count each answer as it ends there, and the runner sees it
 * `HOP_MS` later, its first token too. Request times are scaled as the live ones are (stable's
 * 95th percentile at the slow threshold).
 */
export class SimulatedRunner implements StreamPort {
    /** The runner's requests as counted, by the minute they ended at the layer. */
    private readonly counted = new Map<number, { version: Version; at: number; counted: Counted }[]>();

    constructor(
        private readonly stack: SimulatedStack,
        private readonly clock: VirtualClock,
        private readonly draws: Draws,
        private readonly slowFactor: number,
        /** The slow threshold (ms) and where it sits in the behaviours' unscaled times. */
        private readonly slowMs: number,
        private readonly slowAtMs: number,
        private readonly gates: GateSpec[],
    ) {}

    async pace(items: GoldenItem[], ratePerSecond: number): Promise<PacedPair[]> {
        const start = this.clock.now();
        const [, weight, tasks] = this.stack.timeline.at(-1)!;
        return items.map((item, k) => {
            const sentAt = start + (k * 1000) / ratePerSecond;
            const shared = ITEM_SIGMA * normal(this.draws);
            const answer = (version: Version) => this.answer(version, this.stack.behaviour(version, weight, tasks, sentAt), sentAt, shared);
            return { id: item.id, stable: answer("stable"), canary: answer("canary") };
        });
    }

    private answer(version: Version, b: Behaviour, sentAt: number, shared: number): PacedAnswer {
        const d = this.draws;
        const tail = b.tail && d.uniform() < b.tail.share ? b.tail.factor : 1;
        const layerMs = (b.medianMs * this.slowFactor * tail * Math.exp(shared + b.sigma * normal(d)) * this.slowMs) / this.slowAtMs;
        const firstMs = STABLE_TTFT_MS * this.slowFactor * b.ttftFactor * Math.exp(shared + TTFT_SIGMA * normal(d));
        const failed = d.uniform() < b.errorRate;
        const cutOff = d.uniform() < b.cutOffRate;
        const tokens = Math.round(oneAnswer(d, STABLE_TOKENS * b.tokensFactor));
        const counted: Counted = {
            errors: Number(failed),
            slow: Number(layerMs > this.slowMs),
            gates: Object.fromEntries(
                this.gates.map((g) => [
                    g.id,
                    failed ? 0 : g.id === "ttft" ? Number(firstMs > FIRST_TOKEN_BOUND_MS) : g.id === "cutoff" ? Number(cutOff) : g.id === "tokens" ? tokens : 0,
                ]),
            ),
        };
        const at = sentAt + layerMs;
        const list = this.counted.get(minuteOf(at)) ?? [];
        list.push({ version, at, counted });
        this.counted.set(minuteOf(at), list);
        return {
            status: failed ? 500 : 200,
            ms: Math.round(layerMs + HOP_MS),
            firstMs: Math.round(firstMs + HOP_MS),
            doneAt: Math.round(at + HOP_MS),
            ...(failed ? {} : { tokens, finish: cutOff ? "length" : "stop" }),
            body: failed ? "" : d.uniform() < PASS_RATE ? "yes" : "no",
        };
    }

    /** Hands each runner request the layer counted in [from, to) to `into`. */
    countedIn(from: number, to: number, into: (version: Version, counted: Counted) => void): void {
        for (let minute = minuteOf(from); minute < to; minute += MINUTE_MS)
            for (const r of this.counted.get(minute) ?? []) if (r.at >= from && r.at < to) into(r.version, r.counted);
    }
}
