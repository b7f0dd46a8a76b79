/**
 * The gates: three anytime-valid sequential tests that follow the canary through the
 * whole rollout, sharing the configured false-rollback rate between them, plus the
 * stack's own canary alarms.
 *
 * - 5xx: is the canary's 5xx rate more than `1 + errorRateIncreasePercent/100` times
 *   stable's? (conditioned on the errors both had, the split cannot bias it)
 * - slow requests: the same question for requests slower than `slowRequestSeconds`
 *   (the latency gate: a rate of slow requests is a count CloudWatch returns, where a
 *   p99 of a few dozen requests is just their maximum)
 * - absolute 5xx: is the canary's 5xx rate above `maxErrorRatePercent`? It still judges
 *   when stable has no traffic, at the last step, where the comparisons have carried the
 *   evidence from the earlier steps.
 *
 * Evidence accumulates over every step, and from each step's start (`sequential.ts`); a
 * test that reaches its threshold fails the canary. Nothing else fails it: too little data is inconclusive, never a rollback.
 */
import { RolloutSchedule } from "./schedule";
import { MetricsSample, VersionSample } from "./ports";
import { RateLimitTest, RateRatioTest } from "./sequential";

export type Verdict = { kind: "pass" } | { kind: "fail"; reason: string } | { kind: "inconclusive"; reason: string };

export const errorRate = (v: VersionSample) => (v.requests > 0 ? (100 * v.errors) / v.requests : 0);

/** One test's standing: its evidence against its threshold. */
export interface Evidence {
    test: string;
    evidence: number;
    threshold: number;
}

export class Judge {
    private readonly errors: RateRatioTest;
    private readonly slow: RateRatioTest;
    private readonly errorLimit: RateLimitTest;

    constructor(schedule: RolloutSchedule) {
        // Bonferroni: the three tests share the rate, so together they stay under it.
        const alpha = schedule.falseRollbackRate / 3;
        // One start per step, and one for a resumed weight between steps.
        const starts = schedule.steps.length + 1;
        this.errors = new RateRatioTest(1 + schedule.errorRateIncreasePercent / 100, alpha, starts);
        this.slow = new RateRatioTest(1 + schedule.slowRequestIncreasePercent / 100, alpha, starts);
        this.errorLimit = new RateLimitTest(schedule.maxErrorRatePercent / 100, alpha, starts);
    }

    /** A step begins: each test also starts judging from here alone. */
    newStep(): void {
        for (const test of [this.errors, this.slow, this.errorLimit]) test.restart();
    }

    /** Adds a window's data and says whether the canary has failed so far. */
    observe(sample: MetricsSample): Verdict {
        const { canary, stable } = sample.versions;
        this.errors.observe({ events: canary.errors, requests: canary.requests }, { events: stable.errors, requests: stable.requests });
        this.slow.observe({ events: canary.slow, requests: canary.requests }, { events: stable.slow, requests: stable.requests });
        this.errorLimit.observe(canary.errors, canary.requests);
        if (sample.firingAlarms.length > 0) return { kind: "fail", reason: `alarm firing: ${sample.firingAlarms.join(", ")}` };
        const failed = this.standing().find((e) => e.evidence >= e.threshold);
        if (failed) return { kind: "fail", reason: `${failed.test}: evidence ${failed.evidence.toPrecision(3)} reached ${failed.threshold.toFixed(0)}` };
        return { kind: "pass" };
    }

    /** Every test's evidence against its threshold, for the reports. */
    standing(): Evidence[] {
        const over = (ratio: number) => (ratio > 1 ? ` by more than ${Math.round((ratio - 1) * 100)}%` : "");
        return [
            { test: `canary 5xx rate above stable's${over(this.errors.ratio)}`, evidence: this.errors.evidence, threshold: this.errors.threshold },
            { test: `canary slow-request rate above stable's${over(this.slow.ratio)}`, evidence: this.slow.evidence, threshold: this.slow.threshold },
            { test: `canary 5xx rate above ${(this.errorLimit.limit * 100).toFixed(1)}%`, evidence: this.errorLimit.evidence, threshold: this.errorLimit.threshold },
        ];
    }
}
