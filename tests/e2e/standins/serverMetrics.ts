/**
 * The model server's metrics as the stand-in CloudWatch holds them: what the collector the
 * stack deployed makes of a vLLM server's cumulative series, no kinder. Each version runs two
 * tasks, each serving half its requests since the version was deployed; the server keeps
 * cumulative counts (a restart of the first task's server, `Traffic.serverRestartAt`, starts
 * them again under the running collector); the collector scrapes every `intervalSeconds` and
 * turns into deltas what its deployed `cumulativetodelta` lists, as that processor does
 * (`tests/harness/collector.ts`); what it does not list stays as `awsemf` writes it (a
 * histogram's count and sum since the start, a counter's own deltas). CloudWatch then adds up
 * every point of a minute from both tasks. The values are the traffic model's expected
 * counts, like the rest of the stand-in's.
 */
import { deltas, Scrape } from "../../harness/collector";
import { StackState, Traffic, weightAt } from "./world";

interface Collector {
    intervalMs: number;
    /** CloudWatch names the collector turns into deltas. */
    toDelta: Set<string>;
    /** Each name's dimension sets beyond the version, as its metric declarations give them. */
    declared: Map<string, string[][]>;
    /** Each within-bound series' bound, as the bounds scrape labels it. */
    bounds: Map<string, string>;
}

/** The collector configuration the version's task definition carries (its `AOT_CONFIG_CONTENT`). */
function collectorOf(state: StackState, version: string): Collector | undefined {
    const taskDef = state.resources.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name.endsWith(`-${version}`));
    const containers = JSON.parse(String(taskDef?.inputs.containerDefinitions ?? "[]")) as { name: string; environment?: { name: string; value: string }[] }[];
    const content = containers.find((c) => c.name === "metrics")?.environment?.find((e) => e.name === "AOT_CONFIG_CONTENT")?.value;
    if (!content) return undefined;
    const config = JSON.parse(content);
    const processors = Object.entries(config.processors as Record<string, { include?: { metrics: string[] } }>);
    const toDelta = new Set(processors.filter(([name]) => name.startsWith("cumulativetodelta")).flatMap(([, p]) => p.include?.metrics ?? []));
    const declared = new Map<string, string[][]>();
    for (const d of config.exporters.awsemf.metric_declarations as { dimensions: string[][]; metric_name_selectors: string[] }[]) {
        for (const selector of d.metric_name_selectors) {
            const name = selector.replace(/^\^/, "");
            declared.set(name, [...(declared.get(name) ?? []), ...d.dimensions]);
        }
    }
    const bounds = new Map<string, string>();
    const boundsJob = config.receivers["prometheus/bounds"]?.config.scrape_configs[0];
    const renames = config.processors["metricstransform/bounds"]?.transforms ?? [];
    for (const rule of boundsJob?.metric_relabel_configs ?? []) {
        if (rule.target_label !== "Bound") continue;
        const series = String(rule.regex).split("_bucket;")[0].replace(/\\/g, "");
        const rename = renames.find((t: { include: string }) => t.include === series);
        if (rename) bounds.set(rename.new_name, rule.replacement);
    }
    const intervalMs = Number(String(config.receivers.prometheus.config.scrape_configs[0].scrape_interval).replace(/s$/, "")) * 1000;
    return { intervalMs, toDelta, declared, bounds };
}

/** What one of a version's two tasks has counted since its server started, scraped every interval up to `until`. */
function scrapes(state: StackState, version: "stable" | "canary", task: number, from: number, until: number, interval: number, traffic: Traffic) {
    const behaviour = traffic[version].server!;
    const series = { ttft: [] as Scrape[], within: [] as Scrape[], answers: [] as Scrape[], cutOff: [] as Scrape[], tokens: [] as Scrape[] };
    let n = 0;
    let ttft = 0;
    let within = 0;
    let cutOff = 0;
    let tokens = 0;
    for (let t = from; t <= until; t += 1000) {
        if (task === 0 && traffic.serverRestartAt !== undefined && t === Math.floor(traffic.serverRestartAt / 1000) * 1000)
            n = ttft = within = cutOff = tokens = 0;
        const w = weightAt(state, t);
        const served = (traffic.requestsPerSecond * (version === "canary" ? w : 100 - w)) / 100 / 2;
        const mean = behaviour.slowerFrom && t >= behaviour.slowerFrom.at ? behaviour.slowerFrom.ttftSeconds : behaviour.ttftSeconds;
        n += served;
        ttft += served * mean;
        within += served * (1 - behaviour.aboveBoundShare);
        cutOff += served * behaviour.cutOffShare;
        tokens += served * behaviour.tokensPerAnswer;
        if ((t - from) % interval === interval - 1000) {
            series.ttft.push({ at: t, count: n, sum: ttft });
            series.within.push({ at: t, count: within, sum: 0 });
            series.answers.push({ at: t, count: n, sum: 0 });
            series.cutOff.push({ at: t, count: cutOff, sum: 0 });
            series.tokens.push({ at: t, count: tokens, sum: 0 });
        }
    }
    return series;
}

