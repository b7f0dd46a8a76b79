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
 * rollout, and, at the last step before 100%, not `lastStepDetectFactor` times stable's on that
 * step alone (a bug that needs load). The last step before 100% passes only once all of them accept; too
 * little data is inconclusive, never a rollback and never a promotion.
 *
 * With a paired stream (`stream.ts`), its minutes are a second stratum for the same tests that
 * compare the versions: within it both versions get the same requests, so each comparison's
 * evidence from it is valid on its own and multiplies with the live one's; the tests, their
 * thresholds and the promises stay the same. The tests of the canary's own rate against a fixed
 * limit (the 5xx limit, the 100% step's) read live traffic only: the stream's mix is not live
 * traffic's. Its scorer verdicts go to a paired test of the answers (`paired.ts`) that may roll
 * back, with its own share of the false-rollback rate.
 */
import { RolloutSchedule } from "../../contract/schedule";
import { GateCounts, MetricsSample, VersionSample } from "./ports";
import { GateSpec, gatesOf, rateText } from "../../contract/gates";
import { AcceptanceTest, CountLimitTest, RateLimitTest, RateRatioTest, RatioAcceptanceTest } from "./sequential";
import { estimatedRate } from "./evidence";
import { PairedTest } from "./paired";
import type { PairOutcome } from "./stream";

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

/**
 * A rate the judge holds the canary to, against stable: a count of bad events over a count of
 * trials per version (5xx over requests, slow requests over requests, and the gates of
 * `rollout.gates`). `dispersion` is how many times its variance exceeds its mean.
 */
interface Gate {
    /** `errors`, `slow`, or the gate's id in `rollout.gates`: the key of its counts in stable's history. */
    id: string;
    /** How reports name it: "5xx", "slow-request", "cut-off answer". */
    label: string;
    /** How a version's rate is quoted, e.g. "canary 5xx 1.20% (12/1000)". */
    short: string;
    /** A share of trials (each event is one of them), or a rate per trial (tokens per answer). */
    measure: GateSpec["measure"];
    raw(v: VersionSample): GateCounts;
    dispersion: number;
    /** The increase over stable's rate that is tolerated, percent, and the multiple of stable's rate that must be caught. */
    tolerancePercent: number;
    detectFactor: number;
}

/** The gates every rollout has: 5xx (in units of `errorDispersion`) and slow requests. */
function trafficGates(schedule: RolloutSchedule): Gate[] {
    return [
        {
            id: "errors",
            label: "5xx",
            short: "5xx",
            measure: "share",
            raw: (v) => ({ events: v.errors, requests: v.requests }),
            dispersion: schedule.errorDispersion ?? 1,
            tolerancePercent: schedule.errorRateIncreasePercent,
            detectFactor: schedule.detectErrorRateFactor,
        },
        {
            id: "slow",
            label: "slow-request",
            short: "slow",
            measure: "share",
            raw: (v) => ({ events: v.slow, requests: v.requests }),
            dispersion: 1,
            tolerancePercent: schedule.slowRequestIncreasePercent,
            detectFactor: schedule.detectSlowRequestFactor,
        },
    ];
}

/** The model's gates the schedule turns on (`rollout.gates`), read from each version's sample. */
const modelGates = (schedule: RolloutSchedule): Gate[] =>
    gatesOf(schedule.gates).map((spec) => ({
        id: spec.id,
        label: spec.label,
        short: spec.short,
        measure: spec.measure,
        raw: (v: VersionSample) => v.gates?.[spec.id] ?? { events: 0, requests: 0 },
        dispersion: spec.dispersion ?? 1,
        tolerancePercent: spec.tolerancePercent,
        detectFactor: spec.detectFactor,
    }));

/**
 * A gate's counts as the tests weigh them, in units of its dispersion: a count whose variance
 * is that many times its mean carries that many times less evidence (the quasi-likelihood
 * correction), so bursts from a few clients do not read as a regression. Rates are unchanged;
 * only the weight of the evidence is.
 */
const weighed = (gate: Gate, v: VersionSample): GateCounts => {
    const { events, requests } = gate.raw(v);
    return { events: events / gate.dispersion, requests: requests / gate.dispersion };
};

/** The two ways a rate may be accepted (a rate per trial only by the ratio: a margin is a share's), the multiple of stable's rate that is tolerated, and the one to catch. */
interface Acceptance {
    byRatio: RatioAcceptanceTest;
    byMargin?: AcceptanceTest;
    tolerated: number;
    factor: number;
}

const add = (pool: GateCounts, counts: GateCounts) => {
    pool.events += counts.events;
    pool.requests += counts.requests;
};

/**
 * Each live test's share of `falseRollbackRate` (Bonferroni): one per gate against stable, one
 * for the 5xx limit, one for the 100% step (split between its gates), so together they stay
 * under the rate. With a golden set its comparison takes half the rate (`goldenShare`) and the
 * live tests share the other half: a set of a few hundred items needs about that much to catch
 * a 10-point loss in 99% of rollouts (docs/evaluation.md).
 */
function falseRollbackShare(schedule: RolloutSchedule, evaluated: Evaluated): number {
    const live = evaluated.goldenSet ? schedule.falseRollbackRate - goldenShare(schedule) : schedule.falseRollbackRate;
    return live / (trafficGates(schedule).length + modelGates(schedule).length + 2 + (evaluated.pairedAnswers ? 1 : 0));
}

/** What the stack's evaluation adds to the judge: a golden set's comparison (its own share of the rate), and a paired stream's test of the answers. */
export interface Evaluated {
    goldenSet?: boolean;
    /** With a paired stream scored: the points of pass rate the canary may lose, and the loss its acceptance would exclude (0-1). */
    pairedAnswers?: { toleratedLoss: number; detectLoss: number };
}

/** One minute's paired stream: each version's counts as the runner measured them, and each pair's scorer verdicts. */
export interface PairedMinutes {
    sample: MetricsSample;
    outcomes: PairOutcome[];
}

type Stratum = "live" | "paired";

/** The golden set comparison's share of `falseRollbackRate`. */
export const goldenShare = (schedule: RolloutSchedule) => schedule.falseRollbackRate / 2;

export class Judge {
    private readonly gates: Gate[];
    /** Per gate, canary against stable. */
    private readonly ratio: RateRatioTest[];
    /** The canary's own 5xx rate against `maxErrorRatePercent`: it still judges at 100%, where stable has no traffic. */
    private readonly errorLimit: RateLimitTest;
    /** At 100%, per gate: the canary's own rate against stable's as measured during the rollout. */
    private full?: (RateLimitTest | CountLimitTest)[];
    /** Per gate, stable's events and trials over the rollout, while it served any. */
    private readonly stable: GateCounts[];
    /** Per gate, acceptance over the whole rollout, against the configured regressions. */
    private readonly accept: Acceptance[];
    /** Per gate, acceptance at the last step before 100% alone, against a regression of `lastStepDetectFactor` (or the gate's own, with a budget). */
    private last?: Acceptance[];
    private role: StepRole = "ramp";
    private readonly alpha: number;
    /** Per stratum and gate, each version's counts in every window judged so far: what a verdict quotes. */
    private readonly seen: Record<Stratum, Record<"canary" | "stable", GateCounts[]>>;
    /** Per gate, stable's events and trials in the paired stream: its own rate's reference there. */
    private readonly pairedStable: GateCounts[];
    /** With a paired stream scored, the paired test of its answers (it may roll back; acceptance is the golden set's and the rates'). */
    private readonly answers?: PairedTest;
    private readonly answerCounts = { pairs: 0, stable: 0, canary: 0 };
    /** The points of pass rate the paired answers may lose, as the reason quotes them. */
    private readonly answersTolerated: number = 0;

    /**
     * @param prior stable's counts before the rollout (its last hours), by gate id: with a
     * budget, stable's rate is estimated from them and the rollout's together, so the canary's
     * own trials can be held to a multiple of it from the first step.
     * @param lastStep with a budget, each gate's regression to catch on the last step's own data,
     * by gate id, where it is more than `lastStepDetectFactor` (the budget's promise for that step).
     */
    constructor(
        private readonly schedule: RolloutSchedule,
        private readonly prior: Record<string, GateCounts> = {},
        evaluated: Evaluated = {},
        private readonly lastStep: Record<string, number> = {},
    ) {
        this.gates = [...trafficGates(schedule), ...modelGates(schedule)];
        this.alpha = falseRollbackShare(schedule, evaluated);
        if (evaluated.pairedAnswers) {
            this.answers = new PairedTest({ ...evaluated.pairedAnswers, alpha: this.alpha, missRate: schedule.missRate });
            this.answersTolerated = 100 * evaluated.pairedAnswers.toleratedLoss;
        }
        // One start per step, and one for a resumed weight between steps.
        const starts = schedule.steps.length + 1;
        this.ratio = this.gates.map((g) => new RateRatioTest(1 + g.tolerancePercent / 100, this.alpha, starts, g.detectFactor));
        this.errorLimit = new RateLimitTest(schedule.maxErrorRatePercent / 100, this.alpha, starts);
        this.accept = this.gates.map((g) => this.acceptanceFor(g, g.detectFactor));
        const none = () => this.gates.map(() => ({ events: 0, requests: 0 }));
        this.stable = none();
        this.pairedStable = none();
        this.seen = { live: { canary: none(), stable: none() }, paired: { canary: none(), stable: none() } };
    }

    /** A step begins: each test also starts judging from here alone; the step's role says what it must show. */
    newStep(role: StepRole = "ramp"): void {
        for (const test of [...this.ratio, this.errorLimit]) test.restart();
        this.role = role;
        if (role === "last") this.last = this.gates.map((g) => this.acceptanceFor(g, this.lastStepFactor(g)));
        if (role === "full" && !this.full) {
            // Each against the tolerated multiple of stable's measured rate, plus the margin: a noisy estimate must not roll back a canary like stable.
            this.full = this.gates.map((g, i) => {
                const measured = estimatedRate(this.stable[i].events, this.stable[i].requests);
                const alpha = this.alpha / this.gates.length;
                return g.measure === "rate"
                    ? new CountLimitTest((1 + g.tolerancePercent / 100) * measured, alpha)
                    : new RateLimitTest(Math.min(0.99, (1 + g.tolerancePercent / 100) * measured + this.margin), alpha);
            });
        }
    }

    private get margin(): number {
        return this.schedule.detectMarginPercent / 100;
    }

    /**
     * Adds a window's data, live and (with a stream) paired, and says whether the canary has
     * failed so far. A window in a step's warm-up is judged by the absolute 5xx limit (and the
     * alarms) alone.
     */
    observe(sample: MetricsSample, warmup = false, paired?: PairedMinutes): Verdict {
        const { canary, stable } = sample.versions;
        this.count("live", sample);
        const canaryErrors = weighed(this.gates[0], canary);
        this.errorLimit.observe(canaryErrors.events, canaryErrors.requests);
        if (warmup) return this.verdict(sample);
        this.gates.forEach((g, i) => {
            const c = weighed(g, canary);
            this.ratio[i].observe(c, weighed(g, stable));
            this.full?.[i].observe(c.events, c.requests);
        });
        if (stable.requests > 0) this.acceptWindow("live", canary, stable);
        if (paired) this.observePaired(paired);
        return this.verdict(sample);
    }

    private count(stratum: Stratum, sample: MetricsSample): void {
        this.gates.forEach((g, i) => {
            add(this.seen[stratum].canary[i], g.raw(sample.versions.canary));
            add(this.seen[stratum].stable[i], g.raw(sample.versions.stable));
        });
    }

    /** The stream's minutes: the comparisons of both versions, and the paired test of the answers. */
    private observePaired({ sample, outcomes }: PairedMinutes): void {
        const { canary, stable } = sample.versions;
        this.count("paired", sample);
        this.gates.forEach((g, i) => this.ratio[i].observe(weighed(g, canary), weighed(g, stable)));
        if (stable.requests > 0) this.acceptWindow("paired", canary, stable);
        for (const outcome of outcomes) {
            this.answers?.add(outcome);
            this.answerCounts.pairs += 1;
            this.answerCounts.stable += Number(outcome.stablePass);
            this.answerCounts.canary += Number(outcome.canaryPass);
        }
    }

    private verdict(sample: MetricsSample): Verdict {
        if (sample.firingAlarms.length > 0) return { kind: "fail", reason: `alarm firing: ${sample.firingAlarms.join(", ")}` };
        if (this.answers?.verdict() === "rejected") {
            const { pairs, stable, canary } = this.answerCounts;
            return {
                kind: "fail",
                reason: `paired answers: the canary passed ${canary} of ${pairs}, stable ${stable}; shown to lose more than ${this.answersTolerated} points of pass rate`,
            };
        }
        const failed = this.tests().find(({ evidence }) => evidence.evidence >= evidence.threshold);
        if (failed) {
            const { evidence, gate } = failed;
            return {
                kind: "fail",
                reason: `${evidence.test}: ${this.rates(gate)}; evidence ${evidence.evidence.toPrecision(3)} reached ${evidence.threshold.toFixed(0)}`,
            };
        }
        return { kind: "pass" };
    }

    /** Both versions' rate of a gate's events so far, with the counts behind it, as an on-call engineer reads it; the paired stream's apart. */
    private rates(gate: number): string {
        const one = (stratum: Stratum, version: "canary" | "stable") => {
            const v = this.seen[stratum][version][gate];
            return `${version} ${this.gates[gate].short} ${rateText(this.gates[gate].measure, v)} (${v.events}/${v.requests})`;
        };
        const live = `${one("live", "canary")} vs ${one("live", "stable")}`;
        return this.seen.paired.canary[gate].requests > 0 ? `${live}; paired stream: ${one("paired", "canary")} vs ${one("paired", "stable")}` : live;
    }

    /**
     * A rate's acceptance against a regression of `factor`: by the ratio of both versions'
     * events, or, for a rare event, by the canary's own rate against stable's plus the margin.
     * Either may accept, each at half the miss rate, so a canary at least as bad as both
     * (the larger of factor x stable's rate and stable's rate + margin) is accepted at most
     * missRate of the time. A promotion needs every rate's acceptance; a canary bad in one
     * rate is promoted only if that rate's is wrong, so each rate may use all of missRate.
     */
    private acceptanceFor(gate: Gate, factor: number): Acceptance {
        const tolerated = 1 + gate.tolerancePercent / 100;
        const beta = this.schedule.missRate / 2;
        return {
            byRatio: new RatioAcceptanceTest(tolerated, factor, beta),
            ...(gate.measure === "share" ? { byMargin: new AcceptanceTest(beta) } : {}),
            tolerated,
            factor,
        };
    }

    /** Acceptance is decided while stable serves traffic; the canary's own rate is held to stable's in the same stratum. */
    private acceptWindow(stratum: Stratum, canary: VersionSample, stable: VersionSample): void {
        this.gates.forEach((g, i) => add((stratum === "live" ? this.stable : this.pairedStable)[i], g.raw(stable)));
        for (const tests of [this.accept, ...(this.role === "last" && this.last ? [this.last] : [])]) {
            this.gates.forEach((g, i) => {
                const { byRatio, byMargin, tolerated } = tests[i];
                const c = weighed(g, canary);
                byRatio.observe(c, weighed(g, stable));
                byMargin?.observe(c.events, c.requests, tolerated * this.stableRate(i, stratum), this.alternative(i, tests[i].factor, stratum));
            });
        }
    }

    /** Stable's rate of a gate's events in a stratum: over the rollout, and, live with a budget, over its hours before too. */
    private stableRate(i: number, stratum: Stratum = "live"): number {
        const counts = (stratum === "live" ? this.stable : this.pairedStable)[i];
        const prior = this.budgeted && stratum === "live" ? this.prior[this.gates[i].id] : undefined;
        return estimatedRate(counts.events + (prior?.events ?? 0), counts.requests + (prior?.requests ?? 0));
    }

    /**
     * The canary rate the own-trials acceptance is against: stable's plus the margin; with a
     * budget, at least `factor` times stable's, the regression the budget promises to catch
     * (the margin alone asks more than a budget at low traffic can show).
     */
    private alternative(i: number, factor: number, stratum: Stratum): number {
        const measured = this.stableRate(i, stratum);
        return this.budgeted ? Math.min(0.99, Math.max(factor * measured, measured + this.margin)) : measured + this.margin;
    }

    private lastStepFactor(gate: Gate): number {
        return this.lastStep[gate.id] ?? this.schedule.lastStepDetectFactor;
    }

    private get budgeted(): boolean {
        return this.schedule.budgetSeconds !== undefined;
    }

    /** Whether the canary has shown it is within tolerance: over the rollout, and at the last step before 100% (once it has begun) on that step alone. */
    acceptance(): { accepted: boolean; reason: string } {
        const shown = (a?: Acceptance) => a !== undefined && (a.byRatio.accepted || a.byMargin?.accepted === true);
        const pending = [
            ...this.gates.flatMap((g, i) => (shown(this.accept[i]) ? [] : [`${g.label} rate under ${g.detectFactor}x stable's`])),
            ...(this.role !== "last"
                ? []
                : this.gates.flatMap((g, i) => (shown(this.last?.[i]) ? [] : [`${g.label} rate under ${this.lastStepFactor(g)}x stable's at this step`]))),
        ];
        return { accepted: pending.length === 0, reason: pending.length ? `not yet shown: ${pending.join("; ")}` : "" };
    }

    /** Every test's evidence against its threshold, for the reports. */
    standing(): Evidence[] {
        return this.tests().map(({ evidence }) => evidence);
    }

    /** Every test's evidence, with the gate whose rates a failure quotes: against stable per gate, the 5xx limit, then the 100% step's per gate. */
    private tests(): { evidence: Evidence; gate: number }[] {
        const over = (ratio: number) => (ratio > 1 ? ` by more than ${Math.round((ratio - 1) * 100)}%` : "");
        return [
            ...this.gates.map((g, i) => ({
                evidence: {
                    test: `canary ${g.label} rate above stable's${over(this.ratio[i].ratio)}`,
                    evidence: this.ratio[i].evidence,
                    threshold: this.ratio[i].threshold,
                },
                gate: i,
            })),
            {
                evidence: {
                    test: `canary 5xx rate above ${(this.errorLimit.limit * 100).toFixed(1)}%`,
                    evidence: this.errorLimit.evidence,
                    threshold: this.errorLimit.threshold,
                },
                gate: 0,
            },
            ...this.gates.map((g, i) => ({
                evidence: {
                    test: `canary ${g.label} rate at 100% above stable's`,
                    evidence: this.full?.[i].evidence ?? 1,
                    threshold: this.full?.[i].threshold ?? this.gates.length / this.alpha,
                },
                gate: i,
            })),
        ];
    }
}
