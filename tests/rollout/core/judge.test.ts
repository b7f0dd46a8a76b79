/** The judge's decisions on fixed samples. */
import { Judge } from "../../../rollout/core/judge";
import { MetricsSample, VersionSample } from "../../../rollout/core/ports";

import { SCHEDULE, GOOD } from "../../harness/fakeRollout";

describe("Judge", () => {
    const sample = (canary: VersionSample, stable: VersionSample = GOOD, firingAlarms: string[] = []): MetricsSample => ({
        window: { start: 0, end: 60_000 },
        versions: { stable, canary },
        firingAlarms,
    });

    test("a canary like stable passes, with evidence below every threshold", () => {
        const judge = new Judge(SCHEDULE);
        for (let i = 0; i < 20; i++) expect(judge.observe(sample(GOOD)).kind).toBe("pass");
        for (const e of judge.standing()) expect(e.evidence).toBeLessThan(e.threshold);
    });

    test.each([
        ["5xx against stable", { requests: 500, errors: 40, slow: 5, p99Ms: 8000 }, "canary 5xx rate above stable's"],
        ["slow requests against stable", { requests: 500, errors: 1, slow: 80, p99Ms: 30000 }, "canary slow-request rate above stable's"],
    ])("fails on %s, naming the test and its evidence", (_name, canary, test) => {
        const judge = new Judge(SCHEDULE);
        const verdict = judge.observe(sample(canary));
        expect(verdict.kind).toBe("fail");
        expect((verdict as { reason: string }).reason).toMatch(
            new RegExp(`^${test.replace(/\./g, "\\.")}: canary \\w+ [0-9.]+% \\(\\d+/500\\) vs stable \\w+ [0-9.]+% \\(\\d+/\\d+\\); evidence .* reached 400$`),
        );
    });

    test("with errorDispersion, 5xx weigh less: what fails on independent 5xx passes when they come in bursts of that size, and slow requests are judged as before", () => {
        const burst = { requests: 500, errors: 40, slow: 5, p99Ms: 8000 };
        const plain = new Judge(SCHEDULE);
        const dispersed = new Judge({ ...SCHEDULE, errorDispersion: 8 });
        expect(plain.observe(sample(burst)).kind).toBe("fail");
        expect(dispersed.observe(sample(burst)).kind).toBe("pass");
        // The evidence is the likelihood ratio's eighth root, near enough: a count eight times as variable carries an eighth of the information.
        const fivexx = (j: Judge) => j.standing().find((e) => e.test.startsWith("canary 5xx rate above stable's"))!.evidence;
        expect(Math.log(fivexx(dispersed))).toBeLessThan(Math.log(fivexx(plain)) / 4);
        const slow = { requests: 500, errors: 1, slow: 80, p99Ms: 30000 };
        expect(new Judge({ ...SCHEDULE, errorDispersion: 8 }).observe(sample(slow)).kind).toBe("fail");
    });

    test("a verdict quotes both versions' rates with the counts behind them", () => {
        const verdict = new Judge(SCHEDULE).observe(sample({ requests: 500, errors: 40, slow: 5, p99Ms: 8000 }));
        expect((verdict as { reason: string }).reason).toMatch(
            new RegExp(
                `^canary 5xx rate above stable's: canary 5xx 8\\.00% \\(40/500\\) vs stable 5xx ${((100 * GOOD.errors) / GOOD.requests).toFixed(2).replace(".", "\\.")}% \\(${GOOD.errors}/${GOOD.requests}\\); evidence `,
            ),
        );
    });

    describe("the model's gates (rollout.gates)", () => {
        const withCutoff = { ...SCHEDULE, gates: { cutoff: { tolerancePercent: 0, detectFactor: 2, dispersion: 1 } } };
        const answers = (cutOff: number) => ({ ...GOOD, gates: { cutoff: { events: cutOff, requests: 500 } } });

        test("a canary that cuts off twice the answers, its 5xx and latency like stable's, fails on that gate alone, quoting both versions' counts", () => {
            const judge = new Judge(withCutoff);
            let verdict = judge.observe(sample(answers(40), answers(20)));
            for (let i = 0; i < 20 && verdict.kind === "pass"; i++) verdict = judge.observe(sample(answers(40), answers(20)));
            expect(verdict).toMatchObject({
                kind: "fail",
                reason: expect.stringMatching(/^canary cut-off answer rate above stable's: canary cut off 8\.00% \(\d+\/\d+\) vs stable cut off 4\.00% /),
            });
            // Without the gate the same canary passes: nothing else tells it apart.
            const blind = new Judge(SCHEDULE);
            for (let i = 0; i < 20; i++) expect(blind.observe(sample(answers(40), answers(20))).kind).toBe("pass");
        });

        test("a gate is one more test against stable: the false-rollback rate is shared a gate each, plus the 5xx limit and the 100% step", () => {
            const thresholds = (j: Judge) => j.standing().map((e) => e.threshold);
            // 5 shares with one model gate, 4 without: each test's threshold is 1 / its share.
            expect(thresholds(new Judge(withCutoff))[0] / thresholds(new Judge(SCHEDULE))[0]).toBeCloseTo(5 / 4, 5);
            expect(new Judge(withCutoff).standing().map((e) => e.test)).toContain("canary cut-off answer rate at 100% above stable's");
        });

        test("promotion waits until the gate, too, has shown the canary within tolerance", () => {
            const judge = new Judge(withCutoff);
            // Traffic-layer evidence alone: the gate has no answers yet, so it is not yet shown.
            for (let i = 0; i < 40; i++) judge.observe(sample(GOOD));
            expect(judge.acceptance()).toMatchObject({ accepted: false, reason: expect.stringContaining("cut-off answer rate under 2x stable's") });
            for (let i = 0; i < 40; i++) judge.observe(sample(answers(20), answers(20)));
            expect(judge.acceptance().reason).not.toContain("cut-off");
        });
    });

    describe("a rate per trial: tokens per answer", () => {
        const withTokens = { ...SCHEDULE, gates: { tokens: { tolerancePercent: 10, detectFactor: 1.3, dispersion: 300 } } };
        const answered = (perAnswer: number, answers = 500) => ({ ...GOOD, gates: { tokens: { events: perAnswer * answers, requests: answers } } });

        test("a canary answering with 30% more tokens fails on tokens per answer, quoted per answer; one 5% longer, within the 10% tolerated, passes", () => {
            const verbose = new Judge(withTokens);
            let verdict = verbose.observe(sample(answered(390), answered(300)));
            for (let i = 0; i < 60 && verdict.kind === "pass"; i++) verdict = verbose.observe(sample(answered(390), answered(300)));
            expect(verdict).toMatchObject({
                kind: "fail",
                reason: expect.stringMatching(
                    /^canary tokens-per-answer rate above stable's by more than 10%: canary tokens per answer 390\.0 \(\d+\/\d+\) vs stable tokens per answer 300\.0/,
                ),
            });
            const within = new Judge(withTokens);
            for (let i = 0; i < 60; i++) expect(within.observe(sample(answered(315), answered(300))).kind).toBe("pass");
            expect(within.acceptance().reason).not.toContain("tokens");
        });

        test("the dispersion sets how much a minute's tokens weigh: the same 30% more, at dispersion 1,000,000, is not yet evidence", () => {
            const judge = new Judge({ ...SCHEDULE, gates: { tokens: { tolerancePercent: 10, detectFactor: 1.3, dispersion: 1_000_000 } } });
            for (let i = 0; i < 60; i++) expect(judge.observe(sample(answered(390), answered(300))).kind).toBe("pass");
            expect(judge.acceptance().reason).toContain("tokens-per-answer rate under 1.3x stable's");
        });

        test("at 100% the canary's tokens per answer are held to stable's measured rate plus the tolerance, by a Poisson test (a share's test would refuse a rate above 1)", () => {
            const judge = new Judge(withTokens);
            for (let i = 0; i < 20; i++) judge.observe(sample(answered(300), answered(300)));
            judge.newStep("full");
            const none = { requests: 0, errors: 0, slow: 0 };
            let verdict = judge.observe(sample(answered(450, 3000), none));
            for (let i = 0; i < 30 && verdict.kind === "pass"; i++) verdict = judge.observe(sample(answered(450, 3000), none));
            expect(verdict).toMatchObject({ kind: "fail", reason: expect.stringMatching(/^canary tokens-per-answer rate at 100% above stable's/) });
        });
    });

    test("with a budget, a canary's own requests are held to the promise times stable's rate (estimated with stable's hours before): a quiet canary is accepted where the margin alone would not yet", () => {
        // 60 canary requests a minute without a 5xx, 5% slow, against stable's 0.3% and 5% over 3 hours.
        const quiet = { requests: 60, errors: 0, slow: 3 };
        const stable = { requests: 60, errors: 0, slow: 3 };
        const prior = { errors: { events: 65, requests: 21_600 }, slow: { events: 1080, requests: 21_600 } };
        const budgeted = new Judge({ ...SCHEDULE, budgetSeconds: 3600, detectErrorRateFactor: 4.5, detectSlowRequestFactor: 1.6 }, prior);
        const plain = new Judge({ ...SCHEDULE, detectErrorRateFactor: 4.5, detectSlowRequestFactor: 1.6 }, prior);
        for (let i = 0; i < 15; i++) {
            budgeted.observe(sample(quiet, stable));
            plain.observe(sample(quiet, stable));
        }
        expect(budgeted.acceptance().reason).not.toContain("5xx");
        expect(plain.acceptance().reason).toContain("5xx rate under 4.5x stable's");
    });

    test("an event gate (rollout.gates.events) is judged like a share, by its name", () => {
        const judge = new Judge({
            ...SCHEDULE,
            gates: { events: { refusals: { metric: "Refusals", trials: "Answers", tolerancePercent: 0, detectFactor: 2, dispersion: 1 } } },
        });
        const refused = (n: number) => ({ ...GOOD, gates: { refusals: { events: n, requests: 500 } } });
        let verdict = judge.observe(sample(refused(20), refused(10)));
        for (let i = 0; i < 30 && verdict.kind === "pass"; i++) verdict = judge.observe(sample(refused(20), refused(10)));
        expect(verdict).toMatchObject({ kind: "fail", reason: expect.stringMatching(/^canary refusals rate above stable's: canary refusals 4\.00% /) });
    });

    test("at 100% (no stable traffic) the absolute limit still judges", () => {
        const judge = new Judge(SCHEDULE);
        const none = { requests: 0, errors: 0, slow: 0 };
        const verdict = judge.observe(sample({ requests: 600, errors: 90, slow: 6, p99Ms: 8000 }, none));
        expect(verdict).toMatchObject({ kind: "fail", reason: expect.stringMatching(/^canary 5xx rate above 5\.0%/) });
    });

    test("a window of the warm-up is judged by the absolute limit alone: slow and 5xx against stable count only after it", () => {
        const slowCanary = { requests: 500, errors: 1, slow: 80, p99Ms: 30000 };
        const judge = new Judge(SCHEDULE);
        expect(judge.observe(sample(slowCanary), true).kind).toBe("pass");
        expect(judge.observe(sample({ requests: 600, errors: 300, slow: 6, p99Ms: 8000 }, GOOD), true)).toMatchObject({
            kind: "fail",
            reason: expect.stringMatching(/^canary 5xx rate above 5\.0%/),
        });
        expect(new Judge(SCHEDULE).observe(sample(slowCanary), false).kind).toBe("fail");
    });

    test("a firing canary alarm fails", () => {
        expect(new Judge(SCHEDULE).observe(sample(GOOD, GOOD, ["canary-errors"]))).toEqual({ kind: "fail", reason: "alarm firing: canary-errors" });
    });

    test("acceptance: nothing shown at first; a canary like stable is shown within tolerance over the rollout, and at the last step before 100% on that step's data too", () => {
        const judge = new Judge(SCHEDULE);
        judge.newStep("ramp");
        expect(judge.acceptance()).toEqual({ accepted: false, reason: "not yet shown: 5xx rate under 2x stable's; slow-request rate under 1.5x stable's" });
        const like = { requests: 3000, errors: 30, slow: 60 };
        for (let i = 0; i < 40; i++) judge.observe(sample(like, like));
        expect(judge.acceptance().accepted).toBe(true);
        judge.newStep("last");
        expect(judge.acceptance().reason).toBe("not yet shown: 5xx rate under 5x stable's at this step; slow-request rate under 5x stable's at this step");
        for (let i = 0; i < 10; i++) judge.observe(sample(like, like));
        expect(judge.acceptance()).toEqual({ accepted: true, reason: "" });
    });

    describe("with a paired stream", () => {
        const NONE = { requests: 0, errors: 0, slow: 0 };
        const paired = (canary: VersionSample, stable: VersionSample, outcomes: { stablePass: boolean; canaryPass: boolean }[] = []) => ({
            sample: sample(canary, stable),
            outcomes,
        });
        const like = { requests: 3000, errors: 30, slow: 60 };

        test("its minutes are a stratum of the same comparisons: a canary worse only in the stream fails, quoting both strata", () => {
            const judge = new Judge(SCHEDULE);
            const verdict = judge.observe(sample(GOOD), false, paired({ requests: 600, errors: 60, slow: 6 }, { requests: 600, errors: 3, slow: 6 }));
            expect(verdict.kind).toBe("fail");
            expect((verdict as { reason: string }).reason).toMatch(
                /^canary 5xx rate above stable's.*: canary 5xx 0\.20% \(1\/500\) vs stable 5xx 0\.20% \(1\/500\); paired stream: canary 5xx 10\.00% \(60\/600\) vs stable 5xx 0\.50% \(3\/600\)/,
            );
        });

        test("the canary's own rate against a fixed limit reads live traffic alone: the stream's mix is not live traffic's", () => {
            const failing = { requests: 600, errors: 300, slow: 6 };
            expect(new Judge(SCHEDULE).observe(sample(GOOD), false, paired(failing, failing)).kind).toBe("pass");
        });

        test("with no live traffic at all, the stream alone shows a canary like stable within tolerance, under the same promises", () => {
            const judge = new Judge(SCHEDULE);
            judge.newStep("ramp");
            for (let i = 0; i < 40; i++) judge.observe(sample(NONE, NONE), false, paired(like, like));
            expect(judge.acceptance().accepted).toBe(true);
            const live = new Judge(SCHEDULE);
            for (let i = 0; i < 40; i++) live.observe(sample(NONE, NONE));
            expect(live.acceptance().accepted).toBe(false);
        });

        test("its scored answers: a canary that loses pass rate pair by pair is rolled back with a reason of its own; one like stable is not", () => {
            const outcomes = (canaryLoses: boolean) =>
                Array.from({ length: 60 }, (_, i) => ({ stablePass: i % 10 !== 0, canaryPass: canaryLoses ? i % 10 > 3 : i % 10 !== 0 }));
            const pairedAnswers = { toleratedLoss: 0, detectLoss: 0.05 };
            const worse = new Judge(SCHEDULE, {}, { pairedAnswers });
            let verdict = worse.observe(sample(GOOD), false, paired(like, like, outcomes(true)));
            for (let i = 0; i < 5 && verdict.kind === "pass"; i++) verdict = worse.observe(sample(GOOD), false, paired(like, like, outcomes(true)));
            expect(verdict).toEqual({
                kind: "fail",
                reason: expect.stringMatching(/^paired answers: the canary passed \d+ of \d+, stable \d+; shown to lose more than 0 points/),
            });
            const equal = new Judge(SCHEDULE, {}, { pairedAnswers });
            for (let i = 0; i < 6; i++) expect(equal.observe(sample(GOOD), false, paired(like, like, outcomes(false))).kind).toBe("pass");
        });

        test("the scored answers take their own share of the false-rollback rate", () => {
            const threshold = (j: Judge) => j.standing()[0].threshold;
            expect(threshold(new Judge(SCHEDULE, {}, { pairedAnswers: { toleratedLoss: 0, detectLoss: 0.05 } })) / threshold(new Judge(SCHEDULE))).toBeCloseTo(
                5 / 4,
                5,
            );
        });
    });
});
