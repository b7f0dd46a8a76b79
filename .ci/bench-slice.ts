/**
 * A small seeded slice of the verdict benchmark, checked against committed figures
 * (.ci/bench-baseline.json): CI fails when a scenario ends as expected less often than
 * the baseline says, or a bad canary serves more bad requests, on the default schedule and on
 * every committed stack's (`Pulumi.*.yaml`). The slice is seeded, so
 * its figures change only when the judge or the simulation does; when a change improves
 * them, `--write` records the new figures. The full run is `npm run bench`.
 *
 * It also holds the gates near the bound: on the constant regressions, the ideal two-sample
 * test (`simulate.ts`, which knows the regression's size) serves about the fewest bad requests
 * a judge with the same error rates can, and the gates may serve at most `OVER_IDEAL` times that.
 * And the golden set's promises: on seeded sets, a canary 10 points worse rolled back in at least
 * 99% of runs before any traffic, and one of equal quality in at most its share of
 * `falseRollbackRate`.
 * And it holds the reads whole: on healthy canaries, on the default schedule and on every
 * committed stack's, at least `MIN_SHARE_JUDGED` of the canary's requests are judged, each
 * once (`JUDGED_PER_SERVED` around 1).
 */
import { SCENARIOS } from "../rollout/simulator/scenarios";
import * as fs from "fs";
import * as path from "path";
import { benchmark, BenchmarkRow, benchmarkTable } from "../rollout/simulator/simulate";
import { stackSchedule } from "../rollout/cli/simulate";
import { GOLDEN_SCENARIOS, goldenBenchmark, goldenTable, ERROR_RATES } from "../rollout/simulator/golden";

const SLICE = [
    "healthy-delayed",
    "healthy-late",
    "healthy-diurnal",
    "shared-outage",
    "healthy-warmup",
    "healthy-sticky",
    "healthy-clustered",
    "healthy-clustered-dispersion",
    "errors-2x",
    "errors-2x-clustered-dispersion",
    "healthy-cutoff",
    "cutoff-2x",
    "healthy-ttft",
    "healthy-tokens",
    "healthy-all-gates",
    "healthy-bursty-model",
    "ttft-1.5x",
    "tokens-1.3x",
    "refusals-2x",
    "aborted-2x",
    "healthy-rare-slow",
    "healthy-2rps-budget",
    "healthy-1rps-no-5xx-budget",
    "errors-at-promise-1rps-no-5xx",
    "errors-at-promise-2rps",
    "errors-1.5x-promise-2rps",
    "ttft-at-promise-2rps",
    "healthy-paired-5x-1rps",
    "ttft-1.5x-1rps-paired",
    "errors-5x-delayed",
    "latency-1.8x-delayed",
    "latency-tail",
    "errors-under-load",
    "broken",
    "failed-reads",
    "overload-fixed-capacity",
    "overload-capacity-follows",
];
/** The slice's healthy canaries: each must have its requests judged, each once. */
const HEALTHY = SLICE.filter((name) => SCENARIOS.find((s) => s.name === name)!.expected === "promoted");
/** On each committed stack's schedule: a healthy canary, the smallest regression to catch, and one that needs load. */
const ON_STACKS = ["healthy-delayed", "errors-2x", "errors-under-load"];
const STACKS = fs.readdirSync(path.join(__dirname, "..")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);
const MIN_SHARE_JUDGED = 0.95;
const JUDGED_PER_SERVED = [0.99, 1.01];
const RUNS = 300;
const NEAR_IDEAL = ["errors-5x-delayed", "latency-1.8x-delayed", "latency-tail", "errors-2x", "cutoff-2x", "ttft-1.5x", "tokens-1.3x", "refusals-2x"];
const OVER_IDEAL = 1.5;
const BASELINE = path.join(__dirname, "bench-baseline.json");

/** A row of the slice, with the schedule it ran on. */
type SliceRow = BenchmarkRow & { schedule: string };

