/**
 * The judge: anytime-valid sequential tests with two boundaries.
 *
 * Reject (roll back), each holding the false-rollback rate, shared four ways:
 * - 5xx: is the canary's 5xx rate more than `1 + errorRateIncreasePercent/100` times
 *   stable's? (conditioned on the errors both had, the split cannot bias it)
 * - slow requests: the same for requests slower than `slowRequestSeconds`
 * - absolute 5xx: is the canary's 5xx rate above `maxErrorRatePercent`? It still judges
 *   at 100%, where stable has no traffic;
 * - at 100%, the canary's own 5xx and slow-request rates against stable's as measured
 *   during the rollout (plus the margin).
 * Evidence accumulates over every step, and from each step's start (`sequential.ts`).
 *
 * Accept (the canary is within tolerance), each holding the miss rate: for each rate, that
 * the canary is not `detect...Factor` times stable's (or stable's + the margin) over the
 * rollout, and, at the last step before 100%, not 5 times stable's on that step alone (a bug
 * that needs load). The last step before 100% passes only once all of them accept; too
 * little data is inconclusive, never a rollback and never a promotion.
 */
import { RolloutSchedule } from "../../contract/schedule";
import { MetricsSample, VersionSample } from "./ports";
import { AcceptanceTest, RateLimitTest, RateRatioTest, RatioAcceptanceTest } from "./sequential";

export type Verdict = { kind: "pass" } | { kind: "fail"; reason: string } | { kind: "inconclusive"; reason: string };

export const errorRate = (v: VersionSample) => (v.requests > 0 ? (100 * v.errors) / v.requests : 0);

/** One test's standing: its evidence against its threshold. */
export interface Evidence {
    test: string;
    evidence: number;
    threshold: number;
}

/**
 * Where a step stands in the schedule: a ramp step passes once baked without a failure; the
 * last step before 100% passes only on acceptance (the canary shown, this sure, to be better
 * than the regressions that must be caught); the 100% step judges the canary on its own.
 */
export type StepRole = "ramp" | "last" | "full";

/** A step's role: 100%; the last step before it, which must show the canary within tolerance; or one on the way. */
export function roleOf(weight: number, steps: number[]): StepRole {
    if (weight === 100) return "full";
    return steps.find((w) => w > weight) === 100 ? "last" : "ramp";
}

/** A regression of this size that starts at the last step before 100% (a bug that needs load) must be caught too. */
export const LAST_STEP_FACTOR = 5;

type Rate = "errors" | "slow";

/** The two ways a rate may be accepted, and the multiple of stable's rate that is tolerated. */
interface Acceptance {
    byRatio: RatioAcceptanceTest;
    byMargin: AcceptanceTest;
    tolerated: number;
}

/** Counts pooled over windows. */
interface Pool {
    requests: number;
    errors: number;
    slow: number;
}

/** A rate from pooled counts, never 0 (half an event of prior), so a ratio of it stays finite. */
const estimatedRate = (events: number, requests: number) => (events + 0.5) / (requests + 1);

export class Judge {
    private readonly errors: RateRatioTest;
    private readonly slow: RateRatioTest;
    private readonly errorLimit: RateLimitTest;
    /** At 100%, where stable serves nothing: the canary's own rates against stable's as measured during the rollout. */
    private readonly full: { errors?: RateLimitTest; slow?: RateLimitTest } = {};
    /** Stable's traffic over the rollout, while it served any. */
    private readonly stable: Pool = { requests: 0, errors: 0, slow: 0 };
    /** Acceptance over the whole rollout, against the configured regressions. */
    private readonly accept: Record<Rate, Acceptance>;
    /** Acceptance at the last step before 100% alone, against a regression of LAST_STEP_FACTOR. */
    private last?: Record<Rate, Acceptance>;
    private role: StepRole = "ramp";
    private readonly alpha: number;
    /** Each version's traffic in every window judged so far: what a verdict quotes. */
    private readonly seen: Record<"canary" | "stable", Pool> = { canary: { requests: 0, errors: 0, slow: 0 }, stable: { requests: 0, errors: 0, slow: 0 } };

