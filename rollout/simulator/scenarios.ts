/** The benchmark's scenarios: how stable and each kind of canary behave, and the traffic each meets. */
import { RolloutResult } from "../core/result";
import { DeployedScaling } from "../core/ports";
import { DEFAULT_SCHEDULE, RolloutSchedule } from "../../contract/schedule";
import { promisesWithin } from "../core/budget";
import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");
import normalCdf = require("@stdlib/stats-base-dists-normal-cdf");
import { Version } from "../../contract/versions";

/** How one version behaves: its 5xx fraction and its lognormal request time. */
export interface Behaviour {
    errorRate: number;
    medianMs: number;
    /** Spread of log request time. */
    sigma: number;
    /** A share of requests `factor` times slower than the rest (a tail regression), if any. */
    tail?: { share: number; factor: number };
    /** The share of its answers cut off at the length limit, and of those aborted before they finished. */
    cutOffRate: number;
    abortRate: number;
    /** Its time to first token as a multiple of stable's (lognormal, `TTFT_SIGMA`), the rest of its request time unchanged. */
    ttftFactor: number;
    /** Its tokens per answer as a multiple of stable's `STABLE_TOKENS` (its request times unchanged: a faster stream, a modelling choice). */
    tokensFactor: number;
    /** The share of its answers the application counts as refused (the `refusals` event gate). */
    refusalRate: number;
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
    /**
     * Stable's share of requests above the slow-request threshold when the stack pins one
     * (`slowRequestSeconds`), where it is not the 5% at stable's 95th percentile the benchmark
     * otherwise takes; an unpinned threshold is read at stable's 95th percentile whatever this says.
     */
    pinnedSlowShare?: number;
    /**
     * The golden set's runner sending `requestsPerSecond` pairs a second during the steps
     * (`evaluation.requestsPerSecond`), its requests `slowFactor` times slower than live ones
     * (longer prompts), in first token and in total: counted by the layer and the server like
     * live ones, and taken out again by the rollout.
     */
    paired?: { requestsPerSecond: number; slowFactor: number };
    /** The outcome the scenario is meant to end in. */
    expected: RolloutResult["outcome"];
    /** A known limit of the schedule benchmarked: the scenario shows how often it ends otherwise, and what the docs say to set. */
    limit?: string;
}

/**
 * The benchmark's stable version: 0.3% 5xx, request times lognormal with a 2.5 s median, 4% of
 * its answers cut off at the length limit and 1% aborted, 10% of its requests' first tokens after the `ttft`
 * gate's bound (the bound at its 90th percentile), `STABLE_TOKENS` tokens per answer, and 2% of
 * its answers refused.
 */
export const STABLE: Behaviour = {
    errorRate: 0.003,
    medianMs: 2500,
    sigma: 0.5,
    cutOffRate: 0.04,
    abortRate: 0.01,
    ttftFactor: 1,
    tokensFactor: 1,
    refusalRate: 0.02,
};
/**
 * Stable's mean tokens per answer. An answer's length is lognormal with a coefficient of
 * variation of `TOKENS_CV`, and each version's answers in 10 seconds share a factor with a
 * log-spread of `TOKENS_CLIENT_SIGMA` (a client's answers are alike: a long document, a verbose
 * conversation), so a minute's tokens vary hundreds of times more than Poisson counts would.
 */
export const STABLE_TOKENS = 300;
export const TOKENS_CV = 0.8;
export const TOKENS_CLIENT_SIGMA = 0.1;
const BROKEN_ERRORS: Behaviour = { ...STABLE, errorRate: 0.015 };
const SLOW: Behaviour = { ...STABLE, medianMs: STABLE.medianMs * 1.8 };
/**
 * Stable's 95th percentile request time. Each schedule's `slowRequestSeconds` is taken to sit
 * there, as the docs advise: request times are scaled to the threshold, so a stack whose
 * threshold is 60 s is judged on models whose p95 is 60 s (a threshold far above every request
 * would see nothing, on any judge). Slow shares are computed at this point of the unscaled
 * times; a p99 is reported scaled.
 */
