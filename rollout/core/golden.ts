/**
 * The golden set compared on both versions, item by item (`evaluation.goldenSet`): the items in
 * a seeded order drawn without replacement, sent in batches to the runner, each answer scored
 * with the scorer the stack accepted, the paired test (`paired.ts`) fed item by item.
 *
 * A deterministic model answers an item the same way twice, so an item is asked once per
 * rollout: each evaluation moment goes on from where the last one stopped, and once the set is
 * used up its verdict stands. Only a sampling model (`evaluation.sampling`) is asked again, in a
 * new order, and the report says so.
 */
import mt19937 = require("@stdlib/random-base-mt19937");
import { answerText, batchSize, GoldenItem, passes, promptOf, Scorer } from "../../contract/golden";
import type { GoldenSetOutputs } from "../../contract/outputs";
import { pairedPower, PairedTest, PairedVerdict } from "./paired";
import { PairJudge, RunnerAnswer, RunnerPort, Waiting } from "./ports";

/** An item the canary lost (stable passed, the canary did not), with both answers shortened, for the report. */
export interface LostItem {
    id: string;
    stable: string;
    canary: string;
}

/** A judge model's verdict on one item, as the report keeps it: which answer it was shown first, and its words. */
export interface JudgedPair {
    id: string;
    canaryFirst: boolean;
    preferred: "stable" | "canary" | "tie";
    words: string;
}

/** What one evaluation moment found. */
export interface GoldenVerdict {
    verdict: PairedVerdict;
    reason: string;
}

/** How often a sampling model is asked the whole set at most: a canary between the tolerated and the detected loss would otherwise be asked for ever. */
const MOST_ROUNDS = 3;
/** How much of each answer the report keeps. */
const SHORT = 160;
const shorten = (text: string) => (text.length > SHORT ? `${text.slice(0, SHORT - 1)}…` : text);

