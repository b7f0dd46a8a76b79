/**
 * The rollout schedule and its gates (`rollout.*` in stack config). The program
 * validates this section with the rest of the config, so `pulumi preview` refuses a
 * schedule the rollout would refuse.
 */
import { z } from "zod";
import { decimal, integer, integerList, oneOf, rule, section } from "./fields";
import { gatesSection } from "./gates";

export const DEFAULT_STEPS = [5, 10, 25, 50, 100];

/** The slow-request threshold the dashboard graphs when `slowRequestSeconds` is not pinned, and the rollout's when stable's 95th percentile cannot be read. */
export const UNPINNED_SLOW_SECONDS = 10;

const SEQUENTIAL = "replaced by sequential tests with a controlled false-rollback rate";

export const rolloutSection = section(
    {
        steps: integerList(1, 100).default(DEFAULT_STEPS).describe("Canary weights to step through, ascending, ending at 100."),
        bakeSeconds: integer(60, 86400).default(600).describe("How long each step bakes, counted from the first metric data that covers its weight."),
        sampleSeconds: integer(10, 3600)
            .default(60)
            .describe("How often metrics are read while baking; every read is judged, without inflating the error rate."),
        falseRollbackRate: decimal(0.0001, 0.2)
            .default(0.01)
            .describe("The chance that a rollout of a canary no worse than tolerated is rolled back anyway, over the whole rollout."),
        missRate: decimal(0.0001, 0.2)
            .default(0.01)
            .describe(
                "The chance of promoting a canary at least as bad as the detect factors say, for each of the two rates: before 100% the canary must show, this sure, that it is better than that.",
            ),
        errorRateIncreasePercent: integer(0, 1000)
            .default(0)
            .describe("How much higher (percent) the canary's 5xx rate may be than stable's before it is a regression."),
        detectErrorRateFactor: decimal(1.01, 100)
            .default(2)
            .describe(
                "A canary whose 5xx rate is this many times stable's (or more) must be caught: promoted at most missRate of the time. Above 1 + errorRateIncreasePercent/100.",
            ),
        detectSlowRequestFactor: decimal(1.01, 100)
            .default(1.5)
            .describe(
                "The same for the rate of slow requests. Above 1 + slowRequestIncreasePercent/100. The default is lower than the 5xx one because slow requests are common (the threshold sits near stable's p95), so catching 1.5x costs a healthy canary no time, and 3% of requests 4x slower is a 1.5x regression.",
            ),
        detectMarginPercent: decimal(0, 100)
            .default(0.1)
            .describe(
                "A floor, in percentage points above stable's rate, on the regression that must be caught: a stable with almost no 5xx or slow requests would otherwise need a canary with almost none to be accepted.",
            ),
        lastStepDetectFactor: decimal(1.5, 1000)
            .default(5)
            .describe(
                "A regression that starts at the last step before 100% (a bug that needs load) of this many times stable's rate must be caught on that step's data alone, for every rate. With budgetSeconds it is raised to what the budget can show, and said.",
            ),
        budgetSeconds: integer(600, 604800)
            .optional()
            .describe(
                "The time from the first weight above 0 to the decision to promote (capacity waits, the 100% step and the promotion are besides). Before the first step the rollout reads stable's last 3 hours and, for every rate it judges, raises the detect factor to the smallest regression it can promise to catch within the budget at that traffic, states those promises, and holds them; the last step before 100% bakes until acceptance or the budget's end (which replaces evidenceWaitSeconds), then onLowTraffic decides. See docs/judge.md.",
            ),
        weakestPromise: decimal(1.1, 1000)
            .default(10)
            .describe(
                "With budgetSeconds: the weakest promise the rollout may start with. If the budget cannot promise to catch a regression of this many times stable's rate for some rate, the rollout refuses to start and says what budget or traffic would.",
            ),
        weakestPromisePoints: decimal(0, 100)
            .default(2)
            .describe(
                "With budgetSeconds: a promise on a share (5xx, slow requests, a share gate) weaker than weakestPromise is still taken when it is within this many percentage points of stable's rate: a rare event's factor says little (200x a stable with no 5xx in its hours may be 1%). 2 points is about what 10x means at a common 0.2-0.3% 5xx rate.",
            ),
        errorDispersion: decimal(1, 100)
            .optional()
            .describe(
                "How bursty 5xx are: the variance of a version's 5xx count over its mean (1 when requests fail independently). Unset, the rollout measures it from stable's last 3 hours before the first step (and uses 1 when those minutes show no burstiness, or too few 5xx to tell); the judge weighs each 5xx as 1/errorDispersion of one. See docs/judge.md.",
            ),
        warmupSeconds: integer(0, 3600)
            .default(180)
            .describe(
                "The canary's first seconds of traffic in a rollout (cold caches, a model's first requests) are judged only by the absolute 5xx limit: a canary slow only while it warms up is not rolled back for it.",
            ),
        evidenceWaitSeconds: integer(0, 86400)
            .default(10800)
            .describe(
                "How long past the bake time the last step before 100% keeps baking for enough evidence that the canary is within tolerance; then onLowTraffic decides. Never a promotion without it.",
            ),
        latencyMetric: oneOf(["total", "firstByte"])
            .default("total")
            .describe(
                "Which latency the slow-request gate reads: the total request time, or the time to the first response byte (time to first token, for a streaming server; App Mesh only), which does not grow with the length of the answer.",
            ),
        slowRequestSeconds: decimal(0.01, 3600)
            .optional()
            .describe(
                "A request slower than this (by `latencyMetric`) is slow; the canary's rate of slow requests is compared with stable's. Unset, the rollout reads stable's 95th percentile over its last 3 hours before the first step and uses it, said in its first lines: a threshold stable rarely crosses makes acceptance slow (the dashboard graphs requests over 10 s until it is set).",
            ),
        slowRequestIncreasePercent: integer(0, 1000).default(0).describe("How much higher (percent) the canary's rate of slow requests may be than stable's."),
        maxErrorRatePercent: decimal(0.1, 100)
            .default(5)
            .describe("A canary 5xx rate above this fails whatever stable does: the gate that still judges at 100%."),
        minRequests: integer(1, 1_000_000)
            .default(200)
            .describe("Canary requests a step needs before it can pass; fewer is inconclusive, neither pass nor fail."),
        metricsMaxLagSeconds: integer(60, 3600)
            .default(300)
            .describe(
                "How late metrics may arrive: a whole minute is judged once a later minute has data, or this long after it closed, with what arrived (said in the progress line). CloudWatch's metric filters and Lattice's metrics usually arrive within 1-3 minutes.",
            ),
        trafficWaitSeconds: integer(0, 86400).default(1800).describe("How long past the bake time to wait for enough traffic."),
        onLowTraffic: oneOf(["rollback", "hold"])
            .default("hold")
            .describe("What to do when the wait runs out: roll back, or hold the weight and stop (exit 3)."),
        metricsOutageSeconds: integer(60, 86400)
            .default(600)
            .describe("How long metrics may be unreadable (each read retried with backoff) before the step ends."),
        onMetricsOutage: oneOf(["rollback", "hold"])
            .default("hold")
            .describe("What a sustained metrics outage does: roll back, or hold the weight and stop (exit 3)."),
        gates: gatesSection
            .default({})
            .describe(
                "What the model does, judged like 5xx: answers cut off at the length limit, slow first tokens, tokens per answer (from the model server's metrics), and the application's own counts.",
            ),
    },
    {
        elsewhere: {
            maxP99LatencySeconds: `${SEQUENTIAL}: set rollout.slowRequestSeconds and rollout.slowRequestIncreasePercent`,
            maxLatencyIncreasePercent: `${SEQUENTIAL}: set rollout.slowRequestIncreasePercent`,
            maxErrorRateIncreasePoints: `${SEQUENTIAL}: set rollout.errorRateIncreasePercent`,
            metricsDelaySeconds:
                "replaced by rollout.metricsMaxLagSeconds: every whole minute is judged once its data is complete, however late it arrives within that bound",
        },
        rules: [
            rule<{ steps: number[] }>(["steps"], "steps ascend strictly and end at 100", (r, report) => {
                const ascending = r.steps.every((w, i) => i === 0 || w > r.steps[i - 1]);
                if (!ascending || r.steps.at(-1) !== 100) {
                    report("steps", r.steps, "strictly ascending weights ending at 100, e.g. [5, 10, 25, 50, 100]");
                }
            }),
            rule<{ errorRateIncreasePercent: number; detectErrorRateFactor: number; slowRequestIncreasePercent: number; detectSlowRequestFactor: number }>(
                ["errorRateIncreasePercent", "detectErrorRateFactor", "slowRequestIncreasePercent", "detectSlowRequestFactor"],
                "each detect factor is above 1 + its tolerance",
                (r, report) => {
                    const check = (
                        factor: "detectErrorRateFactor" | "detectSlowRequestFactor",
                        tolerance: "errorRateIncreasePercent" | "slowRequestIncreasePercent",
                    ) => {
                        const tolerated = 1 + r[tolerance] / 100;
                        if (r[factor] <= tolerated)
                            report(factor, r[factor], `above 1 + ${tolerance}/100 (${tolerated}): what must be caught is worse than what is tolerated`);
                    };
                    check("detectErrorRateFactor", "errorRateIncreasePercent");
                    check("detectSlowRequestFactor", "slowRequestIncreasePercent");
                },
            ),
            rule<{ sampleSeconds: number; bakeSeconds: number }>(["sampleSeconds", "bakeSeconds"], "sampleSeconds is at most bakeSeconds", (r, report) => {
                if (r.sampleSeconds > r.bakeSeconds) report("sampleSeconds", r.sampleSeconds, `at most bakeSeconds (${r.bakeSeconds})`);
            }),
        ],
    },
);

export type RolloutSchedule = z.output<typeof rolloutSection>;

/** The schedule of a stack that sets no `rollout.*` key. */
export const DEFAULT_SCHEDULE: RolloutSchedule = rolloutSection.parse(undefined);
