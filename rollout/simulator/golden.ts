/**
 * The golden set's benchmark: seeded sets whose items each version passes or fails, answered by
 * a simulated runner, compared by the rollout's own `GoldenComparison` (as it runs before the
 * canary gets traffic), beside Wald's test that knows how often the versions disagree: the
 * ideal paired test with the same error rates.
 *
 * A set is drawn once per run: each item both versions pass, only stable, only the canary, or
 * neither, with the scenario's pass rates and agreement. A deterministic model answers an item
 * the same way every time, so the simulated runner answers from that table.
 */
import mt19937 = require("@stdlib/random-base-mt19937");
import { DEFAULT_SCHEDULE } from "../../contract/schedule";
import { GoldenItem } from "../../contract/golden";
import type { GoldenSetOutputs } from "../../contract/outputs";
import { GoldenComparison, seededOrder } from "../core/golden";
import { goldenShare } from "../core/judge";
import { PairedVerdict } from "../core/paired";
import { RunnerAnswer, RunnerPort } from "../core/ports";

export interface GoldenScenario {
    name: string;
    description: string;
    items: number;
    stablePass: number;
    canaryPass: number;
    /** The share of items both versions pass or both fail. */
    agree: number;
    expected: "rolled back" | "not rolled back";
}

export const GOLDEN_SCENARIOS: GoldenScenario[] = [
    {
        name: "golden-10pt-worse",
        description: "500 items; stable passes 85%, the canary 75%, agreeing on 80%",
        items: 500,
        stablePass: 0.85,
        canaryPass: 0.75,
        agree: 0.8,
        expected: "rolled back",
    },
    {
        name: "golden-equal",
        description: "500 items; both pass 85%, agreeing on 80%",
        items: 500,
        stablePass: 0.85,
        canaryPass: 0.85,
        agree: 0.8,
        expected: "not rolled back",
    },
    {
        name: "golden-5pt-worse",
        description: "2,000 items; the canary exactly at the detected loss (80% against 85%), agreeing on 80%: shown not worse in at most missRate",
        items: 2000,
        stablePass: 0.85,
        canaryPass: 0.8,
        agree: 0.8,
        expected: "rolled back",
    },
];

/** The rollout's settings for a simulated set: the defaults (5 points detected, nothing tolerated), the scorer an exact "pass". */
export const SIMULATED_SETTINGS: GoldenSetOutputs = {
    functionName: "simulated",
    object: "s3://simulated/golden.jsonl",
    scorer: { kind: "exact", caseSensitive: true, tolerance: 0 },
    url: "http://simulated",
    path: "/v1/chat/completions",
    pinHeader: "x-canary",
    pins: { stable: "stable", canary: "always" },
    requestTimeoutSeconds: 300,
    detectLossPercent: 5,
    toleratedLossPercent: 0,
    sampling: false,
    seed: 1,
};
export const ERROR_RATES = { alpha: goldenShare(DEFAULT_SCHEDULE), missRate: DEFAULT_SCHEDULE.missRate };

/** Each item's outcome: [stable passes, canary passes], drawn with the scenario's pass rates and agreement. */
function drawSet(s: GoldenScenario, seed: number): [boolean, boolean][] {
    const draw = mt19937.factory({ seed });
    const discord = 1 - s.agree;
    const onlyStable = (discord + s.stablePass - s.canaryPass) / 2;
    const onlyCanary = discord - onlyStable;
    const both = s.stablePass - onlyStable;
    return Array.from({ length: s.items }, () => {
        const u = draw() / 4294967296;
        if (u < both) return [true, true];
        if (u < both + onlyStable) return [true, false];
        if (u < both + onlyStable + onlyCanary) return [false, true];
        return [false, false];
    });
}

/** A runner whose answers are the drawn table's: "pass" or "fail", each a 200. */
class SimulatedRunner implements RunnerPort {
    constructor(private readonly table: Map<string, [boolean, boolean]>) {}

    async answer(items: GoldenItem[]) {
        const answer = (pass: boolean): RunnerAnswer => ({ status: 200, ms: 1000, body: pass ? "pass" : "fail" });
        return items.map((item) => {
            const [stable, canary] = this.table.get(item.id)!;
            return { stable: answer(stable), canary: answer(canary) };
        });
    }
}

