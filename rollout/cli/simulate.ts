/** `rollout simulate`: the rollout engine on seeded synthetic traffic, one scenario's every line or many runs' rates. */
import { SCENARIOS } from "../simulator/scenarios";
import * as fs from "fs";
import * as path from "path";
import { loadConfig } from "../../mesh/config/schema";
import { stackFileConfig } from "../adapters/stackFiles";
import { RolloutSchedule } from "../../contract/schedule";
import { benchmark, benchmarkTable, Gates, simulate, summaryLine } from "../simulator/simulate";
import { powerReport, Traffic } from "../core/power";
import { CliArgs, CliError } from "./args";
import { GOLDEN_SCENARIOS, goldenBenchmark, goldenRun, goldenTable, setSizeToAccept } from "../simulator/golden";
import { writeReports } from "./reportFiles";

/** The benchmark's traffic (its stable's answers cut off, first tokens after the bound, tokens per answer): what `simulate --stack` shows the power at unless told otherwise. */
const BENCHMARK_TRAFFIC: Traffic = {
    requestsPerSecond: 10,
    errorRate: 0.003,
    slowShare: 0.05,
    gates: { cutoff: { trialsPerRequest: 1, rate: 0.04 }, ttft: { trialsPerRequest: 1, rate: 0.1 }, tokens: { trialsPerRequest: 1, rate: 300 } },
};

/** A stack's own schedule, from `Pulumi.<stack>.yaml` in the current directory: try its gates before relying on them. */
export function stackSchedule(stack: string): RolloutSchedule {
    const file = path.join(process.cwd(), `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new CliError(`no ${path.basename(file)} in the current directory`);
    return loadConfig(stackFileConfig(file)).rollout;
}

/**
 * The golden set's comparison on seeded sets: one run's verdict, or many runs' rates beside the
 * ideal paired test's, and for a canary of equal quality the set that would show it in 95%.
 */
async function goldenSimulations(scenarios: typeof GOLDEN_SCENARIOS, args: Extract<CliArgs, { command: "simulate" }>): Promise<void> {
    if (args.runs === 1) {
        for (const s of scenarios) {
            const run = await goldenRun(s, args.seed);
            console.log(
                `\n== ${s.name}: ${s.description}\n${s.name} ${run.verdict} after ${run.items} items (the ideal paired test: ${run.ideal.verdict} after ${run.ideal.items})`,
            );
        }
        return;
    }
    const rows = [];
    for (const s of scenarios) rows.push(await goldenBenchmark(s, args.runs, args.seed));
    console.log(
        `${goldenTable(rows, `Golden set compared before any traffic, ${args.runs} seeded sets per scenario (seeds ${args.seed}-${args.seed + args.runs - 1}):`)}\n`,
    );
    for (const s of scenarios.filter((g) => g.canaryPass === g.stablePass)) {
        const items = await setSizeToAccept(s, 0.95, Math.min(args.runs, 400));
        console.log(
            `${s.name}: a set of ${items ?? "more than 10,000"} items shows a canary of equal quality not worse in 95% of runs (${Math.min(args.runs, 400)} runs a size)\n`,
        );
    }
}

export async function runSimulations(args: Extract<CliArgs, { command: "simulate" }>): Promise<number> {
    const schedule = args.stack ? stackSchedule(args.stack) : undefined;
    if (schedule) console.log(`${powerReport(schedule, args.traffic ?? BENCHMARK_TRAFFIC, args.traffic ? "given" : "the benchmark's").join("\n")}\n`);
    const scenarios = args.scenarios.flatMap((name) => SCENARIOS.find((s) => s.name === name) ?? []);
    const golden = args.scenarios.flatMap((name) => GOLDEN_SCENARIOS.find((s) => s.name === name) ?? []);
    if (golden.length > 0) await goldenSimulations(golden, args);
    if (scenarios.length === 0) return 0;
    if (args.runs > 1) {
        const title = (gates: string) =>
            `${gates}, ${args.runs} seeded rollouts per scenario (seeds ${args.seed}-${args.seed + args.runs - 1}), schedule of ${args.stack ?? "the defaults"}:`;
        const rows = [];
        for (const scenario of scenarios) rows.push(await benchmark(scenario, args.runs, { schedule, seed: args.seed }));
        console.log(benchmarkTable(rows, title("Sequential gates")));
        if (args.compare) {
            const others: [Gates, string][] = [
                ["legacy", "The gates before (fixed thresholds per interval)"],
                ["ideal", "The ideal two-sample test: knows the regression's size, not stable's rate; the same false-rollback and miss rates"],
            ];
            for (const [gates, heading] of others) {
                const compared = [];
                for (const scenario of scenarios) compared.push(await benchmark(scenario, args.runs, { schedule, seed: args.seed, gates }));
                console.log(`\n${benchmarkTable(compared, title(heading))}`);
            }
        }
        return 0;
    }
    let unexpected = 0;
    for (const scenario of scenarios) {
        console.log(`\n== ${scenario.name}: ${scenario.description}`);
        const log = scenarios.length === 1 ? (line: string) => console.log(line) : () => {};
        const sim = await simulate(scenario, { schedule, seed: args.seed, log });
        console.log(summaryLine(sim));
        if (scenario.limit) console.log(`   a known limit: ${scenario.limit}`);
        else if (sim.result.outcome !== scenario.expected) unexpected++;
        if (args.reportDir) writeReports(args.reportDir, `simulation-${scenario.name}`, sim.result, `simulation:${scenario.name}`);
    }
    return unexpected === 0 ? 0 : 1;
}