    constructor(private readonly schedule: RolloutSchedule) {
        // Bonferroni: four shares of the rate (5xx and slow against stable, the 5xx limit, and the 100% step's pair), so together they stay under it.
        this.alpha = schedule.falseRollbackRate / 4;
        // One start per step, and one for a resumed weight between steps.
        const starts = schedule.steps.length + 1;
        this.errors = new RateRatioTest(1 + schedule.errorRateIncreasePercent / 100, this.alpha, starts, schedule.detectErrorRateFactor);
        this.slow = new RateRatioTest(1 + schedule.slowRequestIncreasePercent / 100, this.alpha, starts, schedule.detectSlowRequestFactor);
        this.errorLimit = new RateLimitTest(schedule.maxErrorRatePercent / 100, this.alpha, starts);
        this.accept = {
            errors: this.acceptanceFor(schedule.detectErrorRateFactor, "errors"),
            slow: this.acceptanceFor(schedule.detectSlowRequestFactor, "slow"),
        };
    }

    /** A step begins: each test also starts judging from here alone; the step's role says what it must show. */
    newStep(role: StepRole = "ramp"): void {
        for (const test of [this.errors, this.slow, this.errorLimit]) test.restart();
        this.role = role;
        if (role === "last") this.last = { errors: this.acceptanceFor(LAST_STEP_FACTOR, "errors"), slow: this.acceptanceFor(LAST_STEP_FACTOR, "slow") };
        if (role === "full" && !this.full.errors) {
            // Each against the tolerated multiple of stable's measured rate, plus the margin: a noisy estimate must not roll back a canary like stable.
            const limit = (events: number, tolerance: number) =>
                Math.min(0.99, (1 + tolerance / 100) * estimatedRate(events, this.stable.requests) + this.margin);
            this.full.errors = new RateLimitTest(limit(this.stable.errors, this.schedule.errorRateIncreasePercent), this.alpha / 2);
            this.full.slow = new RateLimitTest(limit(this.stable.slow, this.schedule.slowRequestIncreasePercent), this.alpha / 2);
        }
    }

    private get margin(): number {
        return this.schedule.detectMarginPercent / 100;
    }

    /**
     * Adds a window's data and says whether the canary has failed so far. A window in a step's
     * warm-up is judged by the absolute 5xx limit (and the alarms) alone.
     */
    observe(sample: MetricsSample, warmup = false): Verdict {
        const { canary, stable } = sample.versions;
        for (const [version, v] of [
            ["canary", canary],
            ["stable", stable],
        ] as const)
            for (const key of ["requests", "errors", "slow"] as const) this.seen[version][key] += v[key];
        const canaryErrors = this.errorsOf(canary);
        if (warmup) {
            this.errorLimit.observe(canaryErrors.events, canaryErrors.requests);
            return this.verdict(sample);
        }
        this.errors.observe(canaryErrors, this.errorsOf(stable));
        this.slow.observe({ events: canary.slow, requests: canary.requests }, { events: stable.slow, requests: stable.requests });
        this.errorLimit.observe(canaryErrors.events, canaryErrors.requests);
        this.full.errors?.observe(canaryErrors.events, canaryErrors.requests);
        this.full.slow?.observe(canary.slow, canary.requests);
        if (stable.requests > 0) this.acceptWindow(canary, stable);
        return this.verdict(sample);
    }

    /**
     * A version's 5xx for the tests, in units of `errorDispersion`: a count whose variance is
     * that many times its mean carries that many times less evidence (the quasi-likelihood
     * correction), so bursts of 5xx from a few clients do not read as a regression. Rates are
     * unchanged; only the weight of the evidence is.
     */
    private errorsOf(v: Pool): { events: number; requests: number } {
        const dispersion = this.schedule.errorDispersion;
        return { events: v.errors / dispersion, requests: v.requests / dispersion };
    }

    private verdict(sample: MetricsSample): Verdict {
        if (sample.firingAlarms.length > 0) return { kind: "fail", reason: `alarm firing: ${sample.firingAlarms.join(", ")}` };
        const failed = this.standing().find((e) => e.evidence >= e.threshold);
        if (failed)
            return {
                kind: "fail",
                reason: `${failed.test}: ${this.rates(/slow/.test(failed.test) ? "slow" : "errors")}; evidence ${failed.evidence.toPrecision(3)} reached ${failed.threshold.toFixed(0)}`,
            };
        return { kind: "pass" };
    }

