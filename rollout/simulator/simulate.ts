/**
 * The rollout engine against a simulated stack and noisy, seeded traffic on a virtual
 * clock: no AWS, no Pulumi CLI, and an hour of rollout in a millisecond. It is the demo
 * of the engine and its benchmark: over many seeded rollouts per scenario, how often a
 * healthy canary is rolled back anyway, how often a bad one is caught, how fast, and how
 * many bad requests it served first.
 *
 * Traffic is drawn as real traffic is: Poisson request counts per window, binomial 5xx
 * answers and slow requests, lognormal request times (the window's p99 is the order
 * statistic of its requests, not an expected value), data that CloudWatch shows only
 * after a delay, and reads that can fail.
 */
import { SCENARIOS, Scenario } from "./scenarios";
import { Draws, FIRST_TOKEN_BOUND_MS, NoisyMetrics, SimulatedRunner, SimulatedStack, VirtualClock } from "./world";
import { STABLE_P95_MS } from "./scenarios";
import { PairedStream, runnerCounting } from "../core/stream";
import { scorerSection } from "../../contract/golden";
import { gatesOf } from "../../contract/gates";
import { preflight } from "../core/preflight";
import { withSlowThreshold } from "../core/threshold";
import { JudgeLike } from "../core/deps";

/** Offsets the seed of stable's draws before the rollout from the rollout's own. */
const HISTORY_SEED = 1_000_000;
import { IdealJudge, LegacyJudge } from "./judges";
import { runRollout } from "../core/engine";
import { EXIT_CODES, RolloutResult } from "../core/result";
import { DEFAULT_SCHEDULE, RolloutSchedule, UNPINNED_SLOW_SECONDS } from "../../contract/schedule";

export interface SimulationResult {
    scenario: Scenario;
    result: RolloutResult;
    /** From the start of the rollout to its outcome, in virtual time. */
    timeToDecisionMs: number;
    /** Requests the canary served while it was worse than stable. */
    badCanaryRequests: number;
    /** How much of the canary's traffic the judge saw (expected counts, from the weights in force). */
    judged: JudgedTraffic;
}

/** Canary requests served and judged, in expected counts over the weights in force, and as the judge counted them. */
export interface JudgedTraffic {
    /** Served from the rollout's start to the end of its last step's bake (or of the step, when it did not finish baking). */
    served: number;
    /** Of those, the ones in minutes the judge judged. */
    judgedOfServed: number;
    /** In every minute the judge judged, expected. */
    inJudgedMinutes: number;
    /** In every minute the judge judged, as it counted them: above `inJudgedMinutes` if a minute was counted twice. */
    countedByJudge: number;
}

/** What the judge saw of the canary's traffic in a finished simulated rollout. */
function judgedTraffic(stack: SimulatedStack, result: RolloutResult): JudgedTraffic {
    const canary = (from: number, to: number) => (to <= from ? 0 : stack.canaryServed(from, to));
    const last = result.steps.at(-1);
    const end = last?.bakedAt ?? last?.endedAt ?? result.endedAt;
    const windows = result.samples.map((s) => s.sample.window);
    return {
        served: canary(result.startedAt, end),
        judgedOfServed: windows.reduce((n, w) => n + canary(Math.max(w.start, result.startedAt), Math.min(w.end, end)), 0),
        inJudgedMinutes: windows.reduce((n, w) => n + canary(w.start, w.end), 0),
        countedByJudge: result.samples.reduce((n, s) => n + s.sample.versions.canary.requests, 0),
    };
}

/** A rollout refused before its first step: nothing moved, nothing served. */
function refused(scenario: Scenario, at: number, reason: string): SimulationResult {
    const result: RolloutResult = { outcome: "refused", reason, exitCode: EXIT_CODES.refused, startedAt: at, endedAt: at, steps: [], samples: [], events: [] };
    return { scenario, result, timeToDecisionMs: 0, badCanaryRequests: 0, judged: { served: 0, judgedOfServed: 0, inJudgedMinutes: 0, countedByJudge: 0 } };
}

export type Gates = "sequential" | "legacy" | "ideal";

export interface SimulationOptions {
    schedule?: RolloutSchedule;
    seed?: number;
    /** Which gates judge: the sequential ones, the ones before them, or the ideal test. */
    gates?: Gates;
    log?: (line: string) => void;
}

