/**
 * The golden set (`contract/golden.ts`, `rollout/core/golden.ts`): a set's lines read or refused
 * by line and field, each scorer as a table, the answers' text, the batches, the seeded order,
 * and the comparison run at an evaluation moment, in the engine too.
 */
import { answerText, batchSize, GoldenItem, parseGoldenSet, passes, scorerSection } from "../../../contract/golden";
import { GoldenComparison, seededOrder } from "../../../rollout/core/golden";
import { RunnerAnswer, RunnerPort } from "../../../rollout/core/ports";
import { SIMULATED_SETTINGS } from "../../../rollout/simulator/golden";
import { deployedAt, GOOD, setup } from "../../harness/fakeRollout";
import { VirtualClock } from "../../../rollout/simulator/world";

describe("a golden set's text", () => {
    test("JSON lines become items: an id, the request (an object or a string) and what is expected; blank lines are skipped", () => {
        const text = ['{"id":"a","request":{"messages":[]},"expected":"Paris"}', "", '{"id":"b","request":"raw text","expected":42}', ""].join("\n");
        expect(parseGoldenSet(text)).toEqual({
            items: [
                { id: "a", request: { messages: [] }, expected: "Paris" },
                { id: "b", request: "raw text", expected: 42 },
            ],
        });
    });

    test.each([
        ["", ["no item: the golden set is empty"]],
        ["not json", ["line 1: not a JSON object (a golden set is JSON lines, one item per line)"]],
        ['["a"]', ["line 1: not a JSON object"]],
        ['{"id":"a","request":{}}', ['line 1: no field "expected"']],
        ['{"request":{}}', ['line 1: no field "id", "expected"']],
        ['{"id":"","request":{},"expected":1}', ['line 1: field "id" is not a non-empty string']],
        ['{"id":"a","request":7,"expected":1}', ['line 1: field "request" is neither an object (sent as JSON) nor a string (sent as it is)']],
        ['{"id":"a","request":{},"expected":1}\n{"id":"a","request":{},"expected":2}', ['line 2: id "a" is line 1\'s too']],
        [
            '{"id":"a","request":{},"expected":1}\nnope\n{"id":"c"}',
            ["line 2: not a JSON object (a golden set is JSON lines, one item per line)", 'line 3: no field "request", "expected"'],
        ],
    ])("%j is refused, every problem naming its line and field", (text, problems) => {
        expect(parseGoldenSet(text)).toEqual({ problems });
    });
});

describe("the scorers", () => {
    const scorer = (raw: object) => scorerSection.parse(raw);
    test.each([
        [{ kind: "exact" }, " Paris \n", "Paris", true],
        [{ kind: "exact" }, "paris", "Paris", false],
        [{ kind: "exact", caseSensitive: false }, "paris", "Paris", true],
        [{ kind: "contains" }, "The capital is Paris.", "Paris", true],
        [{ kind: "contains" }, "The capital is paris.", "Paris", false],
        [{ kind: "contains", caseSensitive: false }, "The capital is paris.", "Paris", true],
        [{ kind: "regex", pattern: "^\\d{4}-\\d{2}-\\d{2}$" }, "2026-12-07", null, true],
        [{ kind: "regex", pattern: "^\\d{4}-\\d{2}-\\d{2}$" }, "7 Dec 2026", null, false],
        [{ kind: "json" }, '{"a":1}', null, true],
        [{ kind: "json" }, "{a:1}", null, false],
        [{ kind: "json", schema: { type: "object", required: ["name"] } }, '{"name":"x"}', null, true],
        [{ kind: "json", schema: { type: "object", required: ["name"] } }, '{"nom":"x"}', null, false],
        [{ kind: "number", tolerance: 0.01 }, "The answer is 3.14159.", 3.14, true],
        [{ kind: "number", tolerance: 0.001 }, "The answer is 3.14159.", 3.14, false],
        [{ kind: "number" }, "It costs 1,250 dollars", 1250, true],
        [{ kind: "number" }, "no number here", 1, false],
    ])("%j on %j (expected %j): %s", (raw, answer, expected, pass) => {
        expect(passes(scorer(raw), answer, expected)).toBe(pass);
    });
});

test("an answer's text: an OpenAI-compatible chat's or completion's first choice, or else the whole body", () => {
    expect(answerText(JSON.stringify({ choices: [{ message: { role: "assistant", content: "Paris" } }] }))).toBe("Paris");
    expect(answerText(JSON.stringify({ choices: [{ text: "Paris" }] }))).toBe("Paris");
    expect(answerText('{"embedding":[1,2]}')).toBe('{"embedding":[1,2]}');
    expect(answerText("plain")).toBe("plain");
    expect(
        answerText(
            'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\ndata: {"choices":[{"delta":{"content":"Par"}}]}\n\ndata: {"choices":[{"delta":{"content":"is"}}]}\n\ndata: [DONE]\n',
        ),
    ).toBe("Paris");
    expect(answerText('data: {"choices":[{"text":"Paris"}]}\n\ndata: [DONE]')).toBe("Paris");
    expect(answerText("data: not json")).toBe("data: not json");
});

