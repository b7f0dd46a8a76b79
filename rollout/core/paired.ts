/**
 * The golden set's paired test: each item answered by both versions, each answer passing its
 * scorer or not. An item's loss x is stable's pass minus the canary's: 1 where only stable
 * passes, -1 where only the canary does, 0 where they agree. The canary's loss in pass rate is
 * the mean of x, so only the discordant items move it, and how often the versions disagree is
 * a nuisance the test must not assume.
 *
 * Two tests by betting (Waudby-Smith and Ramdas, "Estimating means of bounded random variables
 * by betting", JRSS B 2024), each a product of (1 + λ (x - m)) that is a nonnegative
 * supermartingale whenever the mean is on the null's side of m, whatever the share of
 * discordant items: by Ville's inequality it reaches 1/α with chance at most α however often it
 * is looked at.
 * - rejection: null "the canary loses at most `toleratedLoss`"; reaching 1 / `alpha` rolls back.
 * - acceptance: null "the canary loses at least `detectLoss`"; reaching 1 / `missRate` shows it
 *   not worse than that.
 * The set's size is known before the first item, so half of each error rate is kept for one
 * look when the set is used up: the one-sided z-test of the mean loss against each boundary
 * (McNemar's test when nothing is tolerated), its spread smoothed by two pseudo-items. A fixed look at a known end is stronger there
 * than a test that may stop at any item; the two halves add up to the whole by the union bound.
 *
 * Each bet λ is chosen before its item from the items before it: the growth-optimal bet against
 * the other side's boundary, or against the loss seen so far when that is further out, at the
 * discordance seen so far (each smoothed by a few pseudo-items): about as fast as Wald's test
 * that knew both, and faster against a canary much worse (or better) than the boundary.
 */

import normalQuantile = require("@stdlib/stats-base-dists-normal-quantile");
import mt19937 = require("@stdlib/random-base-mt19937");

/** One golden item's verdicts. */
interface PairedOutcome {
    stablePass: boolean;
    canaryPass: boolean;
}

export interface PairedSettings {
    /** Points of pass rate (0-1) the canary may lose without being rolled back. */
    toleratedLoss: number;
    /** The loss (0-1) the acceptance must exclude. */
    detectLoss: number;
    alpha: number;
    missRate: number;
}

export type PairedVerdict = "rejected" | "accepted" | "undecided";

/** Pseudo-items each estimate starts from: the loss at the boundary bet against, the discordance at 1/2. */
const PRIOR_ITEMS = 10;
/** The largest bet a test makes, as a share of what keeps every factor positive: a cap of 1 could stake everything on one item. */
const CAP = 0.5;

/**
 * The growth-optimal bet on `values` (each `v` with probability `p`, the bet's payoff per unit
 * staked) in [0, cap]: maximises the mean of log(1 + λ v), whose derivative falls with λ.
 */
export function optimalBet(outcomes: { v: number; p: number }[], cap: number): number {
    const slope = (l: number) => outcomes.reduce((s, { v, p }) => s + (p * v) / (1 + l * v), 0);
    if (slope(0) <= 0) return 0;
    if (slope(cap) >= 0) return cap;
    let [lo, hi] = [0, cap];
    for (let i = 0; i < 40; i++) {
        const mid = (lo + hi) / 2;
        if (slope(mid) > 0) lo = mid;
        else hi = mid;
    }
    return lo;
}

/** Payoffs of the three kinds of item for a bet that the mean of x is above `m` (sign 1) or below it (sign -1), with their chances at a loss and a discordance. */
function outcomesAt(m: number, sign: 1 | -1, loss: number, discordance: number) {
    const lose = Math.min(discordance, Math.max(0, (discordance + loss) / 2));
    const win = discordance - lose;
    return [
        { v: sign * (1 - m), p: lose },
        { v: sign * (-1 - m), p: win },
        { v: sign * -m, p: 1 - discordance },
    ];
}