/** Wald's test between "loses nothing" and "loses the detected loss" at the true discordance: the ideal, for the items it needs. */
function ideal(s: GoldenScenario, outcomes: [boolean, boolean][]): { verdict: PairedVerdict; items: number } {
    const d = 1 - s.agree;
    const D = SIMULATED_SETTINGS.detectLossPercent / 100;
    const [lose, win] = [Math.log((d + D) / d), Math.log((d - D) / d)];
    const [upper, lower] = [Math.log(1 / ERROR_RATES.alpha), Math.log(ERROR_RATES.missRate)];
    let llr = 0;
    for (let i = 0; i < outcomes.length; i++) {
        const [stable, canary] = outcomes[i];
        llr += stable && !canary ? lose : canary && !stable ? win : 0;
        if (llr >= upper) return { verdict: "rejected", items: i + 1 };
        if (llr <= lower) return { verdict: "accepted", items: i + 1 };
    }
    return { verdict: "undecided", items: outcomes.length };
}

export interface GoldenRun {
    verdict: PairedVerdict;
    items: number;
    ideal: { verdict: PairedVerdict; items: number };
}

/** One seeded comparison of a scenario's set, as the rollout runs it before the canary gets traffic. */
export async function goldenRun(s: GoldenScenario, seed: number, items = s.items): Promise<GoldenRun> {
    const outcomes = drawSet({ ...s, items }, seed);
    const set: GoldenItem[] = outcomes.map((_, i) => ({ id: `item-${i}`, request: "q", expected: "pass" }));
    const runner = new SimulatedRunner(new Map(set.map((item, i) => [item.id, outcomes[i]])));
    const comparison = new GoldenComparison(set, { ...SIMULATED_SETTINGS, seed }, ERROR_RATES);
    const { verdict } = await comparison.evaluate(runner);
    // The ideal reads the items in the order the rollout asks them.
    const order = seededOrder(outcomes, seed);
    return { verdict, items: comparison.counts.items, ideal: ideal(s, order) };
}

export interface GoldenRow {
    scenario: string;
    runs: number;
    expected: GoldenScenario["expected"];
    /** Shares of runs: rolled back, shown not worse than the detected loss, neither (the set used up). */
    rejected: number;
    accepted: number;
    undecided: number;
    medianItems: number;
    ideal: { rejected: number; accepted: number; undecided: number; medianItems: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const shares = (verdicts: PairedVerdict[]) => ({
    rejected: verdicts.filter((v) => v === "rejected").length / verdicts.length,
    accepted: verdicts.filter((v) => v === "accepted").length / verdicts.length,
    undecided: verdicts.filter((v) => v === "undecided").length / verdicts.length,
});

/** A scenario's figures over `runs` seeded sets (seeds `seed`, `seed + 1`, ...). */
export async function goldenBenchmark(s: GoldenScenario, runs: number, seed = 1, items = s.items): Promise<GoldenRow> {
    const all: GoldenRun[] = [];
    for (let i = 0; i < runs; i++) all.push(await goldenRun(s, seed + i, items));
    return {
        scenario: s.name,
        runs,
        expected: s.expected,
        ...shares(all.map((r) => r.verdict)),
        medianItems: median(all.map((r) => r.items)),
        ideal: { ...shares(all.map((r) => r.ideal.verdict)), medianItems: median(all.map((r) => r.ideal.items)) },
    };
}

/** The smallest set (in steps of 250 items, up to 10,000) that shows a scenario's canary not worse in `share` of `runs` runs. */
export async function setSizeToAccept(s: GoldenScenario, share: number, runs: number): Promise<number | undefined> {
    for (let items = 250; items <= 10000; items += 250) {
        if ((await goldenBenchmark(s, runs, 1, items)).accepted >= share) return items;
    }
    return undefined;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The Markdown table `simulate` prints for golden scenarios. */
export function goldenTable(rows: GoldenRow[], title: string): string {
    return [
        title,
        "| scenario | runs | expected | rolled back | shown not worse | neither (set used up) | items used, median | ideal: rolled back / shown not worse / neither | ideal's items, median |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ...rows.map(
            (r) =>
                `| ${r.scenario} | ${r.runs} | ${r.expected} | ${pct(r.rejected)} | ${pct(r.accepted)} | ${pct(r.undecided)} | ${r.medianItems} | ` +
                `${pct(r.ideal.rejected)} / ${pct(r.ideal.accepted)} / ${pct(r.ideal.undecided)} | ${r.ideal.medianItems} |`,
        ),
    ].join("\n");
}