export const STABLE_P95_MS = STABLE.medianMs * Math.exp(1.6448536 * STABLE.sigma);
const ERRORS_2X: Behaviour = { ...STABLE, errorRate: 0.006 };
const TAIL: Behaviour = { ...STABLE, tail: { share: 0.03, factor: 4 } };
export const MINUTE = 60_000;
/** The cut-off answers gate, at its defaults; and the slow-first-token gate, at its. */
const CUTOFF_GATE: Partial<RolloutSchedule> = { gates: { cutoff: { tolerancePercent: 0, detectFactor: 2, dispersion: 1 } } };
const TTFT_GATE: Partial<RolloutSchedule> = { gates: { ttft: { tolerancePercent: 0, detectFactor: 1.5, dispersion: 1 } } };
/** The tokens-per-answer gate at its defaults (+10% tolerated, +30% caught), and the application's refusals at 0% and 2x: their dispersions measured from stable, as nothing sets them. */
const TOKENS_GATE: Partial<RolloutSchedule> = { gates: { tokens: { tolerancePercent: 10, detectFactor: 1.3 } } };
const REFUSALS_GATE: Partial<RolloutSchedule> = {
    gates: { events: { refusals: { metric: "Refusals", trials: "Answers", tolerancePercent: 0, detectFactor: 2 } } },
};
/** Every gate on, each at its defaults, no dispersion set. */
const ALL_GATES: Partial<RolloutSchedule> = {
    gates: {
        cutoff: { tolerancePercent: 0, detectFactor: 2 },
        aborted: { tolerancePercent: 0, detectFactor: 2 },
        ttft: { tolerancePercent: 0, detectFactor: 1.5 },
        ...TOKENS_GATE.gates,
        ...REFUSALS_GATE.gates,
    },
};
/** Spread of log time to first token. */
export const TTFT_SIGMA = 0.5;

/**
 * The GPU stack's schedule (`Pulumi.gpu.yaml`; a test holds them equal) with its one-hour
 * budget: what a GPU endpoint at its sized load of about 2 requests a second runs.
 */
export const GPU_BUDGETED: Partial<RolloutSchedule> = {
    steps: [10, 50, 100],
    bakeSeconds: 600,
    slowRequestSeconds: 60,
    minRequests: 100,
    missRate: 0.005,
    budgetSeconds: 3600,
};
/** The GPU stack's budgeted schedule with its three gates at their defaults (`Pulumi.gpu.yaml`; a test holds them equal), each gate's dispersion measured as the run does. */
const GPU_GATED: Partial<RolloutSchedule> = {
    ...GPU_BUDGETED,
    gates: { cutoff: { tolerancePercent: 0, detectFactor: 2 }, ttft: { tolerancePercent: 0, detectFactor: 1.5 }, ...TOKENS_GATE.gates },
};
/** The share of a version's first tokens after the bound (stable's 90th percentile) at a factor of stable's time to first token. */
export const ttftShare = (factor: number) => 1 - normalCdf(1.2815516 - Math.log(factor) / TTFT_SIGMA, 0, 1);
/** The time-to-first-token factor whose share after the bound is `share`. */
const ttftFactorFor = (share: number) => Math.exp(TTFT_SIGMA * (1.2815516 - normalQuantile(1 - share, 0, 1)));
/**
 * What the one-hour budget promises at 2 requests a second, from the benchmark's stable (0.3%
 * 5xx, 5% slow; with the gates, 4% cut off, 10% of first tokens after the bound, 300 tokens an
 * answer, that count's dispersion about the 500 the run measures): the canaries "at the
 * promise" are exactly that bad. 5xx and slow requests on the schedule without gates, each
 * gate's on the stack's schedule with all three.
 */