/** `items` in a seeded order (Fisher-Yates on Mersenne Twister draws): the same seed, the same order. */
export function seededOrder<T>(items: T[], seed: number): T[] {
    const draw = mt19937.factory({ seed });
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor((draw() / 4294967296) * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
}

/** An answer passes when its version answered 2xx and the scorer accepts its text; a failed request is a failed item. */
export const passed = (answer: Pick<RunnerAnswer, "status" | "body">, scorer: Scorer, expected: unknown) =>
    answer.status >= 200 && answer.status < 300 && passes(scorer, answerText(answer.body), expected);

/** Each item's pair of verdicts. */
type Verdicts = { stablePass: boolean; canaryPass: boolean };

export class GoldenComparison {
    private readonly test: PairedTest;
    /** With a judge model, each item's order and verdict. */
    readonly judged: JudgedPair[] = [];
    /** Which answer the judge sees first, per item: a seeded coin, so position bias falls on both versions alike. */
    private readonly coin: () => number;
    private order: GoldenItem[];
    private next = 0;
    private rounds = 1;
    readonly lost: LostItem[] = [];
    /** Items compared, and how many each version passed. */
    readonly counts = { items: 0, stable: 0, canary: 0, failedRequests: 0 };

    constructor(
        private readonly items: GoldenItem[],
        private readonly settings: GoldenSetOutputs,
        errorRates: { alpha: number; missRate: number },
        private readonly judge?: PairJudge,
    ) {
        if ((settings.scorer as Scorer).kind === "judge" && !judge) throw new Error("a judge scorer needs a judge model");
        this.coin = mt19937.factory({ seed: settings.seed + 1 });
        this.test = new PairedTest({
            toleratedLoss: settings.toleratedLossPercent / 100,
            detectLoss: settings.detectLossPercent / 100,
            ...errorRates,
        });
        this.order = seededOrder(items, settings.seed);
    }

    /** Whether every item has been asked: once, or for a sampling model `MOST_ROUNDS` times. */
    private get usedUp(): boolean {
        return this.next >= this.order.length && (!this.settings.sampling || this.rounds >= MOST_ROUNDS);
    }

    /** Asks the runner batch by batch until the paired test decides or the set is used up; then says what it found. */
    async evaluate(runner: RunnerPort, waiting: Waiting = {}): Promise<GoldenVerdict> {
        const size = batchSize(this.settings.requestTimeoutSeconds);
        while (this.test.verdict() === "undecided" && !this.usedUp) {
            if (this.next >= this.order.length) this.reshuffle();
            const batch = this.order.slice(this.next, this.next + size);
            this.next += batch.length;
            const answers = await runner.answer(batch, waiting);
            // Judged in parallel, counted in the order asked: the test sees the items as the order drew them.
            const verdicts = await Promise.all(batch.map((item, i) => this.verdicts(item, answers[i])));
            batch.forEach((item, i) => this.count(item, answers[i], verdicts[i]));
            await waiting.heartbeat?.();
        }
        return this.finding();
    }

    /** A sampling model answers again: the set in a new order (said in the report). */
    private reshuffle(): void {
        this.rounds += 1;
        this.order = seededOrder(this.items, this.settings.seed + this.rounds - 1);
        this.next = 0;
    }

    /** Both versions' verdicts on an item: each answer against the scorer, or the pair by the judge model (the preferred one passes, a tie passes both). */
    private async verdicts(item: GoldenItem, answer: { stable: RunnerAnswer; canary: RunnerAnswer }): Promise<Verdicts> {
        const scorer = this.settings.scorer as Scorer;
        if (scorer.kind !== "judge")
            return { stablePass: passed(answer.stable, scorer, item.expected), canaryPass: passed(answer.canary, scorer, item.expected) };
        const [stable, canary] = [answer.stable, answer.canary].map(describeFailure);
        const canaryFirst = this.coin() / 4294967296 < 0.5;
        const { choice, words } = await this.judge!.prefer(promptOf(item.request), canaryFirst ? canary : stable, canaryFirst ? stable : canary);
        const preferred = choice === "tie" ? "tie" : (choice === "first") === canaryFirst ? "canary" : "stable";
        this.judged.push({ id: item.id, canaryFirst, preferred, words });
        return { stablePass: preferred !== "canary", canaryPass: preferred !== "stable" };
    }

    private count(item: GoldenItem, answer: { stable: RunnerAnswer; canary: RunnerAnswer }, { stablePass, canaryPass }: Verdicts): void {
        this.counts.items += 1;
        this.counts.stable += Number(stablePass);
        this.counts.canary += Number(canaryPass);
        this.counts.failedRequests +=
            Number(answer.stable.status < 200 || answer.stable.status > 299) + Number(answer.canary.status < 200 || answer.canary.status > 299);
        if (stablePass && !canaryPass)
            this.lost.push({ id: item.id, stable: shorten(answerText(answer.stable.body)), canary: shorten(describeFailure(answer.canary)) });
        this.test.add({ stablePass, canaryPass });
    }

    /** The verdict in words: the pass rates behind it, and what a used-up set could not show. */
    private finding(): GoldenVerdict {
        const verdict = this.test.verdict(this.usedUp);
        const { items, stable, canary, failedRequests } = this.counts;
        const pct = (n: number) => `${((100 * n) / Math.max(1, items)).toFixed(1)}%`;
        const rates =
            `stable passed ${stable} of ${items} golden items (${pct(stable)}), the canary ${canary} (${pct(canary)}), the canary lost ${this.lost.length}` +
            (failedRequests > 0 ? `; ${failedRequests} requests failed and count as failed items` : "") +
            (this.rounds > 1 ? `; the set was asked ${this.rounds} times (evaluation.sampling)` : "");
        const { detectLossPercent, toleratedLossPercent } = this.settings;
        switch (verdict) {
            case "rejected":
                return { verdict, reason: `the canary loses more than ${toleratedLossPercent} points of pass rate on the golden set: ${rates}` };
            case "accepted":
                return { verdict, reason: `the canary is shown to lose less than ${detectLossPercent} points on the golden set: ${rates}` };
            case "undecided":
                return {
                    verdict,
                    reason: this.usedUp
                        ? `the golden set is used up: the canary was not shown worse, nor shown within ${detectLossPercent} points (quality not shown equal): ${rates}`
                        : `not decided yet: ${rates}`,
                };
        }
    }
}

/** A failed request's answer says why: its status, or the runner's error. */
function describeFailure(answer: RunnerAnswer): string {
    if (answer.status === 0) return `(no answer: ${answer.error ?? "the request failed"})`;
    if (answer.status < 200 || answer.status > 299) return `(HTTP ${answer.status}) ${answerText(answer.body)}`;
    return answerText(answer.body);
}

/** The disagreement shares the dry run shows a set's power at: how often two versions answer an item differently is the set's own, and the report gives it. */
const DISCORDANCES = [0.1, 0.2, 0.3];

/**
 * What a golden set of `items` can promise, for the dry run: how often a canary of equal quality
 * is shown within `detectLossPercent`, and one twice that worse rolled back, at each share of
 * items the versions disagree on (seeded simulations of the rollout's own test).
 */
export function goldenPowerLines(items: number, settings: GoldenSetOutputs, errorRates: { alpha: number; missRate: number }): string[] {
    const paired = { toleratedLoss: settings.toleratedLossPercent / 100, detectLoss: settings.detectLossPercent / 100, ...errorRates };
    const pct = (x: number) => `${Math.round(100 * x)}%`;
    const at = (loss: number, verdict: PairedVerdict) => DISCORDANCES.map((d) => pct(pairedPower(items, loss, d, paired)[verdict])).join(" / ");
    const worse = 2 * paired.detectLoss;
    return [
        `golden set power (${items} items; the versions disagreeing on ${DISCORDANCES.map(pct).join(" / ")} of items): ` +
            `a canary of equal quality is shown within ${settings.detectLossPercent} points in ${at(0, "accepted")} of rollouts (otherwise it goes on, quality not shown equal); ` +
            `one ${Math.round(100 * worse)} points worse is rolled back in ${at(worse, "rejected")}`,
    ];
}