export class PairedTest {
    private items = 0;
    private squares = 0;
    private discordant = 0;
    private lossSum = 0;
    private logReject = 0;
    private logAccept = 0;

    constructor(private readonly settings: PairedSettings) {}

    /** The discordance the next bet assumes: the share so far, smoothed towards 1/2. */
    private discordance(): number {
        return (this.discordant + PRIOR_ITEMS / 2) / (this.items + PRIOR_ITEMS);
    }

    /** The loss the next bet assumes: the mean so far, smoothed towards `boundary`. */
    private loss(boundary: number): number {
        return (this.lossSum + PRIOR_ITEMS * boundary) / (this.items + PRIOR_ITEMS);
    }

    add(outcome: PairedOutcome): void {
        const { toleratedLoss, detectLoss } = this.settings;
        const x = Number(outcome.stablePass) - Number(outcome.canaryPass);
        const d = this.discordance();
        // Against "loses at most the tolerated loss", bet as if it loses the detected loss or more; and the reverse.
        const reject = optimalBet(outcomesAt(toleratedLoss, 1, Math.max(detectLoss, this.loss(detectLoss)), d), CAP / (1 + toleratedLoss));
        const accept = optimalBet(outcomesAt(detectLoss, -1, Math.min(toleratedLoss, this.loss(toleratedLoss)), d), CAP / (1 - detectLoss));
        this.logReject += Math.log(1 + reject * (x - toleratedLoss));
        this.logAccept += Math.log(1 + accept * (detectLoss - x));
        this.items += 1;
        this.lossSum += x;
        this.squares += x * x;
        if (x !== 0) this.discordant += 1;
    }

    /** The verdict so far; `ended` once the set is used up, for the last look. */
    verdict(ended = false): PairedVerdict {
        const { alpha, missRate, toleratedLoss, detectLoss } = this.settings;
        if (this.logReject >= Math.log(4 / alpha)) return "rejected";
        if (this.logAccept >= Math.log(4 / missRate)) return "accepted";
        if (!ended || this.items < 2) return "undecided";
        // Two pseudo-items, one lost and one won, keep the spread from vanishing when few items disagree: twenty agreeing items do not show a 5-point bound.
        const n = this.items + 2;
        const mean = this.lossSum / n;
        const sd = Math.sqrt((this.squares + 2) / n - mean * mean) / Math.sqrt(n);
        const z = (gap: number) => gap / sd;
        if (z(mean - toleratedLoss) >= normalQuantile(1 - (3 * alpha) / 4, 0, 1)) return "rejected";
        if (z(detectLoss - mean) >= normalQuantile(1 - (3 * missRate) / 4, 0, 1)) return "accepted";
        return "undecided";
    }

    /** Each test's e-value against its threshold, as the report gives it. */
    get evidence(): { reject: number; accept: number } {
        return { reject: Math.exp(this.logReject), accept: Math.exp(this.logAccept) };
    }
}

/**
 * What a set of `items` can show, estimated on `runs` seeded sets: the share of rollouts whose
 * canary, losing `loss` with the versions disagreeing on `discordance` of items, ends each way
 * (the running tests, then the last look once the set is used up).
 */
export function pairedPower(items: number, loss: number, discordance: number, settings: PairedSettings, runs = 400): Record<PairedVerdict, number> {
    const draw = mt19937.factory({ seed: 1 });
    const counts: Record<PairedVerdict, number> = { rejected: 0, accepted: 0, undecided: 0 };
    const [lose, win] = [(discordance + loss) / 2, discordance];
    for (let run = 0; run < runs; run++) {
        const test = new PairedTest(settings);
        for (let i = 0; i < items && test.verdict() === "undecided"; i++) {
            const u = draw() / 4294967296;
            test.add({ stablePass: u < lose, canaryPass: u >= lose && u < win });
        }
        counts[test.verdict(true)] += 1 / runs;
    }
    return counts;
}