export async function simulate(scenario: Scenario, options: SimulationOptions = {}): Promise<SimulationResult> {
    const configured = { ...(options.schedule ?? DEFAULT_SCHEDULE), ...scenario.settings };
    const clock = new VirtualClock();
    // Request times are scaled so that stable's 95th percentile sits at the threshold: where an unpinned one is read, and where the benchmark puts a pinned one unless the scenario places it elsewhere.
    const scaleMs = (configured.slowRequestSeconds ?? UNPINNED_SLOW_SECONDS) * 1000;
    const threshold = await withSlowThreshold(configured, async () => scaleMs, clock.now());
    const schedule = threshold.schedule;
    const pinnedShare = configured.slowRequestSeconds !== undefined ? scenario.pinnedSlowShare : undefined;
    const stack = new SimulatedStack(clock, scenario, Math.min(scenario.outage?.errorRate ?? 0, schedule.maxErrorRatePercent / 200));
    const draws = new Draws(options.seed ?? 1);
    const runner = scenario.paired
        ? new SimulatedRunner(stack, clock, draws, scenario.paired.slowFactor, scaleMs, STABLE_P95_MS, gatesOf(schedule.gates))
        : undefined;
    // Stable's hours before the rollout come from a stream of their own, so the rollout's draws are the same with or without them.
    const metrics = new NoisyMetrics(
        stack,
        clock,
        scenario,
        draws,
        scaleMs,
        gatesOf(schedule.gates),
        new Draws(HISTORY_SEED + (options.seed ?? 1)),
        pinnedShare,
        runner,
    );
    const stream = runner && pairedStream(runner, scenario.paired!.requestsPerSecond, schedule, options.seed ?? 1);
    const log = options.log ?? (() => {});
    log(threshold.line);
    // As the CLI does: each dispersion the schedule leaves unset is measured from stable's recent minutes (the sequential gates and the ideal test weigh by them), and a budget's promises are planned.
    let judged: RolloutSchedule = schedule;
    let judge: JudgeLike | undefined;
    if (options.gates !== "legacy") {
        const pairedAnswers = stream?.settings.answers;
        const before = await preflight(schedule, metrics, clock.now(), pairedAnswers ? { pairedAnswers } : {});
        for (const line of before.lines) log(line);
        if (before.refusal) return refused(scenario, clock.now(), before.refusal);
        judged = before.schedule;
        judge = before.judge;
    }
    const result = await runRollout({
        schedule: judged,
        ...(judge && options.gates !== "ideal" ? { judge } : {}),
        ...(stream ? { stream } : {}),
        stack,
        services: stack,
        traffic: stack,
        metrics,
        clock,
        log,
        ...(options.gates === "legacy" ? { judge: new LegacyJudge() } : {}),
        ...(options.gates === "ideal" ? { judge: new IdealJudge(judged, scenario) } : {}),
    });
    const badCanaryRequests = stack.canaryServed(result.startedAt, result.endedAt, true);
    return {
        scenario,
        result,
        timeToDecisionMs: result.endedAt - result.startedAt,
        badCanaryRequests: Math.round(badCanaryRequests),
        judged: judgedTraffic(stack, result),
    };
}

/** The golden set the simulated runner answers: items whose expected answer is "yes", scored exactly. */
const SIMULATED_ITEMS = Array.from({ length: 50 }, (_, i) => ({ id: `item-${i}`, request: { stream: true }, expected: "yes" }));

/** The stream as the CLI builds it from a stack's outputs: 5 points of pass rate to catch, none tolerated. */
function pairedStream(runner: SimulatedRunner, ratePerSecond: number, schedule: RolloutSchedule, seed: number): PairedStream {
    return new PairedStream(
        runner,
        SIMULATED_ITEMS,
        {
            ratePerSecond,
            ...runnerCounting(schedule, FIRST_TOKEN_BOUND_MS / 1000),
            answers: { scorer: scorerSection.parse({ kind: "exact" }), toleratedLoss: 0, detectLoss: 0.05 },
            seed,
        },
        () => {},
    );
}

/** A scenario's figures over many seeded rollouts. */
export interface BenchmarkRow {
    scenario: string;
    runs: number;
    outcomes: Partial<Record<RolloutResult["outcome"], number>>;
    /** Share of runs that ended as the scenario expects. */
    expectedRate: number;
    meanMinutesToDecision: number;
    medianMinutesToDecision: number;
    p90MinutesToDecision: number;
    meanBadRequests: number;
    medianBadRequests: number;
    /** Of the canary requests served from the first step to the end of the last, the share in judged minutes (all runs pooled). */
    shareJudged: number;
    /** Canary requests the judge counted per request in the minutes it judged (1 when each minute is counted once). */
    judgedPerServed: number;
    /** Of the promoted runs, the median minutes from the first step to the decision to promote (the end of the last step before 100%): what `budgetSeconds` bounds. */
    medianMinutesToPromote?: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The q-quantile of `xs` (the nearest rank). */
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];

