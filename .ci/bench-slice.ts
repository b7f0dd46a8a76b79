/**
 * A small seeded slice of the verdict benchmark, checked against committed figures
 * (.ci/bench-baseline.json): CI fails when a scenario ends as expected less often than
 * the baseline says, or a bad canary serves more bad requests. The slice is seeded, so
 * its figures change only when the judge or the simulation does; when a change improves
 * them, `--write` records the new figures. The full run is `npm run bench`.
 *
 * It also holds the gates near the bound: on the constant regressions, a judge that knows
 * the answer (the oracle in `simulate.ts`) serves the fewest bad requests any gate at a
 * 0.5% false-rollback rate can, and the gates may serve at most `OVER_ORACLE` times that.
 * And it holds the reads whole: on healthy canaries, on the default schedule and on every
 * committed stack's, at least `MIN_SHARE_JUDGED` of the canary's requests are judged, each
 * once (`JUDGED_PER_SERVED` around 1).
 */
import * as fs from "fs";
import * as path from "path";
import { benchmark, BenchmarkRow, benchmarkTable, SCENARIOS } from "../rollout/simulate";
import { stackSchedule } from "../rollout/cli";

const SLICE = ["healthy-delayed", "healthy-late", "errors-5x-delayed", "latency-1.8x-delayed", "errors-under-load", "broken", "failed-reads", "overload-fixed-capacity", "overload-capacity-follows"];
const HEALTHY = ["healthy-delayed", "healthy-late"];
const STACKS = fs.readdirSync(path.join(__dirname, "..")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
const MIN_SHARE_JUDGED = 0.95;
const JUDGED_PER_SERVED = [0.99, 1.01];
const RUNS = 300;
const NEAR_ORACLE = ["errors-5x-delayed", "latency-1.8x-delayed"];
const OVER_ORACLE = 1.5;
const BASELINE = path.join(__dirname, "bench-baseline.json");

async function main(): Promise<number> {
    const rows: BenchmarkRow[] = [];
    for (const name of SLICE) rows.push(await benchmark(SCENARIOS.find((s) => s.name === name)!, RUNS, { seed: 1 }));
    console.log(benchmarkTable(rows, `Benchmark slice: ${RUNS} seeded rollouts per scenario (seeds 1-${RUNS}), default schedule`));
    if (process.argv.includes("--write")) {
        fs.writeFileSync(BASELINE, `${JSON.stringify(rows, null, 2)}\n`);
        console.log(`wrote ${BASELINE}`);
        return 0;
    }
    const baseline = JSON.parse(fs.readFileSync(BASELINE, "utf8")) as BenchmarkRow[];
    const regressions: string[] = [];
    for (const row of rows) {
        const base = baseline.find((b) => b.scenario === row.scenario);
        if (!base) {
            regressions.push(`${row.scenario}: no baseline (run with --write)`);
            continue;
        }
        if (row.expectedRate < base.expectedRate) regressions.push(`${row.scenario}: ended as expected in ${row.expectedRate} of runs, baseline ${base.expectedRate}`);
        if (row.meanBadRequests > base.meanBadRequests * 1.05 + 1) regressions.push(`${row.scenario}: served ${row.meanBadRequests.toFixed(0)} bad requests on average, baseline ${base.meanBadRequests.toFixed(0)}`);
    }
    for (const name of NEAR_ORACLE) {
        const oracle = await benchmark(SCENARIOS.find((s) => s.name === name)!, RUNS, { seed: 1, gates: "oracle" });
        const gates = rows.find((r) => r.scenario === name)!;
        const ratio = gates.meanBadRequests / oracle.meanBadRequests;
        console.log(`${name}: the gates serve ${gates.meanBadRequests.toFixed(0)} bad requests, the oracle bound ${oracle.meanBadRequests.toFixed(0)} (${ratio.toFixed(2)}x)`);
        if (ratio > OVER_ORACLE) regressions.push(`${name}: ${ratio.toFixed(2)}x the oracle's bad requests, at most ${OVER_ORACLE}x`);
    }
    const wholeReads = (row: BenchmarkRow, where: string) => {
        if (row.shareJudged < MIN_SHARE_JUDGED) regressions.push(`${row.scenario} on ${where}: ${(100 * row.shareJudged).toFixed(1)}% of canary requests judged, at least ${100 * MIN_SHARE_JUDGED}%`);
        if (row.judgedPerServed < JUDGED_PER_SERVED[0] || row.judgedPerServed > JUDGED_PER_SERVED[1]) regressions.push(`${row.scenario} on ${where}: ${row.judgedPerServed.toFixed(3)} requests judged per request served`);
    };
    for (const row of rows.filter((r) => HEALTHY.includes(r.scenario))) wholeReads(row, "the default schedule");
    for (const stack of STACKS) {
        const stackRows = [];
        for (const name of HEALTHY) stackRows.push(await benchmark(SCENARIOS.find((s) => s.name === name)!, RUNS / 3, { seed: 1, schedule: stackSchedule(stack) }));
        console.log(benchmarkTable(stackRows, `\nHealthy canaries on ${stack}'s schedule, ${RUNS / 3} seeded rollouts each`));
        for (const row of stackRows) wholeReads(row, `${stack}'s schedule`);
    }
    for (const r of regressions) console.error(`regression: ${r}`);
    console.log(regressions.length === 0 ? "benchmark slice: no regression against the baseline" : `benchmark slice: ${regressions.length} regression(s)`);
    return regressions.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code));
