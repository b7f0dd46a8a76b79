/** The Markdown report of a rollout judged with the model's gates: each gate's counts per step, and how bursty each count was taken to be. */
import { renderMarkdown } from "../../../rollout/core/report";
import { SCENARIOS } from "../../../rollout/simulator/scenarios";
import { simulate } from "../../../rollout/simulator/simulate";

test("a step's row gives each gate's share (or rate) for both versions, and the dispersions are listed with where each came from", async () => {
    const lines: string[] = [];
    const { result } = await simulate(
        SCENARIOS.find((s) => s.name === "cutoff-2x")!,
        { seed: 3, log: (line) => lines.push(line) },
    );
    const dispersions = lines.filter((line) => line.startsWith("dispersion of "));
    expect(dispersions).toEqual(["dispersion of cut-off answer: 1, as set", expect.stringMatching(/^dispersion of 5xx: /)]);
    const md = renderMarkdown(result, "gpu", { preflight: dispersions });
    expect(md).toContain("## Before the first step");
    expect(md).toContain("- dispersion of cut-off answer: 1, as set");
    expect(md).toContain("| model's gates: canary; stable | verdict |");
    const firstStep = md.split("\n").find((row) => row.startsWith("| 1 | 5% |"))!;
    expect(firstStep).toMatch(/\| cut off \d+\.\d\d% \(\d+\/\d+\); cut off \d+\.\d\d% \(\d+\/\d+\) \|/);
});

test("without gates or dispersions the report has neither", async () => {
    const { result } = await simulate(
        SCENARIOS.find((s) => s.name === "healthy")!,
        { seed: 3 },
    );
    const md = renderMarkdown(result, "dev");
    expect(md).not.toContain("Before the first step");
    expect(md).not.toContain("model's gates");
});

test("with a budget, the report repeats each promise beside both versions' rates over the judged steps", async () => {
    const { result } = await simulate(
        SCENARIOS.find((s) => s.name === "errors-at-promise-2rps")!,
        { seed: 3 },
    );
    const promises = [
        { id: "errors", name: "5xx", measure: "share" as const, factor: 4.5, stableRate: 0.003 },
        { id: "slow", name: "slow-request", measure: "share" as const, factor: 1.6, stableRate: 0.05 },
    ];
    const md = renderMarkdown(result, "gpu", { promises });
    expect(md).toContain("## Promises and what was observed");
    const judged = result.samples.filter((s) => s.weight < 100);
    const canary = judged.reduce((n, s) => ({ errors: n.errors + s.sample.versions.canary.errors, requests: n.requests + s.sample.versions.canary.requests }), {
        errors: 0,
        requests: 0,
    });
    const row = md.split("\n").find((line) => line.startsWith("| 5xx |"))!;
    expect(row).toContain(`| 4.5x stable's (1.35%) | ${((100 * canary.errors) / canary.requests).toFixed(2)}% (${canary.errors}/${canary.requests}) |`);
    expect(row).toMatch(/\| \d+\.\d\dx \|$/);
    expect(md.split("\n").find((line) => line.startsWith("| slow-request |"))).toContain("1.6x stable's (8.00%)");
});

test("with a golden set, the report lists the items the canary lost, both answers on one line each, at most 50", async () => {
    const { result } = await simulate(
        SCENARIOS.find((s) => s.name === "healthy")!,
        { seed: 3 },
    );
    const lost = Array.from({ length: 52 }, (_, i) => ({ id: `q${i}`, stable: "Paris", canary: "It is\nLyon | maybe" }));
    const md = renderMarkdown(result, "dev", { goldenLost: lost });
    expect(md).toContain("## Golden items the canary lost");
    expect(md).toContain("| q0 | Paris | It is Lyon \\| maybe |");
    expect(md).toContain("| q49 |");
    expect(md).not.toContain("| q50 |");
    expect(md).toContain("And 2 more (the JSON report lists all).");
    expect(renderMarkdown(result, "dev", { goldenLost: [] })).toContain("None: the canary passed every golden item stable passed.");
});

test("with a paired stream, the report gives what the runner's pairs showed at each step, beside the live counts; without one, no such section", async () => {
    const { result } = await simulate(
        SCENARIOS.find((s) => s.name === "ttft-1.5x-1rps-paired")!,
        { seed: 3 },
    );
    const md = renderMarkdown(result, "gpu");
    expect(md).toContain("## Paired stream");
    const firstStep = md
        .split("\n## Paired stream")[1]
        .split("\n")
        .find((row) => row.startsWith("| 1 | 10% |"))!;
    expect(firstStep).toMatch(/^\| 1 \| 10% \| \d+ req, 5xx .*slow first token \d+\.\d\d% \(\d+\/\d+\).* \| \d+ req, 5xx /);
    expect(
        renderMarkdown(
            (
                await simulate(
                    SCENARIOS.find((s) => s.name === "ttft-1.5x-1rps")!,
                    { seed: 3 },
                )
            ).result,
            "gpu",
        ),
    ).not.toContain("## Paired stream");
});
