/** The golden set's paired test (`rollout/core/paired.ts`): the bets, and each verdict's trigger. */
import { optimalBet, PairedTest } from "../../../rollout/core/paired";

test.each([
    // A bet on the canary losing, when it loses D points at discordance d and nothing is tolerated: Kelly's fraction, D / d, up to the cap.
    [0.05, 0.2, 0.25],
    [0.1, 0.2, 0.5],
    [0.15, 0.2, 0.5],
])("the growth-optimal bet at a loss of %d and a discordance of %d is %d", (loss, d, bet) => {
    const outcomes = [
        { v: 1, p: (d + loss) / 2 },
        { v: -1, p: (d - loss) / 2 },
        { v: 0, p: 1 - d },
    ];
    expect(optimalBet(outcomes, 0.5)).toBeCloseTo(bet, 6);
    // No edge, no bet.
    expect(
        optimalBet(
            [
                { v: 1, p: 0.1 },
                { v: -1, p: 0.1 },
                { v: 0, p: 0.8 },
            ],
            0.5,
        ),
    ).toBe(0);
});

const SETTINGS = { toleratedLoss: 0, detectLoss: 0.05, alpha: 0.005, missRate: 0.01 };
const feed = (test: PairedTest, stable: boolean, canary: boolean, times: number) => {
    for (let i = 0; i < times; i++) test.add({ stablePass: stable, canaryPass: canary });
};

test("items the versions agree on never reject, and alone are shown not worse only after enough of them", () => {
    const test = new PairedTest(SETTINGS);
    feed(test, true, true, 50);
    expect(test.verdict()).toBe("undecided");
    feed(test, false, false, 2000);
    expect(test.verdict()).toBe("accepted");
});

test("a canary that loses every discordant item is rejected within a few dozen of them", () => {
    const test = new PairedTest(SETTINGS);
    let items = 0;
    while (test.verdict() === "undecided") {
        feed(test, true, false, 1);
        feed(test, true, true, 4);
        items += 5;
    }
    expect(test.verdict()).toBe("rejected");
    expect(items).toBeLessThan(200);
    expect(test.evidence.reject).toBeGreaterThanOrEqual(4 / 0.005);
});

test("the last look, once the set is used up, decides what the running tests had not yet", () => {
    // 35 lost and 15 won of 500, spread evenly: a loss of 4 points, short of the running test's threshold, past the last look's.
    const test = new PairedTest(SETTINGS);
    for (let i = 0; i < 500; i++) {
        const k = (i * 7) % 100;
        test.add({ stablePass: k < 7, canaryPass: k >= 7 && k < 10 });
    }
    expect(test.verdict()).toBe("undecided");
    expect(test.verdict(true)).toBe("rejected");
});
