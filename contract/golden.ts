/**
 * The golden set and its scorers (`evaluation.goldenSet`, `evaluation.scorer`): what the stack
 * accepts at program start, and what the rollout reads before its first step and scores each
 * answer with. Shared by both, so a scorer the program accepts is the one the rollout runs.
 *
 * A golden set is JSON lines: each line an object with an `id`, the `request` (an object is sent
 * as JSON, OpenAI-compatible or not; a string is sent as it is) and what is `expected`.
 */
import Ajv from "ajv";
import { z } from "zod";
import { boolean, decimal, field, fromJsonText, matching, oneOf, rule, section } from "./fields";

/** The runner's limit per invocation (Lambda's most), and the items it has in flight at once. */
export const RUNNER_TIMEOUT_SECONDS = 900;
export const RUNNER_CONCURRENCY = 4;
/** The most items one invocation answers: its response (each answer up to 64 KiB per version) stays under Lambda's 6 MB. */
const MOST_ITEMS_PER_BATCH = 32;
/** The most pairs a second the runner sends during the steps: a minute's answers, 12 KiB each, stay under Lambda's 6 MB response. */
export const MOST_PAIRS_PER_SECOND = 3;

/** Items per invocation: as many rounds of `RUNNER_CONCURRENCY` as fit in the runner's time if every request took `requestTimeoutSeconds`, a minute spare. */
export function batchSize(requestTimeoutSeconds: number): number {
    const rounds = Math.max(1, Math.floor((RUNNER_TIMEOUT_SECONDS - 60) / requestTimeoutSeconds));
    return Math.min(MOST_ITEMS_PER_BATCH, rounds * RUNNER_CONCURRENCY);
}

const SCORER_KINDS = ["exact", "contains", "regex", "json", "number", "judge"] as const;

/** What a judge model is asked of each pair when `scorer.criteria` is unset. */
export const DEFAULT_CRITERIA = "Which answer serves the user's request better: correct, complete, and no longer than it needs to be?";

type Compiled = { validate: (value: unknown) => boolean } | { problem: string };
/** Each schema compiled once: a rollout scores every answer with the same one. */
const compiled = new WeakMap<object, Compiled>();

/** Compiles a JSON Schema, or says why it cannot be. */
function compiledSchema(schema: object): Compiled {
    if (!compiled.has(schema)) {
        try {
            const validate = new Ajv({ strict: false }).compile(schema);
            compiled.set(schema, { validate: (value) => validate(value) as boolean });
        } catch (error) {
            compiled.set(schema, { problem: (error as Error).message });
        }
    }
    return compiled.get(schema)!;
}

/** A regular expression, or why it is not one. */
function compiledPattern(pattern: string): RegExp | { problem: string } {
    try {
        return new RegExp(pattern);
    } catch (error) {
        return { problem: (error as Error).message };
    }
}

