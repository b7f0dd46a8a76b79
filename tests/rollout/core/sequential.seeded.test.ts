/**
 * The sequential tests on seeded data: the reject side holds its false-rollback rate on null
 * data however often it looks, the accept side its miss rate at the regression to catch.
 */
import { factory as mt19937 } from "@stdlib/random-base-mt19937";
import { factory as binomialFactory } from "@stdlib/random-base-binomial";
import { AcceptanceTest, RateLimitTest, RateRatioTest, RatioAcceptanceTest } from "../../../rollout/core/sequential";

describe("the sequential tests hold their false-rollback rate on null data", () => {
    /** Seeded binomial draws. */
    const binomial = (seed: number) => binomialFactory({ prng: (mt19937({ seed }) as unknown as { normalized: () => number }).normalized });
    const RUNS = 800;
    const ALPHA = 0.05;

    test("canary vs stable at the tolerated ratio itself, checked after every one of 60 windows", () => {
        const draw = binomial(7);
        let rejected = 0;
        for (let run = 0; run < RUNS; run++) {
            const test = new RateRatioTest(1.5, ALPHA);
            for (let w = 0; w < 60 && !test.rejected; w++) {
                const canary = { requests: 60, events: draw(60, 0.015) };
                const stable = { requests: 540, events: draw(540, 0.01) };
                test.observe(canary, stable);
            }
            if (test.rejected) rejected++;
        }
        expect(rejected / RUNS).toBeLessThanOrEqual(ALPHA);
    });

    test("the canary's rate at the absolute limit itself", () => {
        const draw = binomial(11);
        let rejected = 0;
        for (let run = 0; run < RUNS; run++) {
            const test = new RateLimitTest(0.05, ALPHA);
            for (let w = 0; w < 60 && !test.rejected; w++) test.observe(draw(100, 0.05), 100);
            if (test.rejected) rejected++;
        }
        expect(rejected / RUNS).toBeLessThanOrEqual(ALPHA);
    });

    test("a focus on the detect factor keeps the false-rollback rate: at the tolerated ratio itself", () => {
        const draw = binomial(19);
        let rejected = 0;
        for (let run = 0; run < RUNS; run++) {
            const test = new RateRatioTest(1, ALPHA, 1, 2);
            for (let w = 0; w < 60 && !test.rejected; w++) test.observe({ requests: 60, events: draw(60, 0.01) }, { requests: 540, events: draw(540, 0.01) });
            if (test.rejected) rejected++;
        }
        expect(rejected / RUNS).toBeLessThanOrEqual(ALPHA);
    });

    test("a 5x error rate is found within a few windows", () => {
        const draw = binomial(3);
        const test = new RateRatioTest(1, 0.01 / 3);
        let windows = 0;
        while (!test.rejected && windows < 60) {
            test.observe({ requests: 60, events: draw(60, 0.015) }, { requests: 540, events: draw(540, 0.003) });
            windows++;
        }
        expect(test.rejected).toBe(true);
        expect(windows).toBeLessThan(30);
    });

    test("a window without stable traffic carries no evidence", () => {
        const test = new RateRatioTest(1.5, 0.01);
        test.observe({ requests: 600, events: 60 }, { requests: 0, events: 0 });
        expect(test.evidence).toBeCloseTo(1, 12);
    });
    test("acceptance by the ratio of events: a canary at the regression itself is accepted at most beta of the time, one like stable almost always", () => {
        const draw = binomial(13);
        const BETA = 0.05;
        const runs = 500;
        const run = (canaryRate: number) => {
            let accepted = 0;
            for (let r = 0; r < runs; r++) {
                const test = new RatioAcceptanceTest(1, 2, BETA);
                for (let w = 0; w < 100 && !test.accepted; w++)
                    test.observe({ requests: 1000, events: draw(1000, canaryRate) }, { requests: 1000, events: draw(1000, 0.01) });
                if (test.accepted) accepted++;
            }
            return accepted / runs;
        };
        expect(run(0.02)).toBeLessThanOrEqual(BETA);
        expect(run(0.01)).toBeGreaterThan(0.95);
    });

    test("acceptance by the margin: a canary above stable's rate plus the margin is accepted at most beta of the time; with no events at all, it is still accepted", () => {
        const draw = binomial(17);
        const BETA = 0.05;
        const runs = 500;
        let accepted = 0;
        for (let r = 0; r < runs; r++) {
            const test = new AcceptanceTest(BETA);
            for (let w = 0; w < 100 && !test.accepted; w++) test.observe(draw(1000, 0.0013), 1000, 0.0001, 0.0011);
            if (test.accepted) accepted++;
        }
        expect(accepted / runs).toBeLessThanOrEqual(BETA);
        // A stable and a canary with no slow request at all: only the margin can tell they are alike.
        const rare = new AcceptanceTest(BETA);
        for (let w = 0; w < 20; w++) rare.observe(0, 300, 0.5 / 6001, 0.5 / 6001 + 0.001);
        expect(rare.accepted).toBe(true);
    });
});