const PROMISED = (() => {
    const traffic = { requestsPerSecond: 2, errorRate: STABLE.errorRate, slowShare: 0.05 };
    const plain = promisesWithin({ ...DEFAULT_SCHEDULE, ...GPU_BUDGETED }, traffic, GPU_BUDGETED.budgetSeconds!).promises;
    const gated = { ...DEFAULT_SCHEDULE, ...GPU_GATED, gates: { ...GPU_GATED.gates, tokens: { ...GPU_GATED.gates!.tokens!, dispersion: 500 } } };
    const gates = {
        cutoff: { trialsPerRequest: 1, rate: STABLE.cutOffRate },
        ttft: { trialsPerRequest: 1, rate: ttftShare(1) },
        tokens: { trialsPerRequest: 1, rate: STABLE_TOKENS },
    };
    const withGates = promisesWithin(gated, { ...traffic, gates }, GPU_BUDGETED.budgetSeconds!).promises;
    const of = (promises: typeof plain, id: string) => promises.find((p) => p.rate.id === id)!.rollout;
    return {
        errors: of(plain, "errors"),
        slow: of(plain, "slow"),
        cutoff: of(withGates, "cutoff"),
        ttft: of(withGates, "ttft"),
        tokens: of(withGates, "tokens"),
    };
})();
/**
 * A fresh endpoint at 1 request a second, whose stable answered no 5xx in its 3 hours: the judge
 * and the plan take its rate as half an event in them, and the budget's 5xx promise is a canary
 * rate in points (its factor of that estimate is in the hundreds): the canary "at the promise"
 * fails that share of its requests.
 */
const FRESH_5XX_PROMISE = (() => {
    const rate = 0.5 / (3 * 3600 + 1);
    const schedule = { ...DEFAULT_SCHEDULE, ...GPU_BUDGETED };
    const [errors] = promisesWithin(schedule, { requestsPerSecond: 1, errorRate: rate, slowShare: 0.05 }, GPU_BUDGETED.budgetSeconds!).promises;
    return Math.max(errors.rollout * rate, rate + schedule.detectMarginPercent / 100);
})();
const pctOf = (share: number) => `${(100 * share).toFixed(2)}%`;

/** A behaviour whose share of requests slower than stable's p95 is `share` (its median moved, its spread kept). */
const slowAt = (share: number): Behaviour => ({ ...STABLE, medianMs: STABLE_P95_MS / Math.exp(STABLE.sigma * normalQuantile(1 - share, 0, 1)) });
/** At 2 requests a second on the GPU stack's budgeted schedule. */
const GPU_TRAFFIC = { requestsPerSecond: 2, settings: GPU_BUDGETED, delaySeconds: 120 };
const AT_PROMISE_LIMIT =
    "a canary exactly at the promise may hold when the budget ends as well as be rolled back: what the promise bounds is the share promoted, at most missRate (0.5%)";
/** A canary exactly at a gate's promise on the GPU stack's gated schedule, and one at 1.5x it. */
const gateAtPromise = (id: "cutoff" | "ttft" | "tokens", what: string, at: (factor: number) => Partial<Behaviour>): Scenario[] => [
    {
        ...GPU_TRAFFIC,
        settings: GPU_GATED,
        name: `${id}-at-promise-2rps`,
        description: `the canary's ${what} exactly at what the GPU stack's budget promises at 2 req/s (${PROMISED[id]}x stable's)`,
        canary: () => ({ ...STABLE, ...at(PROMISED[id]) }),
        expected: "rolled-back",
        limit: AT_PROMISE_LIMIT,
    },
    {
        ...GPU_TRAFFIC,
        settings: GPU_GATED,
        name: `${id}-1.5x-promise-2rps`,
        description: `the canary's ${what} at 1.5x that promise (${Math.round(15 * PROMISED[id]) / 10}x stable's)`,
        canary: () => ({ ...STABLE, ...at(1.5 * PROMISED[id]) }),
        expected: "rolled-back",
    },
];

