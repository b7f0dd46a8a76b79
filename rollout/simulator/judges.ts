/** The judges the benchmark compares the gates with: the fixed thresholds before them, and the ideal two-sample test. */
import { gateMean, slowShare } from "./world";
import { gatesOf } from "../../contract/gates";
import { STABLE_P95_MS, Scenario, STABLE } from "./scenarios";
import { JudgeLike } from "../core/deps";
import { MetricsSample, VersionSample } from "../core/ports";
import { RolloutSchedule } from "../../contract/schedule";
import { Evidence, errorRate, PairedMinutes, Verdict } from "../core/judge";

/**
 * The gates before sequential testing, kept to compare against on the same seeds: a
 * window fails on a canary 5xx rate above 2%, 1 point above stable's, a p99 above 60 s or
 * 25% above stable's, each judged from 20 requests.
 */
export class LegacyJudge implements JudgeLike {
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
 * binomial as the gates (the canary's share of both versions' events, for 5xx, slow requests and
 * each gate the schedule judges, weighed by the same dispersions), that knows the size of the
 * scenario's regression (or, where there is none, the configured one to detect) but not stable's
 * rate: it rejects at the gates' false-rollback rate and accepts at their miss rate. For a known size no test with those error rates decides faster on average (Wald and
 * Wolfowitz), so what it serves and takes is the least a judge can here.
 */
export class IdealJudge implements JudgeLike {
    private readonly tests: {
        name: string;
        r0: number;
        r1: number;
        events: (v: VersionSample) => number;
        trials: (v: VersionSample) => number;
        dispersion: number;
        logRatio: number;
        accepted: boolean;
    }[];
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
                trials: (v) => v.requests,
                dispersion: schedule.errorDispersion ?? 1,
                logRatio: 0,
                accepted: false,
            },
            {
                name: "slow",
                r0: slowTolerated,
                r1: size(slowShare(worst, slowMs) / slowShare(STABLE, slowMs), slowTolerated, schedule.detectSlowRequestFactor),
                events: (v) => v.slow,
                trials: (v) => v.requests,
                dispersion: 1,
                logRatio: 0,
                accepted: false,
            },
            // The model's gates, where the schedule judges them.
            ...gatesOf(schedule.gates).map((gate) => {
                const tolerated = 1 + gate.tolerancePercent / 100;
                return {
                    name: gate.label,
                    r0: tolerated,
                    r1: size(gateMean(gate.id, worst) / gateMean(gate.id, STABLE), tolerated, gate.detectFactor),
                    events: (v: VersionSample) => v.gates?.[gate.id]?.events ?? 0,
                    trials: (v: VersionSample) => v.gates?.[gate.id]?.requests ?? 0,
                    dispersion: gate.dispersion ?? 1,
                    logRatio: 0,
                    accepted: false,
                };
            }),
        ];
        this.reject = Math.log(this.tests.length / schedule.falseRollbackRate);
        this.accept = Math.log(schedule.missRate);
    }

    /** A window of the warm-up is left out, as the gates leave it out of their comparisons: the same constraint for both. A paired stream's minutes are a stratum of their own, as the gates take them. */
    observe(sample: MetricsSample, warmup = false, paired?: PairedMinutes): Verdict {
        if (sample.firingAlarms.length > 0) return { kind: "fail", reason: `alarm firing: ${sample.firingAlarms.join(", ")}` };
        if (warmup) return { kind: "pass" };
        return this.weigh(sample.versions) ?? (paired ? this.weigh(paired.sample.versions) : undefined) ?? { kind: "pass" };
    }

    /** Adds one stratum's window to each test not yet accepted; a failure if one rejects. */
    private weigh({ canary, stable }: MetricsSample["versions"]): Verdict | undefined {
        if (canary.requests === 0 || stable.requests === 0) return undefined;
        for (const t of this.tests.filter((test) => !test.accepted && test.trials(canary) > 0 && test.trials(stable) > 0)) {
            const share = (r: number) => (r * t.trials(canary)) / (r * t.trials(canary) + t.trials(stable));
            const [q0, q1] = [share(t.r0), share(t.r1)];
            t.logRatio += (t.events(canary) * Math.log(q1 / q0) + t.events(stable) * Math.log((1 - q1) / (1 - q0))) / t.dispersion;
            if (t.logRatio >= this.reject) return { kind: "fail", reason: `canary ${t.name} rate ${t.r1.toFixed(1)}x stable's (ideal test)` };
            if (t.logRatio <= this.accept) t.accepted = true;
        }
        return undefined;
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