test.each([
    [300, 8],
    [840, 4],
    [60, 32],
    [1, 32],
])("a batch for requests of up to %d s: %d items, as many rounds of 4 as fit in 840 s, at most 32", (timeout, size) => {
    expect(batchSize(timeout)).toBe(size);
});

test("the seeded order: a permutation, the same for the same seed, another for another", () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const order = seededOrder(items, 7);
    expect([...order].sort((a, b) => a - b)).toEqual(items);
    expect(seededOrder(items, 7)).toEqual(order);
    expect(seededOrder(items, 8)).not.toEqual(order);
});

/** A runner answering from per-item verdicts: "pass" or "fail" per version, or a status. */
class TableRunner implements RunnerPort {
    batches: number[] = [];
    constructor(private readonly table: (id: string) => [RunnerAnswer, RunnerAnswer]) {}
    async answer(items: GoldenItem[]) {
        this.batches.push(items.length);
        return items.map((item) => {
            const [stable, canary] = this.table(item.id);
            return { stable, canary };
        });
    }
}
const ok = (text: string): RunnerAnswer => ({ status: 200, ms: 900, body: JSON.stringify({ choices: [{ message: { content: text } }] }) });
const items = (n: number): GoldenItem[] => Array.from({ length: n }, (_, i) => ({ id: `q${i}`, request: { messages: [] }, expected: "pass" }));
const ERRORS = { alpha: 0.0033, missRate: 0.01 };
const COUNTING = { slowMs: 10_000, gates: [] };

describe("the comparison at an evaluation moment", () => {
    test("a canary that fails a quarter of what stable passes is rejected, in batches of the runner's size, each lost item with both answers", async () => {
        const runner = new TableRunner((id) => [ok("pass"), ok(Number(id.slice(1)) % 4 === 0 ? `fail: ${"x".repeat(300)}` : "pass")]);
        const comparison = new GoldenComparison(items(400), SIMULATED_SETTINGS, ERRORS);
        const found = await comparison.evaluate(runner);
        expect(found.verdict).toBe("rejected");
        expect(found.reason).toMatch(
            /^the canary loses more than 0 points of pass rate on the golden set: stable passed (\d+) of \1 golden items \(100\.0%\), the canary \d+/,
        );
        expect(runner.batches.every((n) => n === 8)).toBe(true);
        expect(comparison.lost.length).toBeGreaterThan(0);
        expect(comparison.lost[0]).toEqual({ id: expect.stringMatching(/^q\d+$/), stable: "pass", canary: expect.stringMatching(/^fail: x+…$/) });
        expect(comparison.lost[0].canary).toHaveLength(160);
    });

    test("a failed request is a failed item, said with its status", async () => {
        const runner = new TableRunner(() => [ok("pass"), { status: 503, ms: 10, body: "overloaded" }]);
        const comparison = new GoldenComparison(items(100), SIMULATED_SETTINGS, ERRORS);
        const found = await comparison.evaluate(runner);
        expect(found.verdict).toBe("rejected");
        expect(found.reason).toMatch(/requests failed and count as failed items/);
        expect(comparison.lost[0].canary).toBe("(HTTP 503) overloaded");
    });

    test("a small set of equal answers is used up without a decision, asked once, and says the quality was not shown equal", async () => {
        const runner = new TableRunner(() => [ok("pass"), ok("pass")]);
        const comparison = new GoldenComparison(items(20), SIMULATED_SETTINGS, ERRORS);
        const found = await comparison.evaluate(runner);
        // Twenty agreeing items show no loss, but not that any loss is under 5 points with a 1% miss rate.
        expect(runner.batches.reduce((a, b) => a + b, 0)).toBe(20);
        expect(found.verdict).toBe("undecided");
        expect(found.reason).toMatch(
            /^the golden set is used up: the canary was not shown worse, nor shown within 5 points \(quality not shown equal\): stable passed 20 of 20/,
        );
        // A second moment asks nothing more: the set is used up and its verdict stands.
        await comparison.evaluate(runner);
        expect(runner.batches.reduce((a, b) => a + b, 0)).toBe(20);
    });

    test("a sampling model is asked the set again, at most three times, and the report says so", async () => {
        const runner = new TableRunner((id) => [ok("pass"), ok(Number(id.slice(1)) % 20 === 0 ? "fail" : "pass")]);
        const comparison = new GoldenComparison(items(10), { ...SIMULATED_SETTINGS, sampling: true }, ERRORS);
        const found = await comparison.evaluate(runner);
        expect(runner.batches.reduce((a, b) => a + b, 0)).toBe(30);
        expect(found.reason).toContain("the set was asked 3 times (evaluation.sampling)");
    });
});