/**
 * The golden set's runner sending pairs during the steps (`evaluation.requestsPerSecond`), on the
 * GPU stack's gated schedule at 1 live request a second: a healthy canary whose runner requests
 * are 5x slower than live ones (the subtraction must keep them out of the live gates), and a
 * canary 1.5x slower to first token judged from live traffic alone and with 1 pair a second
 * beside it. A fresh endpoint has no live traffic to plan a budget from, so there the schedule
 * runs without one, on its configured promises.
 */
const FRESH_GATED: Partial<RolloutSchedule> = { ...GPU_GATED, budgetSeconds: undefined, detectErrorRateFactor: 4 };
const PAIRED_SCENARIOS: Scenario[] = [
    {
        ...GPU_TRAFFIC,
        settings: GPU_GATED,
        name: "healthy-paired-5x-1rps",
        description:
            "a healthy canary at 1 live req/s with the runner sending 1 pair a second whose requests are 5x slower than live ones, first token and total",
        requestsPerSecond: 1,
        paired: { requestsPerSecond: 1, slowFactor: 5 },
        canary: () => STABLE,
        expected: "promoted",
    },
    {
        ...GPU_TRAFFIC,
        settings: GPU_GATED,
        name: "ttft-1.5x-1rps",
        description: "the canary's time to first token 1.5x stable's, judged from 1 live req/s alone",
        requestsPerSecond: 1,
        canary: () => ({ ...STABLE, ttftFactor: 1.5 }),
        expected: "rolled-back",
    },
    {
        ...GPU_TRAFFIC,
        settings: GPU_GATED,
        name: "ttft-1.5x-1rps-paired",
        description: "the same with the runner sending 1 pair a second (its requests like live ones)",
        requestsPerSecond: 1,
        paired: { requestsPerSecond: 1, slowFactor: 1 },
        canary: () => ({ ...STABLE, ttftFactor: 1.5 }),
        expected: "rolled-back",
    },
    {
        ...GPU_TRAFFIC,
        settings: FRESH_GATED,
        name: "healthy-fresh-paired",
        description:
            "a fresh endpoint with no live traffic and a healthy canary: the runner's 1 pair a second is all the evidence (no budget: none can be planned without live traffic)",
        requestsPerSecond: 0,
        paired: { requestsPerSecond: 1, slowFactor: 1 },
        canary: () => STABLE,
        expected: "promoted",
    },
    {
        ...GPU_TRAFFIC,
        settings: FRESH_GATED,
        name: "ttft-1.5x-fresh-paired",
        description: "the same endpoint, the canary's time to first token 1.5x stable's",
        requestsPerSecond: 0,
        paired: { requestsPerSecond: 1, slowFactor: 1 },
        canary: () => ({ ...STABLE, ttftFactor: 1.5 }),
        expected: "rolled-back",
    },
];

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
        description:
            "a healthy canary where 1% of clients produce 30% of the 5xx, in bursts of 20 that land on one version; the dispersion measured from stable's last 3 hours",
        limit: "bursts weigh each 5xx less, so showing a canary within tolerance takes longer than the default 3-hour evidenceWaitSeconds: most such rollouts hold, and about 1% are rolled back, within falseRollbackRate; give them a longer evidenceWaitSeconds (healthy-clustered-dispersion)",
    },
    {
        ...CLUSTERED("healthy-clustered-dispersion", STABLE, "promoted"),
        description:
            "the same, with rollout.errorDispersion set to 7 (the bursts' variance over mean) and a 24-hour evidenceWaitSeconds, as docs/judge.md advises",
        settings: DISPERSION_SETTINGS,
    },
    {
        name: "healthy-rare-slow-pinned",
        description:
            "a healthy canary whose stack pins slowRequestSeconds where stable rarely reaches (0.4% of its requests are slower: a 10 s threshold for a model with a 3 s median)",
        requestsPerSecond: 10,
        canary: () => STABLE,
        settings: { slowRequestSeconds: 10 },
        pinnedSlowShare: 0.004,
        delaySeconds: 120,
        expected: "promoted",
        limit: "slow requests that rare need thousands of canary requests to be shown under 1.5x stable's: such rollouts hold at the default 3-hour evidenceWaitSeconds; leave slowRequestSeconds unset (healthy-rare-slow)",
    },
    {
        name: "healthy-rare-slow",
        description: "the same service with slowRequestSeconds left unset: the rollout reads stable's 95th percentile and judges slow requests against it",
        requestsPerSecond: 10,
        canary: () => STABLE,
        pinnedSlowShare: 0.004,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-rare-slow-diurnal",
        description: "the same under traffic between 3 and 15 req/s, a 60-minute sinusoid",
        requestsPerSecond: 9,
        rate: (t) => 9 - 6 * Math.cos((2 * Math.PI * t) / (60 * MINUTE)),
        canary: () => STABLE,
        pinnedSlowShare: 0.004,
        delaySeconds: 120,
        expected: "promoted",
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
        name: "healthy-cutoff",
        description: "a canary like stable, judged with the cut-off answers gate on (4% of both versions' answers hit max_tokens)",
        requestsPerSecond: 10,
        canary: () => STABLE,
        settings: CUTOFF_GATE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "cutoff-2x",
        description: "the canary cuts off 8% of its answers at max_tokens (stable 4%); its 5xx and request times are stable's",
        requestsPerSecond: 10,
        canary: () => ({ ...STABLE, cutOffRate: 0.08 }),
        settings: CUTOFF_GATE,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "healthy-ttft",
        description: "a canary like stable, judged with the slow-first-token gate on (10% of both versions' first tokens after the bound)",
        requestsPerSecond: 10,
        canary: () => STABLE,
        settings: TTFT_GATE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-tokens",
        description: "a canary like stable, judged with the tokens-per-answer gate on (300 tokens an answer, lengths varying as much as a chat model's)",
        requestsPerSecond: 10,
        canary: () => STABLE,
        settings: TOKENS_GATE,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        name: "healthy-all-gates",
        description:
            "a canary like stable, judged with every gate on (cut-off answers, slow first tokens, tokens per answer, the application's refusals), no dispersion set: the shares of the false-rollback rate it costs",
        requestsPerSecond: 10,
        canary: () => STABLE,
        settings: ALL_GATES,
        delaySeconds: 120,
        expected: "promoted",
    },
    {
        ...CLUSTERED("healthy-bursty-model", STABLE, "promoted"),
        description:
            "a canary like stable with every gate on and nothing set by hand, where 30% of 5xx and of refusals come in bursts of 20 from one client, and tokens per answer are overdispersed: every dispersion measured from stable",
        settings: ALL_GATES,
        limit: "bursts weigh each event less, so showing a canary within tolerance takes longer than the default 3-hour evidenceWaitSeconds: many such rollouts hold, none should be rolled back beyond falseRollbackRate",
    },
    {
        name: "aborted-2x",
        description: "the canary aborts 2% of its answers before they finish (stable 1%); its 5xx and request times are stable's",
        requestsPerSecond: 10,
        canary: () => ({ ...STABLE, abortRate: 0.02 }),
        settings: { gates: { aborted: { tolerancePercent: 0, detectFactor: 2 } } },
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "tokens-1.3x",
        description: "the canary answers with 30% more tokens (390 an answer, stable 300); its 5xx and request times are stable's",
        requestsPerSecond: 10,
        canary: () => ({ ...STABLE, tokensFactor: 1.3 }),
        settings: TOKENS_GATE,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "refusals-2x",
        description: "the canary refuses 4% of its answers (stable 2%), counted by the application; its 5xx and request times are stable's",
        requestsPerSecond: 10,
        canary: () => ({ ...STABLE, refusalRate: 0.04 }),
        settings: REFUSALS_GATE,
        delaySeconds: 120,
        expected: "rolled-back",
    },
    {
        name: "ttft-1.5x",
        description:
            "the canary's time to first token is 1.5x stable's (32% of first tokens after the bound, stable 10%); its 5xx and total request times are stable's",
        requestsPerSecond: 10,
        canary: () => ({ ...STABLE, ttftFactor: 1.5 }),
        settings: TTFT_GATE,
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
        ...GPU_TRAFFIC,
        name: "healthy-2rps-budget",
        description: "a healthy canary at 2 req/s (a GPU endpoint's sized load) on the GPU stack's schedule with its one-hour budget",
        canary: () => STABLE,
        expected: "promoted",
    },
    {
        ...GPU_TRAFFIC,
        name: "healthy-1rps-budget",
        description: "the same at 1 req/s",
        requestsPerSecond: 1,
        canary: () => STABLE,
        expected: "promoted",
    },
    {
        ...GPU_TRAFFIC,
        name: "healthy-1rps-no-5xx-budget",
        description: "a fresh endpoint at 1 req/s whose stable and canary answer no 5xx, on the GPU stack's budgeted schedule",
        requestsPerSecond: 1,
        stable: { ...STABLE, errorRate: 0 },
        canary: () => ({ ...STABLE, errorRate: 0 }),
        expected: "promoted",
    },
    {
        ...GPU_TRAFFIC,
        name: "errors-at-promise-1rps-no-5xx",
        description: `the same, the canary failing what that budget promises in points (${pctOf(FRESH_5XX_PROMISE)} of its requests)`,
        requestsPerSecond: 1,
        stable: { ...STABLE, errorRate: 0 },
        canary: () => ({ ...STABLE, errorRate: FRESH_5XX_PROMISE }),
        expected: "rolled-back",
        limit: AT_PROMISE_LIMIT,
    },
    {
        ...GPU_TRAFFIC,
        name: "errors-1.5x-promise-1rps-no-5xx",
        description: `the same at 1.5x that promise (${pctOf(1.5 * FRESH_5XX_PROMISE)})`,
        requestsPerSecond: 1,
        stable: { ...STABLE, errorRate: 0 },
        canary: () => ({ ...STABLE, errorRate: 1.5 * FRESH_5XX_PROMISE }),
        expected: "rolled-back",
    },
    {
        ...GPU_TRAFFIC,
        name: "errors-at-promise-2rps",
        description: `the canary's 5xx exactly at what that budget promises at 2 req/s (${PROMISED.errors}x stable's 0.3%)`,
        canary: () => ({ ...STABLE, errorRate: STABLE.errorRate * PROMISED.errors }),
        expected: "rolled-back",
        limit: AT_PROMISE_LIMIT,
    },
    {
        ...GPU_TRAFFIC,
        name: "errors-1.5x-promise-2rps",
        description: `the canary's 5xx at 1.5x that promise (${Math.round(1.5 * PROMISED.errors * 10) / 10}x stable's)`,
        canary: () => ({ ...STABLE, errorRate: STABLE.errorRate * PROMISED.errors * 1.5 }),
        expected: "rolled-back",
    },
    {
        ...GPU_TRAFFIC,
        name: "slow-at-promise-2rps",
        description: `the canary's slow requests exactly at what that budget promises at 2 req/s (${PROMISED.slow}x stable's 5%)`,
        canary: () => slowAt(0.05 * PROMISED.slow),
        expected: "rolled-back",
        limit: AT_PROMISE_LIMIT,
    },
    {
        ...GPU_TRAFFIC,
        name: "slow-1.5x-promise-2rps",
        description: `the canary's slow requests at 1.5x that promise (${Math.round(1.5 * PROMISED.slow * 10) / 10}x stable's)`,
        canary: () => slowAt(0.05 * PROMISED.slow * 1.5),
        expected: "rolled-back",
    },
    ...gateAtPromise("cutoff", "answers cut off", (f) => ({ cutOffRate: f * STABLE.cutOffRate })),
    ...gateAtPromise("ttft", "first tokens after the bound", (f) => ({ ttftFactor: ttftFactorFor(f * ttftShare(1)) })),
    ...gateAtPromise("tokens", "tokens per answer", (f) => ({ tokensFactor: f })),
    ...PAIRED_SCENARIOS,
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
