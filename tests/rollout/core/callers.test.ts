/**
 * A callee's rollout shows its callers' 5xx: who counts as a caller, which minutes each
 * window counts, and what the report and the console say, including a caller that cannot
 * be read.
 */
import { callerLines, callersOf, callerWindows, countWindows, readCallers, RawConfig } from "../../../rollout/core/callers";
import { renderJson, renderMarkdown } from "../../../rollout/core/report";
import type { RolloutResult } from "../../../rollout/core/result";
import type { MetricsSource, MinuteSample } from "../../../rollout/core/ports";
import { stackFileConfigs } from "../../../rollout/adapters/stackFiles";
import { ROOT } from "../../harness/stacks";

const RAG = "organization/ai-inference-platform/rag";
const M = 60_000;
const T0 = Date.UTC(2026, 11, 4, 10, 0);

describe("callersOf", () => {
    const stacks: Record<string, RawConfig> = {
        "rag-gateway": { platform: RAG, serviceName: "gateway", calls: '["embedder","reranker"]' },
        "rag-search": { platform: RAG, calls: '["embedder"]' },
        "rag-reranker": { platform: RAG, serviceName: "reranker", calls: '["llm"]' },
        "rag-llm": { platform: RAG, serviceName: "llm" },
        "other-gateway": { platform: "organization/ai-inference-platform/other", serviceName: "gateway", calls: '["embedder"]' },
        standalone: { serviceName: "gateway" },
        broken: { platform: RAG, calls: "embedder" },
    };
    test.each([
        [
            "embedder",
            [
                { stack: "rag-gateway", service: "gateway" },
                { stack: "rag-search", service: "inference" },
            ],
        ],
        ["reranker", [{ stack: "rag-gateway", service: "gateway" }]],
        ["llm", [{ stack: "rag-reranker", service: "reranker" }]],
        ["gateway", []],
    ])("%s is called by %j: same platform, named in calls; another platform's or a malformed list is not", (service, expected) => {
        expect(callersOf(RAG, service, stacks)).toEqual(expected);
    });
});

const step = (index: number, weight: number, startMin: number, endMin?: number) => ({
    index,
    weight,
    startedAt: T0 + startMin * M + 12_000,
    ...(endMin !== undefined ? { endedAt: T0 + endMin * M + 40_000 } : {}),
});

describe("callerWindows", () => {
    test("the hour before, then each step in whole minutes, each minute in the window it began in", () => {
        const result = { startedAt: T0 + 5_000, endedAt: T0 + 14 * M + 3_000, steps: [step(1, 10, 0, 5), step(2, 50, 5, 11), step(3, 100, 11)] };
        expect(callerWindows(result)).toEqual([
            { label: "the hour before", start: T0 - 60 * M, end: T0 },
            { label: "step 1 (10%)", start: T0, end: T0 + 5 * M },
            { label: "step 2 (50%)", start: T0 + 5 * M, end: T0 + 11 * M },
            { label: "step 3 (100%)", start: T0 + 11 * M, end: T0 + 14 * M },
        ]);
    });

    test("a resumed step is labelled so; one shorter than a minute counts none", () => {
        const windows = callerWindows({ startedAt: T0, endedAt: T0 + 50_000, steps: [{ index: 0, weight: 25, startedAt: T0 + 1_000, endedAt: T0 + 50_000 }] });
        expect(windows[1]).toEqual({ label: "step resumed (25%)", start: T0, end: T0 });
    });
});

const minute = (offset: number, stable?: [number, number], canary?: [number, number]): MinuteSample => ({
    start: T0 + offset * M,
    versions: {
        stable: stable && { requests: stable[0], errors: stable[1], slow: 0 },
        canary: canary && { requests: canary[0], errors: canary[1], slow: 0 },
    },
});

describe("countWindows", () => {
    test("sums both versions over each window's minutes; a window without data has none", () => {
        const minutes = [minute(-2, [100, 1]), minute(-1, [100, 0]), minute(0, [90, 1], [10, 2]), minute(1, [90, 0], [10, 3]), minute(2, undefined, undefined)];
        expect(
            countWindows(minutes, [
                { start: T0 - 60 * M, end: T0 },
                { start: T0, end: T0 + 2 * M },
                { start: T0 + 2 * M, end: T0 + 3 * M },
            ]),
        ).toEqual([{ requests: 200, errors: 1 }, { requests: 200, errors: 6 }, undefined]);
    });
});