    /** Both versions' rate of 5xx or slow requests so far, with the counts behind it, as an on-call engineer reads it. */
    private rates(rate: Rate): string {
        const name = rate === "errors" ? "5xx" : "slow";
        const one = (version: "canary" | "stable") => {
            const v = this.seen[version];
            const share = v.requests > 0 ? `${((100 * v[rate]) / v.requests).toFixed(2)}%` : "-";
            return `${version} ${name} ${share} (${v[rate]}/${v.requests})`;
        };
        return `${one("canary")} vs ${one("stable")}`;
    }

    /**
     * A rate's acceptance against a regression of `factor`: by the ratio of both versions'
     * events, or, for a rare event, by the canary's own rate against stable's plus the margin.
     * Either may accept, each at half the miss rate, so a canary at least as bad as both
     * (the larger of factor x stable's rate and stable's rate + margin) is accepted at most
     * missRate of the time. A promotion needs every rate's acceptance; a canary bad in one
     * rate is promoted only if that rate's is wrong, so each rate may use all of missRate.
     */
    private acceptanceFor(factor: number, rate: Rate): Acceptance {
        const tolerated = 1 + (rate === "errors" ? this.schedule.errorRateIncreasePercent : this.schedule.slowRequestIncreasePercent) / 100;
        const beta = this.schedule.missRate / 2;
        return { byRatio: new RatioAcceptanceTest(tolerated, factor, beta), byMargin: new AcceptanceTest(beta), tolerated };
    }

    /** Acceptance is decided while stable serves traffic. */
    private acceptWindow(canary: Pool, stable: Pool): void {
        for (const key of ["requests", "errors", "slow"] as const) this.stable[key] += stable[key];
        for (const tests of [this.accept, ...(this.role === "last" && this.last ? [this.last] : [])]) {
            for (const rate of ["errors", "slow"] as const) {
                const { byRatio, byMargin, tolerated } = tests[rate];
                const [c, s] =
                    rate === "errors"
                        ? [this.errorsOf(canary), this.errorsOf(stable)]
                        : [
                              { events: canary.slow, requests: canary.requests },
                              { events: stable.slow, requests: stable.requests },
                          ];
                byRatio.observe(c, s);
                const measured = estimatedRate(this.stable[rate], this.stable.requests);
                byMargin.observe(c.events, c.requests, tolerated * measured, measured + this.margin);
            }
        }
    }

    /** Whether the canary has shown it is within tolerance: over the rollout, and at the last step before 100% (once it has begun) on that step alone. */
    acceptance(): { accepted: boolean; reason: string } {
        const shown = (a?: Acceptance) => a !== undefined && (a.byRatio.accepted || a.byMargin.accepted);
        const pending = [
            ...(shown(this.accept.errors) ? [] : [`5xx rate under ${this.schedule.detectErrorRateFactor}x stable's`]),
            ...(shown(this.accept.slow) ? [] : [`slow-request rate under ${this.schedule.detectSlowRequestFactor}x stable's`]),
            ...(this.role !== "last" || shown(this.last?.errors) ? [] : [`5xx rate under ${LAST_STEP_FACTOR}x stable's at this step`]),
            ...(this.role !== "last" || shown(this.last?.slow) ? [] : [`slow-request rate under ${LAST_STEP_FACTOR}x stable's at this step`]),
        ];
        return { accepted: pending.length === 0, reason: pending.length ? `not yet shown: ${pending.join("; ")}` : "" };
    }

    /** Every test's evidence against its threshold, for the reports. */
    standing(): Evidence[] {
        const over = (ratio: number) => (ratio > 1 ? ` by more than ${Math.round((ratio - 1) * 100)}%` : "");
        const fullTest = (name: string, test?: RateLimitTest) => ({
            test: `canary ${name} rate at 100% above stable's`,
            evidence: test?.evidence ?? 1,
            threshold: test?.threshold ?? 2 / this.alpha,
        });
        return [
            { test: `canary 5xx rate above stable's${over(this.errors.ratio)}`, evidence: this.errors.evidence, threshold: this.errors.threshold },
            { test: `canary slow-request rate above stable's${over(this.slow.ratio)}`, evidence: this.slow.evidence, threshold: this.slow.threshold },
            {
                test: `canary 5xx rate above ${(this.errorLimit.limit * 100).toFixed(1)}%`,
                evidence: this.errorLimit.evidence,
                threshold: this.errorLimit.threshold,
            },
            fullTest("5xx", this.full.errors),
            fullTest("slow-request", this.full.slow),
        ];
    }
}
