/**
 * What a person reads: a live line per sample while the rollout runs, and at the end a
 * Markdown report (a table per step, charts of weight, error rate and latency over time)
 * with the same data as JSON beside it for machines.
 */
import type { RolloutResult, SampleRecord } from "./result";
import { errorRate, Evidence, Verdict } from "./judge";
import { MetricsSample, VersionSample } from "./ports";
import { displayOf, rateText } from "../../contract/gates";
import { VERSIONS } from "../../contract/versions";
import { callerCell, CallersHint } from "./callers";
import { summedGates } from "./minutes";
import type { Promised } from "./budget";
import type { LostItem } from "./golden";

const pct = (x: number) => `${x.toFixed(2)}%`;
const secs = (ms?: number) => (ms === undefined ? "-" : `${(ms / 1000).toFixed(1)}s`);
const minutes = (ms: number) => `${Math.round(ms / 60000)}m`;
/** A version's window as an on-call engineer reads it: each rate with the count behind it. */
export const versionText = (v: VersionSample) =>
    `${v.requests} req, 5xx ${pct(errorRate(v))} (${v.errors}), slow ${pct(v.requests > 0 ? (100 * v.slow) / v.requests : 0)} (${v.slow}), p99 ${secs(v.p99Ms)}` +
    gatesText(v);
/** The model's gates in a window: each one's share of its trials (or rate per trial), with the counts behind it, e.g. ", cut off 4.10% (45/1098)". */
const gatesText = (v: VersionSample) =>
    Object.entries(v.gates ?? {})
        .map(([id, g]) => `, ${displayOf(id).short} ${rateText(displayOf(id).measure, g)} (${g.events}/${g.requests})`)
        .join("");
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
        VERSIONS.map((v) => `${v} ${versionText(sample.versions[v])}`).join(" | ") +
        ` | ${verdict.kind === "pass" ? "ok" : verdictText(verdict)}${strongest(evidence)}`
    );
}

/** A version's counts over samples: live traffic, or with `of`, the paired stream's. */
function sumOf(samples: SampleRecord[], version: "stable" | "canary", of: (s: SampleRecord) => MetricsSample | undefined = (s) => s.sample): VersionSample {
    const present = samples.flatMap((s) => of(s)?.versions[version] ?? []);
    const requests = present.reduce((n, v) => n + v.requests, 0);
    const errors = present.reduce((n, v) => n + v.errors, 0);
    const slow = present.reduce((n, v) => n + v.slow, 0);
    const p99s = present.map((v) => v.p99Ms).filter((p): p is number => p !== undefined);
    // The worst interval's p99: an honest upper bound, since percentiles do not add up.
    return { requests, errors, slow, p99Ms: p99s.length ? Math.max(...p99s) : undefined, ...summedGates(present) };
}

/** With a paired stream, what the runner's pairs showed at each step, each version as the runner measured it. */
function pairedSection(result: RolloutResult): string[] {
    if (!result.samples.some((s) => s.paired)) return [];
    return [
        "",
        "## Paired stream",
        "",
        "The runner's pairs (`evaluation.requestsPerSecond`), the same request to both versions through their pins, counted by when each answer ended: judged beside live traffic, and taken out of the live counts above.",
        "",
        "| step | weight | canary | stable |",
        "| --- | --- | --- | --- |",
        ...result.steps.map((step) => {
            const own = result.samples.filter((s) => s.step === step.index && s.weight === step.weight && s.at >= step.startedAt);
            const [canary, stable] = (["canary", "stable"] as const).map((v) => versionText(sumOf(own, v, (s) => s.paired)));
            return `| ${step.index || "resumed"} | ${step.weight}% | ${canary} | ${stable} |`;
        }),
    ];
}

/** A whole minute's time of day, UTC (hh:mm). */
const utcMinute = (t: number) => new Date(t).toISOString().slice(11, 16);

/** Minutes and seconds, since start: a report of a 10-minute bake needs more than whole minutes. */
const clockTime = (ms: number) => `${Math.floor(ms / 60000)}:${String(Math.round((ms % 60000) / 1000)).padStart(2, "0")}`;

/** The lines' colours, set on each chart (xychart has no legend of its own), and their names for the key under it. */
const PALETTE: [string, string][] = [
    ["#d62728", "red"],
    ["#1f77b4", "blue"],
    ["#2ca02c", "green"],
];

/**
 * A Mermaid line chart. A series is drawn only over the samples where every series has a
 * value (`undefined` is "no data", never 0), so a missing minute is a gap in the time axis,
 * not a drop to zero. Its colours are fixed, so the key under it names each line by colour.
 */