/** A finished rollout of the embedder: two steps, rolled back. */
const RESULT: RolloutResult = {
    outcome: "rolled-back",
    reason: "canary 5xx rate above stable's",
    exitCode: 1,
    startedAt: T0,
    endedAt: T0 + 6 * M,
    finalWeight: 0,
    steps: [step(1, 10, 0, 3), step(2, 50, 3, 6)],
    samples: [],
    events: [],
};

/** A caller's CloudWatch: 1,000 requests a minute, with `errorsPerMinute(t)` 5xx, stable alone. */
const source = (errorsPerMinute: (start: number) => number): MetricsSource => ({
    minutes: async ({ start, end }) =>
        Array.from({ length: (end - start) / M }, (_, i) => start + i * M).map((t) => minute((t - T0) / M, [1000, errorsPerMinute(t)])),
    firingAlarms: async () => [],
});

describe("readCallers", () => {
    const stacks: Record<string, RawConfig> = {
        "rag-embedder": { platform: RAG, serviceName: "embedder" },
        "rag-gateway": { platform: RAG, serviceName: "gateway", calls: '["embedder"]' },
        "rag-search": { platform: RAG, serviceName: "search", calls: '["embedder"]' },
    };
    const self = { platform: RAG, service: "embedder", stack: "rag-embedder" };

    test("reads each caller over the hour before and each step; an unreadable caller is named, not fatal", async () => {
        const read: string[] = [];
        const hint = await readCallers(self, RESULT, {
            stackConfigs: () => stacks,
            metricsOf: async (stack) => {
                read.push(stack);
                if (stack === "rag-search") throw new Error("stack rag-search does not exist here");
                return source((t) => (t >= T0 + 3 * M ? 30 : t >= T0 ? 10 : 2));
            },
        });
        expect(read).toEqual(["rag-gateway", "rag-search"]);
        expect(hint.callers).toEqual([
            {
                stack: "rag-gateway",
                service: "gateway",
                counts: [
                    { requests: 60_000, errors: 120 },
                    { requests: 3000, errors: 30 },
                    { requests: 3000, errors: 90 },
                ],
            },
        ]);
        expect(hint.unreadable).toEqual(["rag-search: stack rag-search does not exist here"]);
        expect(callerLines(hint)).toEqual([
            "caller rag-gateway (gateway): 5xx 2.00% (120/6000) during the rollout, 0.20% (120/60000) the hour before (a hint, not a gate)",
            "caller rag-search: stack rag-search does not exist here (its 5xx are left out of the report)",
        ]);

        const md = renderMarkdown(RESULT, "rag-embedder", { callers: hint });
        expect(md).toContain("## Callers' 5xx (a hint, not a gate)");
        expect(md).toContain("| caller | the hour before | step 1 (10%) | step 2 (50%) |");
        expect(md).toContain("| rag-gateway (gateway) | 0.20% (120/60000) | 1.00% (30/3000) | 3.00% (90/3000) |");
        expect(md).toContain("- Not read: rag-search: stack rag-search does not exist here");
        // The section sits beside the steps, before the samples.
        expect(md.indexOf("## Callers' 5xx")).toBeGreaterThan(md.indexOf("## Steps"));
        expect(JSON.parse(renderJson(RESULT, "rag-embedder", { callers: hint })).callers.callers[0].counts[2]).toEqual({ requests: 3000, errors: 90 });
    });

    test("with no caller on the platform, the report and the console say so", async () => {
        const hint = await readCallers({ ...self, service: "gateway", stack: "rag-gateway" }, RESULT, {
            stackConfigs: () => stacks,
            metricsOf: async () => source(() => 0),
        });
        expect(hint.callers).toEqual([]);
        expect(callerLines(hint)).toEqual(["callers: no stack file here on this platform calls gateway"]);
        expect(renderMarkdown(RESULT, "rag-gateway", { callers: hint })).toContain("No stack file here on this platform calls `gateway`.");
    });
});

describe("the committed RAG example, as the rollout reads its stack files", () => {
    const stacks = stackFileConfigs(ROOT);
    test.each(["embedder", "reranker", "llm"])("%s's callers: the gateway", (service) => {
        expect(callersOf(RAG, service, stacks)).toEqual([{ stack: "rag-gateway", service: "gateway" }]);
    });
    test("structured values read as the CLI gives them (JSON), scalars as strings", () => {
        expect(stacks["rag-gateway"]).toMatchObject({ platform: RAG, serviceName: "gateway", calls: '["embedder","reranker","llm"]', port: "8000" });
        expect(JSON.parse(stacks["rag-gateway"].stable).image).toMatch(/rag-gateway:1\.0\.0$/);
    });
});
