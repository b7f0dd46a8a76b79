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
import { JudgeLike, runRollout, RolloutResult } from "./engine";
import { Clock, DeployedScaling, DeployedState, IntendedState, MetricsSample, MetricsSource, MetricsWindow, MinuteSample, ServicesPort, StackPort, TrafficPort, UpdateFailed, VersionSample } from "./ports";
import { MINUTE_MS } from "./minutes";
import { DEFAULT_SCHEDULE, RolloutSchedule } from "./schedule";
import { Version } from "../mesh/config/schema";
import { Evidence, errorRate, Verdict } from "./judge";

/** How one version behaves: its 5xx fraction and its lognormal request time. */
export interface Behaviour {
    errorRate: number;
    medianMs: number;
    /** Spread of log request time. */
    sigma: number;
}

export interface Scenario {
    name: string;
    description: string;
    /** Requests per second across both versions. */
    requestsPerSecond: number;
    /** The canary's behaviour at a weight; stable always behaves like `STABLE`. */
    canary: (weight: number) => Behaviour;
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
}

/** The benchmark's stable version: 0.3% 5xx, request times lognormal with a 2.5 s median. */
const STABLE: Behaviour = { errorRate: 0.003, medianMs: 2500, sigma: 0.5 };
const BROKEN_ERRORS: Behaviour = { ...STABLE, errorRate: 0.015 };
const SLOW: Behaviour = { ...STABLE, medianMs: STABLE.medianMs * 1.8 };