export const scorerSection = section(
    {
        kind: oneOf(SCORER_KINDS)
            .default("exact")
            .describe(
                "How an answer passes: `exact` (the whole answer, trimmed, is `expected`), `contains` (it contains `expected`), `regex` (it matches `pattern`), " +
                    "`json` (it parses as JSON, and fits `schema` when set), `number` (its first number is within `tolerance` of `expected`), " +
                    "`judge` (a judge model on Amazon Bedrock compares both versions' answers, in random order; `expected` may be null).",
            ),
        caseSensitive: boolean().default(true).describe("For `exact` and `contains`: whether case counts."),
        pattern: field("a regular expression (JavaScript syntax)", (raw) => (typeof raw === "string" && raw.length > 0 ? raw : undefined))
            .optional()
            .describe("For `regex`: the pattern every passing answer matches."),
        schema: field("a JSON Schema, as an object", (raw) => {
            const value = fromJsonText(raw);
            return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as object) : undefined;
        })
            .optional()
            .describe("For `json`: a JSON Schema every passing answer fits."),
        tolerance: decimal(0, 1e12).default(0).describe("For `number`: how far from `expected` a passing answer's number may be."),
        model: matching(/^[a-z0-9][\w.:/-]{2,200}$/, 'a Bedrock model or inference profile id, e.g. "us.anthropic.claude-3-5-haiku-20241022-v1:0"')
            .optional()
            .describe("For `judge`: the model that compares the answers, by its Bedrock model id or inference profile id, in the stack's Region."),
        criteria: field("a question of at most 1,000 characters", (raw) => (typeof raw === "string" && raw.length > 0 && raw.length <= 1000 ? raw : undefined))
            .default(DEFAULT_CRITERIA)
            .describe("For `judge`: what the judge model is asked of each pair."),
    },
    {
        rules: [
            rule<{ kind: string; pattern?: string }>(["kind", "pattern"], "a `regex` scorer has a `pattern` that compiles", (s, report) => {
                if (s.kind !== "regex") return;
                if (s.pattern === undefined) return report("pattern", undefined, 'a regular expression, required by kind "regex"');
                const pattern = compiledPattern(s.pattern);
                if ("problem" in pattern) report("pattern", s.pattern, `a regular expression that compiles (${pattern.problem})`);
            }),
            rule<{ kind: string; model?: string }>(["kind", "model"], "a `judge` scorer names its `model`", (s, report) => {
                if (s.kind === "judge" && s.model === undefined)
                    report("model", undefined, 'a Bedrock model or inference profile id, required by kind "judge"');
            }),
            rule<{ schema?: object }>(["schema"], "a `json` scorer's `schema` compiles", (s, report) => {
                if (s.schema === undefined) return;
                const schema = compiledSchema(s.schema);
                if ("problem" in schema) report("schema", s.schema, `a JSON Schema that compiles (${schema.problem})`);
            }),
        ],
    },
);
export type Scorer = z.output<typeof scorerSection>;

/** One item of a golden set. */
export interface GoldenItem {
    id: string;
    request: object | string;
    expected: unknown;
}