function chart(title: string, result: RolloutResult, yLabel: string, series: [string, (s: SampleRecord) => number | undefined][]): string {
    const points = result.samples.filter((s) => series.every(([, pick]) => pick(s) !== undefined));
    if (points.length === 0) return `_${title}: no sample had data for every line._`;
    const times = points.map((s) => `"${clockTime(s.at - result.startedAt)}"`);
    const lines = series.map(([, pick]) => `    line [${points.map((s) => +pick(s)!.toFixed(3)).join(", ")}]`);
    const colours = PALETTE.slice(0, series.length);
    return [
        "```mermaid",
        `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${colours.map(([hex]) => hex).join(", ")}"}}}}%%`,
        "xychart-beta",
        `    title "${title}"`,
        `    x-axis [${times.join(", ")}]`,
        `    y-axis "${yLabel}"`,
        ...lines,
        "```",
        `Key: ${series.map(([name], i) => `${colours[i][1]}: ${name}`).join("; ")}.${points.length < result.samples.length ? ` ${result.samples.length - points.length} sample(s) without data for every line are left out.` : ""}`,
    ].join("\n");
}

/** The canary's part of the requests both versions served, as a percentage ("-" without requests). */
const share = (canary: VersionSample, stable: VersionSample) => {
    const total = canary.requests + stable.requests;
    return total === 0 ? "-" : `${((100 * canary.requests) / total).toFixed(1)}%`;
};

const percentOf = (v: VersionSample, count: number) => (v.requests > 0 ? (100 * count) / v.requests : undefined);

/** Who ran a rollout, of what, and where to look: what a report says besides the result. */
export interface ReportContext {
    owner?: string;
    /** Each version's image as the stack file had it when the rollout began. */
    images?: { stable: string; canary: string };
    dashboardUrl?: string;
    /** Its callers' 5xx over the rollout, when the stack is on a platform. */
    callers?: CallersHint;
    /** What was measured and promised before the first step, each said with where it came from (`preflight.ts`): the dispersions, and a budget's promises. */
    preflight?: string[];
    /** With a budget, each rate's promise, repeated beside what both versions served. */
    promises?: Promised[];
    /** With a golden set, the items the canary lost (stable passed, the canary did not), with both answers shortened. */
    goldenLost?: LostItem[];
}

/** The most lost items the report lists. */
const MOST_LOST = 50;
/** A table cell: one line, no pipe. */
const cell = (text: string) => text.replace(/\s+/g, " ").replace(/\|/g, "\\|");

/** The golden items the canary lost, both answers side by side: what a reviewer reads first when the comparison rolled it back. */
function goldenSection(lost: LostItem[]): string[] {
    const head = ["", "## Golden items the canary lost", ""];
    if (lost.length === 0) return [...head, "None: the canary passed every golden item stable passed."];
    return [
        ...head,
        "Items stable passed and the canary did not, in the order asked; each answer shortened. The verdict is in the events below.",
        "",
        "| item | stable's answer | canary's answer |",
        "| --- | --- | --- |",
        ...lost.slice(0, MOST_LOST).map((item) => `| ${cell(item.id)} | ${cell(item.stable)} | ${cell(item.canary)} |`),
        ...(lost.length > MOST_LOST ? ["", `And ${lost.length - MOST_LOST} more (the JSON report lists all).`] : []),
    ];
}

/** A rate's counts in a version's window, by id: `errors`, `slow`, or a gate's. */
const countsOf = (v: VersionSample, id: string) =>
    id === "errors"
        ? { events: v.errors, requests: v.requests }
        : id === "slow"
          ? { events: v.slow, requests: v.requests }
          : (v.gates?.[id] ?? { events: 0, requests: 0 });

/** The budget's promises beside what was observed over the judged steps (below 100%): each rate of both versions, and the canary's over stable's. */
function promisesSection(promises: Promised[], result: RolloutResult): string[] {
    const judged = result.samples.filter((s) => s.weight < 100);
    const [canary, stable] = [sumOf(judged, "canary"), sumOf(judged, "stable")];
    const rows = promises.map((p) => {
        const [c, s] = [countsOf(canary, p.id), countsOf(stable, p.id)];
        const ratio = c.requests > 0 && s.requests > 0 && s.events > 0 ? `${(c.events / c.requests / (s.events / s.requests)).toFixed(2)}x` : "-";
        const at = p.measure === "rate" ? (p.factor * p.stableRate).toFixed(1) : pct(100 * Math.min(1, p.factor * p.stableRate));
        return `| ${p.name} | ${p.factor}x stable's (${at}) | ${rateText(p.measure, c)} (${c.events}/${c.requests}) | ${rateText(p.measure, s)} (${s.events}/${s.requests}) | ${ratio} |`;
    });
    return [
        "",
        "## Promises and what was observed",
        "",
        "What the budget promised before the first step (a canary at least as bad as a promise is promoted at most `missRate` of the time), beside each rate over the steps below 100%. " +
            "The observed ratio is a point estimate; the verdict is the sequential tests'.",
        "",
        "| rate | promised to catch | canary | stable | canary over stable |",
        "| --- | --- | --- | --- | --- |",
        ...rows,
    ];
}