describe("in the engine", () => {
    const comparison = (canaryFails: (i: number) => boolean) => ({
        comparison: new GoldenComparison(items(500), SIMULATED_SETTINGS, ERRORS),
        runner: new TableRunner((id) => [ok("pass"), ok(canaryFails(Number(id.slice(1))) ? "fail" : "pass")]),
        counting: COUNTING,
    });

    test("a canary the golden set rejects before traffic is rolled back before any weight moves", async () => {
        const { stack, run } = setup(() => GOOD, { ...deployedAt(0), evaluations: ["beforeTraffic"] }, undefined, undefined, {
            golden: comparison((i) => i % 5 === 0),
        });
        const result = await run();
        expect(result.outcome).toBe("rolled-back");
        expect(result.reason).toMatch(/^the golden set before it gets traffic: the canary loses more than 0 points .*; the canary got no traffic/);
        expect(stack.calls.filter((c) => c.startsWith("weight") && c !== "weight 0")).toEqual([]);
        expect(result.steps).toEqual([]);
    });

    test("an equal canary goes on to its first step", async () => {
        const { stack, run } = setup(() => GOOD, { ...deployedAt(0), evaluations: ["beforeTraffic"] }, undefined, undefined, {
            golden: comparison(() => false),
        });
        expect((await run({ toStep: 1 })).outcome).toBe("paused");
        expect(stack.calls).toContain("weight 10");
    });

    test("the set's answers at an evaluation moment are left out of the live counts of the minute they ended in", async () => {
        const clock = new VirtualClock();
        let asked = 0;
        const runner: RunnerPort = {
            answer: async (batch) => {
                asked += batch.length;
                return batch.map(() => ({ stable: { ...ok("pass"), doneAt: clock.now() }, canary: { ...ok("pass"), doneAt: clock.now() } }));
            },
        };
        const golden = { comparison: new GoldenComparison(items(500), SIMULATED_SETTINGS, ERRORS), runner, counting: COUNTING };
        const { run } = setup(() => GOOD, { ...deployedAt(0), evaluations: ["eachStep"] }, undefined, undefined, { golden }, clock);
        const result = await run({ toStep: 2 });
        expect(result.outcome).toBe("paused");
        // The layer counted 500 canary and 500 stable requests a minute; the judge saw them less the set's answers.
        const left = (version: "canary" | "stable") =>
            result.samples.reduce((n, s) => n + (500 * (s.sample.window.end - s.sample.window.start)) / 60_000 - s.sample.versions[version].requests, 0);
        expect(asked).toBeGreaterThan(0);
        expect([left("canary"), left("stable")]).toEqual([asked, asked]);
    });
});

describe("with a judge model", () => {
    /** A judge that prefers the answer "right", sees which came first, and ties otherwise. */
    const judge = () => {
        const seen: boolean[] = [];
        return {
            seen,
            prefer: async (_prompt: string, first: string, second: string) => {
                seen.push(first === "right");
                const choice: "first" | "second" | "tie" = first === second ? "tie" : first === "right" ? "first" : second === "right" ? "second" : "tie";
                return { choice, words: choice === "tie" ? "TIE" : choice === "first" ? "A" : "B" };
            },
        };
    };
    const settings = { ...SIMULATED_SETTINGS, scorer: { kind: "judge", model: "us.judge-v1:0", criteria: "Which is better?" } };

    test("a canary the judge prefers less often is rejected; the order it saw each pair in is a seeded coin, recorded with its words", async () => {
        const j = judge();
        const runner = new TableRunner((id) => [ok("right"), ok(Number(id.slice(1)) % 5 === 0 ? "wrong" : "right")]);
        const comparison = new GoldenComparison(items(400), settings, ERRORS, j);
        const found = await comparison.evaluate(runner);
        expect(found.verdict).toBe("rejected");
        const canaryFirst = comparison.judged.filter((p) => p.canaryFirst).length / comparison.judged.length;
        expect(canaryFirst).toBeGreaterThan(0.35);
        expect(canaryFirst).toBeLessThan(0.65);
        const lost = comparison.judged.find((p) => p.preferred === "stable")!;
        expect(lost.words).toBe(lost.canaryFirst ? "B" : "A");
        expect(comparison.lost.map((l) => l.id)).toContain(lost.id);
    });

    test("ties count as agreement: an equal canary is never shown worse", async () => {
        const comparison = new GoldenComparison(items(300), settings, ERRORS, judge());
        const found = await comparison.evaluate(new TableRunner(() => [ok("right"), ok("right")]));
        expect(found.verdict).not.toBe("rejected");
        expect(comparison.lost).toEqual([]);
    });
});