/** As the exporter writes a series the collector left cumulative: a histogram as it is, a counter in its own deltas (first point dropped, a fall written as the new value). */
function asExported(points: Scrape[], kind: "histogram" | "counter", delta: boolean): Scrape[] {
    if (delta) return deltas(points, kind);
    if (kind === "histogram") return points;
    return points.slice(1).map((p, i) => (p.count >= points[i].count ? { at: p.at, count: p.count - points[i].count, sum: 0 } : p));
}

/**
 * A minute's statistic of one server series, per period bucket in [start, end), or undefined
 * when the stack exports no such series. Statistic sets (histograms) answer `SampleCount`,
 * `Sum` and `Average`; values (counters) `Sum`, `SampleCount` (their number) and `Average`.
 */
export function serverSeries(
    state: StackState,
    version: "stable" | "canary",
    metricName: string,
    dimensions: Record<string, string>,
    stat: string,
    bucket: { start: number; end: number; period: number; arrivedUntil: number },
    traffic: Traffic,
): { timestamps: number[]; values: number[] } | undefined {
    const collector = collectorOf(state, version);
    if (!collector || !traffic[version].server) return undefined;
    const extra = Object.keys(dimensions).filter((d) => d !== "Version");
    if (!(collector.declared.get(metricName) ?? []).some((set) => set.length === extra.length + 1 && extra.every((d) => set.includes(d)))) return undefined;
    const deployed = state.deployments[String((state.outputs as Record<string, unknown>)[`${version}ServiceName`])]?.at(-1)?.at ?? 0;
    const from = Math.ceil(deployed / 1000) * 1000;
    const until = Math.min(bucket.end, bucket.arrivedUntil);
    const pick = (s: ReturnType<typeof scrapes>): [Scrape[], "histogram" | "counter"] | undefined => {
        if (metricName === "TimeToFirstToken") return [s.ttft, "histogram"];
        if (metricName.endsWith("Within") && collector.bounds.get(metricName) === dimensions.Bound) return [s.within, "histogram"];
        if (metricName === "GeneratedTokens") return [s.tokens, "counter"];
        if (metricName === "Answers")
            return dimensions.FinishReason === undefined ? [s.answers, "counter"] : dimensions.FinishReason === "length" ? [s.cutOff, "counter"] : undefined;
        return undefined;
    };
    const points: Scrape[] = [];
    let kind: "histogram" | "counter" = "histogram";
    for (const task of [0, 1]) {
        const picked = pick(scrapes(state, version, task, from, until, collector.intervalMs, traffic));
        if (!picked) return { timestamps: [], values: [] };
        kind = picked[1];
        points.push(...asExported(picked[0], kind, collector.toDelta.has(metricName)));
    }
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let b = bucket.start; b < bucket.end; b += bucket.period) {
        const inside = points.filter((p) => p.at >= b && p.at < b + bucket.period && p.at < bucket.arrivedUntil);
        if (inside.length === 0) continue;
        const count = inside.reduce((s, p) => s + p.count, 0);
        const sum = inside.reduce((s, p) => s + p.sum, 0);
        const value =
            kind === "histogram"
                ? { SampleCount: count, Sum: sum, Average: sum / count }[stat]
                : { Sum: count, SampleCount: inside.length, Average: count / inside.length }[stat];
        if (value === undefined || Number.isNaN(value)) continue;
        timestamps.push(b / 1000);
        values.push(value);
    }
    return { timestamps, values };
}