/** The callers' 5xx beside the steps: a hint for whoever reads the report, never part of the verdict. */
function callersSection(hint: CallersHint): string[] {
    const head = [
        "",
        "## Callers' 5xx (a hint, not a gate)",
        "",
        `The services on this platform whose \`calls\` name \`${hint.service}\`, from their stack files here: their own 5xx, both versions together, ` +
            "in the hour before the rollout and during each step. The rollout is judged on its own metrics only. A caller's 5xx that rise with the canary's weight " +
            "suggest the canary fails it in a way its own metrics do not show (an answer the caller cannot use). Minutes CloudWatch had not received when the report was written are missing.",
        "",
    ];
    const unreadable = hint.unreadable.map((why) => `- Not read: ${why}`);
    if (hint.callers.length === 0 && unreadable.length === 0) return [...head, `No stack file here on this platform calls \`${hint.service}\`.`];
    const table =
        hint.callers.length === 0
            ? []
            : [
                  `| caller | ${hint.windows.map((w) => w.label).join(" | ")} |`,
                  `| --- | ${hint.windows.map(() => "---").join(" | ")} |`,
                  ...hint.callers.map((row) => `| ${row.stack} (${row.service}) | ${row.counts.map(callerCell).join(" | ")} |`),
                  "",
              ];
    return [...head, ...table, ...unreadable];
}

/** What to do after each outcome, as an on-call engineer needs it first. */
export function nextStep(result: Pick<RolloutResult, "outcome" | "finalWeight">): string {
    const weight = result.finalWeight === undefined ? "where it was" : `at ${result.finalWeight}%`;
    switch (result.outcome) {
        case "promoted":
            return "Nothing to do: stable runs the canary's version and serves everything. Commit the stack file the rollout left; to ship the next version, set canary.image and run again.";
        case "rolled-back":
            return "Stable serves everything again. Read the failing step's samples below, fix the canary, set its new image, and run again; commit the stack file the rollout left.";
        case "held":
            return `Not enough traffic to decide either way; the weight stays ${weight}. Run again when there is traffic (it resumes from what is deployed), or abort to roll back.`;
        case "failed":
            return `The rollout stopped on an error with the weight ${weight}. Fix the cause named above, then run again (it resumes from what is deployed), or abort to roll back.`;
        case "interrupted":
            return `Stopped by a signal with the weight ${weight}. Run again to resume, or abort to roll back.`;
        case "paused":
            return `Stopped at --to-step with the weight ${weight}, as asked. Run again to continue.`;
        case "refused":
            return "Nothing was changed. Do what the reason above says, then run again.";
        case "nothing-to-do":
            return "Nothing to do: the canary runs what stable runs.";
    }
}

/** What `status` shows once a rollout has ended: its outcome, the images it began with, and what to do next. */
export function finalStatus(result: RolloutResult, context: ReportContext): string {
    const images = context.images ? `\nimages when it began: stable ${context.images.stable}, canary ${context.images.canary}` : "";
    return `${result.outcome}: canaryWeight ${result.finalWeight ?? "?"} deployed; ${result.reason}${images}\nnext: ${nextStep(result)}`;
}