async function slice(): Promise<SliceRow[]> {
    const rows: SliceRow[] = [];
    for (const name of SLICE)
        rows.push({
            ...(await benchmark(
                SCENARIOS.find((s) => s.name === name)!,
                RUNS,
                { seed: 1 },
            )),
            schedule: "default",
        });
    for (const stack of STACKS) {
        for (const name of ON_STACKS)
            rows.push({
                ...(await benchmark(
                    SCENARIOS.find((s) => s.name === name)!,
                    RUNS / 3,
                    { seed: 1, schedule: stackSchedule(stack) },
                )),
                schedule: stack,
            });
    }
    return rows;
}

async function main(): Promise<number> {
    const rows = await slice();
    for (const schedule of ["default", ...STACKS]) {
        console.log(
            benchmarkTable(
                rows.filter((r) => r.schedule === schedule),
                `\nBenchmark slice on ${schedule === "default" ? "the default schedule" : `${schedule}'s schedule`} (seeds from 1)`,
            ),
        );
    }
    if (process.argv.includes("--write")) {
        fs.writeFileSync(BASELINE, `${JSON.stringify(rows, null, 2)}\n`);
        console.log(`wrote ${BASELINE}`);
        return 0;
    }
    const baseline = JSON.parse(fs.readFileSync(BASELINE, "utf8")) as SliceRow[];
    const regressions: string[] = [];
    for (const row of rows) {
        const where = `${row.scenario} on ${row.schedule}`;
        const base = baseline.find((b) => b.scenario === row.scenario && b.schedule === row.schedule);
        if (!base) {
            regressions.push(`${where}: no baseline (run with --write)`);
            continue;
        }
        if (row.expectedRate < base.expectedRate) regressions.push(`${where}: ended as expected in ${row.expectedRate} of runs, baseline ${base.expectedRate}`);
        if (row.meanBadRequests > base.meanBadRequests * 1.05 + 1)
            regressions.push(`${where}: served ${row.meanBadRequests.toFixed(0)} bad requests on average, baseline ${base.meanBadRequests.toFixed(0)}`);
        if (HEALTHY.includes(row.scenario)) {
            if (row.shareJudged < MIN_SHARE_JUDGED)
                regressions.push(`${where}: ${(100 * row.shareJudged).toFixed(1)}% of canary requests judged, at least ${100 * MIN_SHARE_JUDGED}%`);
            if (row.judgedPerServed < JUDGED_PER_SERVED[0] || row.judgedPerServed > JUDGED_PER_SERVED[1])
                regressions.push(`${where}: ${row.judgedPerServed.toFixed(3)} requests judged per request served`);
        }
    }
    for (const name of NEAR_IDEAL) {
        const ideal = await benchmark(
            SCENARIOS.find((s) => s.name === name)!,
            RUNS,
            { seed: 1, gates: "ideal" },
        );
        const gates = rows.find((r) => r.scenario === name && r.schedule === "default")!;
        const ratio = gates.medianBadRequests / ideal.medianBadRequests;
        console.log(
            `${name}: the gates serve a median of ${gates.medianBadRequests.toFixed(0)} bad requests, the ideal test ${ideal.medianBadRequests.toFixed(0)} (${ratio.toFixed(2)}x)`,
        );
        if (ratio > OVER_IDEAL) regressions.push(`${name}: ${ratio.toFixed(2)}x the ideal test's bad requests, at most ${OVER_IDEAL}x`);
    }
    const golden = await Promise.all(
        ["golden-10pt-worse", "golden-equal"].map((name) =>
            goldenBenchmark(
                GOLDEN_SCENARIOS.find((g) => g.name === name)!,
                RUNS,
            ),
        ),
    );
    console.log(`\n${goldenTable(golden, "Golden set slice (seeds from 1)")}`);
    if (golden[0].rejected < 0.99) regressions.push(`golden-10pt-worse: rolled back in ${golden[0].rejected} of runs, at least 0.99`);
    if (golden[1].rejected > ERROR_RATES.alpha) regressions.push(`golden-equal: rolled back in ${golden[1].rejected} of runs, at most ${ERROR_RATES.alpha}`);
    for (const r of regressions) console.error(`regression: ${r}`);
    console.log(regressions.length === 0 ? "benchmark slice: no regression against the baseline" : `benchmark slice: ${regressions.length} regression(s)`);
    return regressions.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code));