/** Runs `runs` rollouts of a scenario on seeds `seed`, `seed + 1`, ... */
export async function benchmark(scenario: Scenario, runs: number, options: SimulationOptions = {}): Promise<BenchmarkRow> {
    const outcomes: BenchmarkRow["outcomes"] = {};
    const minutes: number[] = [];
    const bad: number[] = [];
    const judged: JudgedTraffic = { served: 0, judgedOfServed: 0, inJudgedMinutes: 0, countedByJudge: 0 };
    const toPromote: number[] = [];
    for (let i = 0; i < runs; i++) {
        const sim = await simulate(scenario, { ...options, seed: (options.seed ?? 1) + i, log: undefined });
        outcomes[sim.result.outcome] = (outcomes[sim.result.outcome] ?? 0) + 1;
        minutes.push(sim.timeToDecisionMs / 60_000);
        bad.push(sim.badCanaryRequests);
        for (const key of Object.keys(judged) as (keyof JudgedTraffic)[]) judged[key] += sim.judged[key];
        const decided = sim.result.steps.filter((s) => s.weight < 100).at(-1)?.endedAt;
        if (sim.result.outcome === "promoted" && decided !== undefined) toPromote.push((decided - sim.result.steps[0].startedAt) / 60_000);
    }
    return {
        scenario: scenario.name,
        runs,
        outcomes,
        expectedRate: (outcomes[scenario.expected] ?? 0) / runs,
        meanMinutesToDecision: mean(minutes),
        medianMinutesToDecision: quantile(minutes, 0.5),
        p90MinutesToDecision: quantile(minutes, 0.9),
        meanBadRequests: mean(bad),
        medianBadRequests: quantile(bad, 0.5),
        shareJudged: judged.served > 0 ? judged.judgedOfServed / judged.served : 1,
        judgedPerServed: judged.inJudgedMinutes > 0 ? judged.countedByJudge / judged.inJudgedMinutes : 1,
        ...(toPromote.length ? { medianMinutesToPromote: quantile(toPromote, 0.5) } : {}),
    };
}

export function benchmarkTable(rows: BenchmarkRow[], title: string): string {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const lines = [
        `${title}`,
        "| scenario | runs | expected | as expected | promoted | rolled back | held | failed | time to decision: median / p90 | bad requests served: median / mean | canary requests judged | judged per served |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const r of rows) {
        const s = SCENARIOS.find((x) => x.name === r.scenario)!;
        const share = (o: RolloutResult["outcome"]) => pct((r.outcomes[o] ?? 0) / r.runs);
        lines.push(
            `| ${r.scenario} | ${r.runs} | ${s.expected} | ${pct(r.expectedRate)} | ${share("promoted")} | ${share("rolled-back")} | ${share("held")} | ${share("failed")} | ${r.medianMinutesToDecision.toFixed(1)} / ${r.p90MinutesToDecision.toFixed(1)} min | ${r.medianBadRequests.toFixed(0)} / ${r.meanBadRequests.toFixed(0)} | ${pct(r.shareJudged)} | ${r.judgedPerServed.toFixed(3)} |`,
        );
    }
    const budgeted = rows.filter((r) => SCENARIOS.find((x) => x.name === r.scenario)!.settings?.budgetSeconds !== undefined);
    if (budgeted.length > 0) {
        lines.push("", "Within a budget (from the first step to the decision to promote; the canary's deploy, the 100% step and the promotion besides):");
        lines.push("| scenario | budget | promoted | decision to promote, median |", "| --- | --- | --- | --- |");
        for (const r of budgeted) {
            const budget = SCENARIOS.find((x) => x.name === r.scenario)!.settings!.budgetSeconds! / 60;
            const median = r.medianMinutesToPromote === undefined ? "-" : `${r.medianMinutesToPromote.toFixed(1)} min`;
            lines.push(`| ${r.scenario} | ${budget} min | ${pct((r.outcomes.promoted ?? 0) / r.runs)} | ${median} |`);
        }
    }
    return lines.join("\n");
}

export function summaryLine(s: SimulationResult): string {
    const min = (ms: number) => `${(ms / 60000).toFixed(1)} min`;
    return (
        `${s.scenario.name.padEnd(20)} ${s.result.outcome.padEnd(12)} decided after ${min(s.timeToDecisionMs).padStart(9)}; ` +
        `bad canary served ${String(s.badCanaryRequests).padStart(5)} requests | ${s.result.reason}`
    );
}
