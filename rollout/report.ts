/**
 * What a person reads: a live line per sample while the rollout runs, and at the end a
 * Markdown report (a table per step, charts of weight, error rate and latency over time)
 * with the same data as JSON beside it for machines.
 */
import type { RolloutResult, SampleRecord } from "./engine";
import { errorRate, Evidence, Verdict } from "./judge";
import { MetricsSample, VersionSample } from "./ports";
import { VERSIONS } from "../mesh/config/schema";

const pct = (x: number) => `${x.toFixed(2)}%`;
const secs = (ms?: number) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)}s`);
const minutes = (ms: number) => `${Math.round(ms / 60000)}m`;
const describe = (v: VersionSample) => `${v.requests} req ${pct(errorRate(v))} 5xx ${v.slow} slow p99 ${secs(v.p99Ms)}`;
const verdictText = (v?: Verdict) => (v === undefined ? "-" : v.kind === "pass" ? "pass" : `${v.kind}: ${v.reason}`);

/** One line per sample: where the rollout is and how both versions did in the last interval. */
/** The test nearest its threshold, as "evidence 3.2 of 300". */
const strongest = (evidence: Evidence[]) => {
    const top = [...evidence].sort((a, b) => b.evidence / b.threshold - a.evidence / a.threshold)[0];
    return top ? ` | evidence ${top.evidence.toPrecision(2)} of ${top.threshold.toFixed(0)} (${top.test})` : "";
};

/** One line per sample: where the rollout is, how both versions did in the window, and the evidence so far. */
export function progressLine(
    step: { index: number; weight: number },
    totalSteps: number,
    sample: MetricsSample,
    verdict: Verdict,
    elapsedMs: number,
    evidence: Evidence[],
): string {
    const label = step.index === 0 ? "resumed" : `${step.index}/${totalSteps}`;
    return (
        `step ${label} weight ${step.weight}% +${minutes(elapsedMs)} | ` +
        VERSIONS.map((v) => `${v} ${describe(sample.versions[v])}`).join(" | ") +
        ` | ${verdict.kind === "pass" ? "ok" : verdictText(verdict)}${strongest(evidence)}`
    );
}

function sumOf(samples: SampleRecord[], version: "stable" | "canary"): VersionSample {
    const requests = samples.reduce((n, s) => n + s.sample.versions[version].requests, 0);
    const errors = samples.reduce((n, s) => n + s.sample.versions[version].errors, 0);
    const slow = samples.reduce((n, s) => n + s.sample.versions[version].slow, 0);
    const p99s = samples.map((s) => s.sample.versions[version].p99Ms).filter((p): p is number => p !== undefined);
    // The worst interval's p99: an honest upper bound, since percentiles do not add up.
    return { requests, errors, slow, p99Ms: p99s.length ? Math.max(...p99s) : undefined };
}

/** Mermaid line chart of one series over the sample times. */
function chart(title: string, result: RolloutResult, yLabel: string, series: [string, (s: SampleRecord) => number][]): string {
    const times = result.samples.map((s) => `"${minutes(s.at - result.startedAt)}"`);
    const lines = series.map(([, pick]) => `    line [${result.samples.map((s) => +pick(s).toFixed(2)).join(", ")}]`);
    return [
        "```mermaid",
        "xychart-beta",
        `    title "${title} (${series.map(([name]) => name).join(", ")})"`,
        `    x-axis [${times.join(", ")}]`,
        `    y-axis "${yLabel}"`,
        ...lines,
        "```",
    ].join("\n");
}

export function renderMarkdown(result: RolloutResult, stackName: string): string {
    const out: string[] = [
        `# Canary rollout of \`${stackName}\`: ${result.outcome}`,
        "",
        `**${result.reason}**`,
        "",
        `Started ${new Date(result.startedAt).toISOString()}, took ${minutes(result.endedAt - result.startedAt)}, exit code ${result.exitCode}.`,
        "",
        "## Steps",
        "",
        "| step | weight | baked | canary requests | canary 5xx | canary worst p99 | stable 5xx | stable worst p99 | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const step of result.steps) {
        const own = result.samples.filter((s) => s.step === step.index && s.weight === step.weight && s.at >= step.startedAt);
        const canary = sumOf(own, "canary");
        const stable = sumOf(own, "stable");
        out.push(
            `| ${step.index || "resumed"} | ${step.weight}% | ${minutes((step.endedAt ?? result.endedAt) - step.startedAt)} | ${canary.requests} | ` +
                `${pct(errorRate(canary))} | ${secs(canary.p99Ms)} | ${pct(errorRate(stable))} | ${secs(stable.p99Ms)} | ${verdictText(step.verdict)} |`,
        );
    }
    if (result.samples.length > 0) {
        out.push(
            "",
            "## Over time",
            "",
            chart("Canary weight and 5xx rate", result, "percent", [
                ["weight %", (s) => s.weight],
                ["canary 5xx %", (s) => errorRate(s.sample.versions.canary)],
                ["stable 5xx %", (s) => errorRate(s.sample.versions.stable)],
            ]),
            "",
            chart("p99 request time", result, "seconds", [
                ["canary", (s) => (s.sample.versions.canary.p99Ms ?? 0) / 1000],
                ["stable", (s) => (s.sample.versions.stable.p99Ms ?? 0) / 1000],
            ]),
        );
    }
    out.push("", "## Events", "", ...result.events.map((e) => `- +${minutes(e.at - result.startedAt)} ${e.message}`), "");
    return out.join("\n");
}

export function renderJson(result: RolloutResult, stackName: string): string {
    return JSON.stringify({ stack: stackName, ...result }, null, 2);
}