export function renderMarkdown(result: RolloutResult, stackName: string, context: ReportContext = {}): string {
    const withGates = result.samples.some((s) => s.sample.versions.canary.gates !== undefined);
    const out: string[] = [
        `# Canary rollout of \`${stackName}\`: ${result.outcome}`,
        "",
        `**${result.reason}**`,
        "",
        `**Next step:** ${nextStep(result)}`,
        "",
        `Started ${new Date(result.startedAt).toISOString()}${context.owner ? ` by ${context.owner}` : ""}, took ${clockTime(result.endedAt - result.startedAt)} (min:s), exit code ${result.exitCode}` +
            `${result.finalWeight !== undefined ? `; canaryWeight ${result.finalWeight} deployed at the end` : ""}.`,
        ...(context.images
            ? [`Images: stable \`${context.images.stable}\`, canary \`${context.images.canary}\` (as the stack file had them when the rollout began).`]
            : []),
        ...(context.dashboardUrl ? [`Dashboard: ${context.dashboardUrl}`] : []),
        ...(context.preflight?.length
            ? [
                  "",
                  "## Before the first step",
                  "",
                  "How bursty each count was taken to be (a count whose variance is k times its mean under independence weighs 1/k as much in every test, so bursts from a few clients do not read as a regression), and, with a budget, what it promised:",
                  "",
                  ...context.preflight.map((line) => `- ${line.trim()}`),
              ]
            : []),
        "",
        "## Steps",
        "",
        "Counts are the sums of the step's samples below; the verdict is the sequential tests' at the step's end. " +
            "The canary's share is of the requests both versions served: it drifts above the weight when clients stick to the canary (`alb.stickiness`).",
        "",
        `| step | weight | canary share | baked (min:s) | canary requests | canary 5xx | canary slow | canary worst p99 | stable requests | stable 5xx | stable slow | ${withGates ? "model's gates: canary; stable | " : ""}verdict |`,
        `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ${withGates ? "--- | " : ""}--- |`,
    ];
    for (const step of result.steps) {
        const own = result.samples.filter((s) => s.step === step.index && s.weight === step.weight && s.at >= step.startedAt);
        const canary = sumOf(own, "canary");
        const stable = sumOf(own, "stable");
        out.push(
            `| ${step.index || "resumed"} | ${step.weight}% | ${share(canary, stable)} | ${clockTime((step.endedAt ?? result.endedAt) - step.startedAt)} | ${canary.requests} | ` +
                `${canary.errors} (${pct(errorRate(canary))}) | ${canary.slow} | ${secs(canary.p99Ms)} | ${stable.requests} | ${stable.errors} (${pct(errorRate(stable))}) | ${stable.slow} | ` +
                `${withGates ? `${gatesText(canary).slice(2) || "-"}; ${gatesText(stable).slice(2) || "-"} | ` : ""}${verdictText(step.verdict)} |`,
        );
    }
    out.push(...pairedSection(result));
    if (context.promises?.length) out.push(...promisesSection(context.promises, result));
    if (context.goldenLost) out.push(...goldenSection(context.goldenLost));
    if (context.callers) out.push(...callersSection(context.callers));
    if (result.samples.length > 0) {
        const tests = result.samples[0].evidence.map((e) => e.test);
        out.push(
            "",
            "## Samples",
            "",
            "Each sample covers the whole minutes (UTC) that became complete since the one before: every minute from the first step on is judged once. Evidence is each test's e-value against its threshold: the canary fails when one reaches it. A minute judged at `metricsMaxLagSeconds` with what had arrived is marked late.",
            "",
            `| time (min:s) | minutes | step | weight | canary req / 5xx / slow | stable req / 5xx / slow | ${tests.map((t) => `evidence: ${t}`).join(" | ")} | verdict |`,
            `| --- | --- | --- | --- | --- | --- | ${tests.map(() => "---").join(" | ")} | --- |`,
            ...result.samples.map((s) => {
                const v = (x: VersionSample) => `${x.requests} / ${x.errors} / ${x.slow}`;
                const evidence = s.evidence.map((e) => `${e.evidence.toPrecision(3)} of ${e.threshold.toFixed(0)}`);
                const minutes = `${utcMinute(s.sample.window.start)}-${utcMinute(s.sample.window.end)}${s.late ? ` (${s.late} late)` : ""}`;
                return `| ${clockTime(s.at - result.startedAt)} | ${minutes} | ${s.step || "resumed"} | ${s.weight}% | ${v(s.sample.versions.canary)} | ${v(s.sample.versions.stable)} | ${evidence.join(" | ")} | ${verdictText(s.verdict)} |`;
            }),
            "",
            "## Over time",
            "",
            chart("Canary weight (percent of requests)", result, "percent", [["canary weight", (s) => s.weight]]),
            "",
            chart("5xx rate (percent of each version's requests)", result, "percent", [
                ["canary", (s) => percentOf(s.sample.versions.canary, s.sample.versions.canary.errors)],
                ["stable", (s) => percentOf(s.sample.versions.stable, s.sample.versions.stable.errors)],
            ]),
            "",
            chart("Slow requests (percent of each version's requests)", result, "percent", [
                ["canary", (s) => percentOf(s.sample.versions.canary, s.sample.versions.canary.slow)],
                ["stable", (s) => percentOf(s.sample.versions.stable, s.sample.versions.stable.slow)],
            ]),
            "",
            chart("p99 request time of each sample (seconds)", result, "seconds", [
                ["canary", (s) => (s.sample.versions.canary.p99Ms === undefined ? undefined : s.sample.versions.canary.p99Ms / 1000)],
                ["stable", (s) => (s.sample.versions.stable.p99Ms === undefined ? undefined : s.sample.versions.stable.p99Ms / 1000)],
            ]),
        );
    }
    out.push("", "## Events", "", ...result.events.map((e) => `- ${clockTime(e.at - result.startedAt)} ${e.message}`), "");
    return out.join("\n");
}

export function renderJson(result: RolloutResult, stackName: string, context: ReportContext = {}): string {
    return JSON.stringify({ stack: stackName, ...context, nextStep: nextStep(result), ...result }, null, 2);
}