export const SCENARIOS: Scenario[] = [
    { name: "healthy", description: "a canary that behaves exactly like stable, 10 req/s", requestsPerSecond: 10, canary: () => STABLE, delaySeconds: 0, expected: "promoted" },
    { name: "healthy-delayed", description: "the same, with metrics visible 120 s late", requestsPerSecond: 10, canary: () => STABLE, delaySeconds: 120, expected: "promoted" },
    { name: "healthy-busy", description: "a healthy canary at 100 req/s", requestsPerSecond: 100, canary: () => STABLE, delaySeconds: 120, expected: "promoted" },
    { name: "healthy-late", description: "a healthy canary whose metrics arrive 270 s late, within rollout.metricsMaxLagSeconds", requestsPerSecond: 10, canary: () => STABLE, delaySeconds: 270, expected: "promoted" },
    { name: "errors-5x", description: "the canary answers 1.5% 5xx (stable 0.3%)", requestsPerSecond: 10, canary: () => BROKEN_ERRORS, delaySeconds: 0, expected: "rolled-back" },
    { name: "errors-5x-delayed", description: "the same, with metrics visible 120 s late", requestsPerSecond: 10, canary: () => BROKEN_ERRORS, delaySeconds: 120, expected: "rolled-back" },
    {
        name: "errors-under-load",
        description: "1.5% 5xx only from 50% weight on (a bug that needs load)",
        requestsPerSecond: 10,
        canary: (w) => (w >= 50 ? BROKEN_ERRORS : STABLE),
        delaySeconds: 120,
        expected: "rolled-back",
    },
    { name: "latency-1.8x", description: "the canary's request times are 1.8x stable's", requestsPerSecond: 10, canary: () => SLOW, delaySeconds: 0, expected: "rolled-back" },
    { name: "latency-1.8x-delayed", description: "the same, with metrics visible 120 s late", requestsPerSecond: 10, canary: () => SLOW, delaySeconds: 120, expected: "rolled-back" },
    { name: "broken", description: "most canary requests fail: caught within minutes", requestsPerSecond: 10, canary: () => ({ ...STABLE, errorRate: 0.6 }), delaySeconds: 120, expected: "rolled-back" },
    { name: "low-traffic", description: "one request a minute: inconclusive, so it holds (rollout.onLowTraffic)", requestsPerSecond: 1 / 60, canary: () => STABLE, delaySeconds: 120, expected: "held" },
    { name: "failed-reads", description: "a third of metric reads fail: retried, a healthy canary still promoted", requestsPerSecond: 10, canary: () => STABLE, delaySeconds: 120, readFailureRate: 0.33, expected: "promoted" },
    { name: "failed-up", description: "`pulumi up` fails at the 25% step", requestsPerSecond: 10, canary: () => STABLE, delaySeconds: 120, failUpAt: 25, expected: "rolled-back" },
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

/** How a canary behaves with `tasks` tasks at `weight`: what its tasks cannot take fails fast with a 503. */
function underLoad(scenario: Scenario, weight: number, tasks: number): Behaviour {
    const b = scenario.canary(weight);
    const capacity = scenario.capacity;
    if (!capacity) return b;
    const load = (scenario.requestsPerSecond * weight) / 100;
    const served = Math.min(1, (capacity.perTaskRequestsPerSecond * tasks) / load);
    return served >= 1 ? b : { ...b, errorRate: 1 - served * (1 - b.errorRate) };
}

/** The share of a behaviour's requests slower than `slowMs`: its lognormal tail. */
const slowShare = (b: Behaviour, slowMs: number) => 1 - normalCdf(Math.log(slowMs / b.medianMs) / b.sigma, 0, 1);

/** Whether a canary behaviour is worse than stable: what the benchmark counts as a bad request served. */
const isBad = (b: Behaviour) => b.errorRate > STABLE.errorRate || b.medianMs > STABLE.medianMs;

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

    constructor(private readonly clock: VirtualClock, private readonly scenario: Scenario) {
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
        this.state.versions.stable = { fingerprint: this.state.versions.canary.fingerprint, taskDefinitionArn: `arn:aws:ecs:::task-definition/sim:${this.revision++}` };
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

    /** Seconds each weight and canary task count were in force within [start, end). */
    exposure(start: number, end: number): { weight: number; tasks: number; seconds: number }[] {
        return this.timeline.flatMap(([at, weight, tasks], i) => {
            const from = Math.max(start, at);
            const to = Math.min(end, this.timeline[i + 1]?.[0] ?? Infinity);
            return to > from ? [{ weight, tasks, seconds: (to - from) / 1000 }] : [];
        });
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
        private readonly slowMs: number,
    ) {}

    async minutes(range: MetricsWindow): Promise<MinuteSample[]> {
        if (this.scenario.readFailureRate && this.draws.uniform() < this.scenario.readFailureRate) throw new Error("simulated: GetMetricData throttled");
        const arrivedUntil = this.clock.now() - this.scenario.delaySeconds * 1000;
        const out: MinuteSample[] = [];
        for (let start = range.start; start < range.end; start += MINUTE_MS) {
            const minute = this.drawn.get(start) ?? { until: start, versions: { stable: { requests: 0, errors: 0, slow: 0 }, canary: { requests: 0, errors: 0, slow: 0 } } };
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
        const add = (into: Drawn, b: Behaviour, mean: number) => {
            const n = mean > 0 ? this.draws.poisson(mean) : 0;
            if (n === 0) return;
            into.requests += n;
            into.errors += this.draws.binomial(n, b.errorRate);
            into.slow += this.draws.binomial(n, slowShare(b, this.slowMs));
            // The 99th percentile of n request times is their k-th smallest, whose quantile is Beta(k, n + 1 - k).
            const k = Math.ceil(0.99 * n);
            into.p99Ms = Math.max(into.p99Ms ?? 0, b.medianMs * Math.exp(b.sigma * normalQuantile(this.draws.beta(k, n + 1 - k), 0, 1)));
        };
        for (const { weight, tasks, seconds } of this.stack.exposure(from, to)) {
            const perSecond = this.scenario.requestsPerSecond * seconds;
            add(versions.stable, STABLE, (perSecond * (100 - weight)) / 100);
            add(versions.canary, underLoad(this.scenario, weight, tasks), (perSecond * weight) / 100);
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
            if (canary.p99Ms !== undefined && stable.p99Ms !== undefined && canary.p99Ms > stable.p99Ms * 1.25) return { kind: "fail", reason: "canary p99 25% above stable's" };
        }
        return { kind: "pass" };
    }
    newStep(): void {}
    standing(): Evidence[] {
        return [];
    }
}

/**
 * Not a gate: the bound any gate is measured against. It knows the only two ways the
 * benchmark's canary can be bad, exactly (1.5% 5xx, or 1.8x request times), and runs
 * Wald's sequential probability ratio test of each against stable's exact behaviour on
 * the canary's own requests, with the false-rollback rate the benchmark holds gates to
 * (0.5%) split between the two. No test that holds that rate can decide faster on
 * average (Wald and Wolfowitz), so what it serves is the least a real gate can serve.
 */
class OracleJudge implements JudgeLike {
    private static readonly FALSE_ROLLBACK_RATE = 0.005;
    private readonly tests: { name: string; null0: number; alternative: number; count: (v: VersionSample) => number; logRatio: number }[];

    constructor(slowMs: number) {
        this.tests = [
            { name: "canary 5xx rate 1.5%, not 0.3%", null0: STABLE.errorRate, alternative: BROKEN_ERRORS.errorRate, count: (v) => v.errors, logRatio: 0 },
            { name: "canary request times 1.8x stable's", null0: slowShare(STABLE, slowMs), alternative: slowShare(SLOW, slowMs), count: (v) => v.slow, logRatio: 0 },
        ];
    }

    private get threshold(): number {
        return this.tests.length / OracleJudge.FALSE_ROLLBACK_RATE;
    }

    observe(sample: MetricsSample): Verdict {
        const canary = sample.versions.canary;
        for (const t of this.tests) {
            const k = t.count(canary);
            t.logRatio += k * Math.log(t.alternative / t.null0) + (canary.requests - k) * Math.log((1 - t.alternative) / (1 - t.null0));
        }
        const failed = this.standing().find((e) => e.evidence >= e.threshold);
        return failed ? { kind: "fail", reason: `${failed.test} (oracle)` } : { kind: "pass" };
    }

    newStep(): void {}

    standing(): Evidence[] {
        return this.tests.map((t) => ({ test: t.name, evidence: Math.exp(t.logRatio), threshold: this.threshold }));
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
function judgedTraffic(stack: SimulatedStack, scenario: Scenario, result: RolloutResult): JudgedTraffic {
    const canary = (from: number, to: number) =>
        to <= from ? 0 : stack.exposure(from, to).reduce((n, { weight, seconds }) => n + (scenario.requestsPerSecond * weight * seconds) / 100, 0);
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

export type Gates = "sequential" | "legacy" | "oracle";

export interface SimulationOptions {
    schedule?: RolloutSchedule;
    seed?: number;
    /** Which gates judge: the sequential ones, the ones before them, or the oracle bound. */
    gates?: Gates;
    log?: (line: string) => void;
}

export async function simulate(scenario: Scenario, options: SimulationOptions = {}): Promise<SimulationResult> {
    const schedule = options.schedule ?? DEFAULT_SCHEDULE;
    const clock = new VirtualClock();
    const stack = new SimulatedStack(clock, scenario);
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
        ...(options.gates === "oracle" ? { judge: new OracleJudge(schedule.slowRequestSeconds * 1000) } : {}),
    });
    let badCanaryRequests = 0;
    for (const { weight, seconds } of stack.exposure(result.startedAt, result.endedAt)) {
        if (weight > 0 && isBad(scenario.canary(weight))) badCanaryRequests += (scenario.requestsPerSecond * weight * seconds) / 100;
    }
    return { scenario, result, timeToDecisionMs: result.endedAt - result.startedAt, badCanaryRequests: Math.round(badCanaryRequests), judged: judgedTraffic(stack, scenario, result) };
}

/** A scenario's figures over many seeded rollouts. */
export interface BenchmarkRow {
    scenario: string;
    runs: number;
    outcomes: Partial<Record<RolloutResult["outcome"], number>>;
    /** Share of runs that ended as the scenario expects. */
    expectedRate: number;
    meanMinutesToDecision: number;
    meanBadRequests: number;
    /** Of the canary requests served from the first step to the end of the last, the share in judged minutes (all runs pooled). */
    shareJudged: number;
    /** Canary requests the judge counted per request in the minutes it judged (1 when each minute is counted once). */
    judgedPerServed: number;
}

/** Runs `runs` rollouts of a scenario on seeds `seed`, `seed + 1`, ... */
export async function benchmark(scenario: Scenario, runs: number, options: SimulationOptions = {}): Promise<BenchmarkRow> {
    const outcomes: BenchmarkRow["outcomes"] = {};
    let minutes = 0;
    let bad = 0;
    const judged: JudgedTraffic = { served: 0, judgedOfServed: 0, inJudgedMinutes: 0, countedByJudge: 0 };
    for (let i = 0; i < runs; i++) {
        const sim = await simulate(scenario, { ...options, seed: (options.seed ?? 1) + i, log: undefined });
        outcomes[sim.result.outcome] = (outcomes[sim.result.outcome] ?? 0) + 1;
        minutes += sim.timeToDecisionMs / 60_000;
        bad += sim.badCanaryRequests;
        for (const key of Object.keys(judged) as (keyof JudgedTraffic)[]) judged[key] += sim.judged[key];
    }
    return {
        scenario: scenario.name,
        runs,
        outcomes,
        expectedRate: (outcomes[scenario.expected] ?? 0) / runs,
        meanMinutesToDecision: minutes / runs,
        meanBadRequests: bad / runs,
        shareJudged: judged.served > 0 ? judged.judgedOfServed / judged.served : 1,
        judgedPerServed: judged.inJudgedMinutes > 0 ? judged.countedByJudge / judged.inJudgedMinutes : 1,
    };
}

export function benchmarkTable(rows: BenchmarkRow[], title: string): string {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = [
        `${title}`,
        "| scenario | runs | expected | as expected | promoted | rolled back | held | failed | mean time to decision | mean bad requests served | canary requests judged | judged per served |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const r of rows) {
        const s = SCENARIOS.find((x) => x.name === r.scenario)!;
        const share = (o: RolloutResult["outcome"]) => pct((r.outcomes[o] ?? 0) / r.runs);
        lines.push(
            `| ${r.scenario} | ${r.runs} | ${s.expected} | ${pct(r.expectedRate)} | ${share("promoted")} | ${share("rolled-back")} | ${share("held")} | ${share("failed")} | ${r.meanMinutesToDecision.toFixed(1)} min | ${r.meanBadRequests.toFixed(0)} | ${pct(r.shareJudged)} | ${r.judgedPerServed.toFixed(3)} |`,
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