/** One line of a golden set as an item, or what is wrong with it; `seen` gives each id's line so far. */
function readItem(line: string, seen: Map<string, number>): GoldenItem | { problem: string } {
    let value: unknown;
    try {
        value = JSON.parse(line);
    } catch {
        return { problem: "not a JSON object (a golden set is JSON lines, one item per line)" };
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { problem: "not a JSON object" };
    const item = value as Record<string, unknown>;
    const missing = ["id", "request", "expected"].filter((key) => !(key in item));
    if (missing.length > 0) return { problem: `no field ${missing.map((k) => `"${k}"`).join(", ")}` };
    if (typeof item.id !== "string" || item.id === "") return { problem: 'field "id" is not a non-empty string' };
    if (typeof item.request !== "string" && (typeof item.request !== "object" || item.request === null))
        return { problem: 'field "request" is neither an object (sent as JSON) nor a string (sent as it is)' };
    const first = seen.get(item.id);
    if (first !== undefined) return { problem: `id "${item.id}" is line ${first}'s too` };
    return { id: item.id, request: item.request as object | string, expected: item.expected };
}

/**
 * A golden set's text, as its items or every problem, each naming its line and field: not JSON
 * lines, a line without a field, an id used twice, no item at all.
 */
export function parseGoldenSet(text: string): { items: GoldenItem[] } | { problems: string[] } {
    const problems: string[] = [];
    const items: GoldenItem[] = [];
    const seen = new Map<string, number>();
    text.split("\n").forEach((line, i) => {
        if (line.trim() === "") return;
        const read = readItem(line, seen);
        if ("problem" in read) problems.push(`line ${i + 1}: ${read.problem}`);
        else {
            seen.set(read.id, i + 1);
            items.push(read);
        }
    });
    if (problems.length === 0 && items.length === 0) problems.push("no item: the golden set is empty");
    return problems.length > 0 ? { problems } : { items };
}

/** A file of recorded requests (`rollout load --file`): JSON lines, each with a `request` (an `id` is kept when there is one); or every problem by line. */
export function parseRequests(text: string): { items: GoldenItem[] } | { problems: string[] } {
    const problems: string[] = [];
    const items: GoldenItem[] = [];
    text.split("\n").forEach((line, i) => {
        if (line.trim() === "") return;
        let value: unknown;
        try {
            value = JSON.parse(line);
        } catch {
            return void problems.push(`line ${i + 1}: not a JSON object (a request file is JSON lines, one request per line)`);
        }
        const request = (value as { request?: unknown } | null)?.request;
        if (typeof request !== "string" && (typeof request !== "object" || request === null))
            return void problems.push(`line ${i + 1}: no field "request" (an object sent as JSON, or a string sent as it is)`);
        const id = (value as { id?: unknown }).id;
        items.push({ id: typeof id === "string" ? id : `line-${i + 1}`, request, expected: null });
    });
    if (problems.length === 0 && items.length === 0) problems.push("no request: the file is empty");
    return problems.length > 0 ? { problems } : { items };
}

/** The prompt a judge model is shown: an OpenAI-compatible request's last user message, or the raw request. */
export function promptOf(request: object | string): string {
    if (typeof request === "string") return request;
    const messages = (request as { messages?: { role?: string; content?: unknown }[] }).messages ?? [];
    const last = [...messages].reverse().find((m) => m.role === "user");
    return typeof last?.content === "string" ? last.content : JSON.stringify(request);
}

type Choice = { message?: { content?: unknown }; delta?: { content?: unknown }; text?: unknown };
const firstChoice = (json: string) => (JSON.parse(json) as { choices?: Choice[] }).choices?.[0];

/**
 * The answer's text in a response body: an OpenAI-compatible chat or completion's first
 * choice; a streamed one's (server-sent events) pieces joined; or else the whole body.
 */
export function answerText(body: string): string {
    const start = body.trimStart();
    try {
        if (start.startsWith("data:")) {
            const pieces = start
                .split("\n")
                .filter((line) => line.startsWith("data:") && line.slice(5).trim() !== "[DONE]")
                .map((line) => {
                    const choice = firstChoice(line.slice(5));
                    return choice?.delta?.content ?? choice?.text;
                });
            if (pieces.some((p) => typeof p === "string")) return pieces.filter((p) => typeof p === "string").join("");
        } else if (start.startsWith("{")) {
            const choice = firstChoice(start);
            const text = choice?.message?.content ?? choice?.text;
            if (typeof text === "string") return text;
        }
    } catch {
        // Not the JSON it looked like: a raw server's answer is its body.
    }
    return body;
}

/** Whether an answer passes the scorer for an item's expected value. */
export function passes(scorer: Scorer, answer: string, expected: unknown): boolean {
    const fold = (s: string) => (scorer.caseSensitive ? s : s.toLowerCase());
    switch (scorer.kind) {
        case "exact":
            return fold(answer.trim()) === fold(String(expected).trim());
        case "contains":
            return fold(answer).includes(fold(String(expected)));
        case "regex":
            return new RegExp(scorer.pattern!).test(answer);
        case "json": {
            let value: unknown;
            try {
                value = JSON.parse(answer);
            } catch {
                return false;
            }
            if (scorer.schema === undefined) return true;
            const schema = compiledSchema(scorer.schema);
            return "validate" in schema && schema.validate(value);
        }
        case "judge":
            throw new Error("a judge scorer compares both answers at once, not one (rollout/core/golden.ts)");
        case "number": {
            const found = /-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(answer.replace(/(\d),(?=\d{3}\b)/g, "$1"));
            return found !== null && Math.abs(Number(found[0]) - Number(expected)) <= scorer.tolerance;
        }
    }
}
