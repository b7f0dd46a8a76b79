/** The paired stream (`stream.ts`): its pacing, its counts by minute, when a minute is settled, its verdicts, and what a set needs to serve it. */
import { PacedAnswer, PacedPair, PairedStream, StreamPort, StreamSettings, streamLine, streamProblems, streamSettings } from "../../../rollout/core/stream";
import { GoldenItem, scorerSection } from "../../../contract/golden";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";
import type { GoldenSetOutputs } from "../../../contract/outputs";

const ITEMS: GoldenItem[] = Array.from({ length: 20 }, (_, i) => ({ id: `q${i}`, request: { stream: true }, expected: "yes" }));
const SETTINGS: StreamSettings = {
    ratePerSecond: 1,
    slowMs: 10_000,
    firstTokenBoundMs: 800,
    gates: ["cutoff", "ttft", "tokens"],
    answers: { scorer: scorerSection.parse({ kind: "exact" }), toleratedLoss: 0, detectLoss: 0.05 },
    seed: 7,
};
const answer = (more: Partial<PacedAnswer> = {}): PacedAnswer => ({
    status: 200,
    ms: 2000,
    firstMs: 300,
    doneAt: 30_000,
    tokens: 100,
    finish: "stop",
    body: "yes",
    ...more,
});

/** A runner whose every minute is answered with `pairs`, and whose calls are kept; `hold` keeps each invocation in flight until released. */
class FakeRunner implements StreamPort {
    calls: { items: GoldenItem[]; rate: number }[] = [];
    private releases: (() => void)[] = [];
    constructor(
        private readonly pairs: PacedPair[] = [],
        private readonly hold = false,
        private readonly fail = false,
    ) {}
    pace(items: GoldenItem[], rate: number): Promise<PacedPair[]> {
        this.calls.push({ items, rate });
        if (this.fail) return Promise.reject(new Error("Unhandled: Task timed out"));
        if (!this.hold) return Promise.resolve(this.pairs);
        return new Promise((resolve) => this.releases.push(() => resolve(this.pairs)));
    }
    release() {
        for (const r of this.releases.splice(0)) r();
    }
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("PairedStream", () => {
    test("sends a minute of pairs at its rate, the next once the last has run its minute, none once stopped; the same seed draws the same items", () => {
        const runner = new FakeRunner();
        const stream = new PairedStream(runner, ITEMS, { ...SETTINGS, ratePerSecond: 0.5 }, () => {});
        stream.tick(0);
        stream.tick(30_000);
        stream.tick(61_000);
        stream.stop();
        stream.tick(200_000);
        expect(runner.calls.map((c) => [c.items.length, c.rate])).toEqual([
            [30, 0.5],
            [30, 0.5],
        ]);
        expect(stream.sent.pairs).toBe(60);
        const again = new FakeRunner();
        new PairedStream(again, ITEMS, { ...SETTINGS, ratePerSecond: 0.5 }, () => {}).tick(0);
        expect(again.calls[0].items).toEqual(runner.calls[0].items);
        expect(new Set(runner.calls[0].items.map((i) => i.id)).size).toBeGreaterThan(5);
    });

    test("each answer counts in the minute it ended: 5xx or none, slow, first tokens after the bound, cut-off answers, tokens", async () => {
        const pairs: PacedPair[] = [
            { id: "q1", stable: answer(), canary: answer({ status: 503, doneAt: 59_999 }) },
            {
                id: "q2",
                stable: answer({ ms: 12_000, firstMs: 900, doneAt: 40_000 }),
                canary: answer({ status: 0, doneAt: 45_000, tokens: undefined, finish: undefined }),
            },
            { id: "q3", stable: answer({ finish: "length", tokens: 512, doneAt: 60_000 }), canary: answer({ firstMs: 1200, doneAt: 61_000 }) },
        ];
        const stream = new PairedStream(new FakeRunner(pairs), ITEMS, SETTINGS, () => {});
        stream.tick(0);
        await settle();
        expect(stream.counts(0, 60_000)).toEqual({
            stable: {
                requests: 2,
                errors: 0,
                slow: 1,
                gates: { cutoff: { events: 0, requests: 2 }, ttft: { events: 1, requests: 2 }, tokens: { events: 200, requests: 2 } },
            },
            canary: { requests: 2, errors: 2, slow: 0 },
        });
        expect(stream.counts(60_000, 120_000)).toEqual({
            stable: {
                requests: 1,
                errors: 0,
                slow: 0,
                gates: { cutoff: { events: 1, requests: 1 }, ttft: { events: 0, requests: 1 }, tokens: { events: 512, requests: 1 } },
            },
            canary: {
                requests: 1,
                errors: 0,
                slow: 0,
                gates: { cutoff: { events: 0, requests: 1 }, ttft: { events: 1, requests: 1 }, tokens: { events: 100, requests: 1 } },
            },
        });
    });

    test("a minute is settled only once every invocation that could have ended answers in it has returned", async () => {
        const runner = new FakeRunner([{ id: "q1", stable: answer({ doneAt: 70_000 }), canary: answer({ doneAt: 95_000 }) }], true);
        const stream = new PairedStream(runner, ITEMS, SETTINGS, () => {});
        expect(stream.settledUntil()).toBe(Infinity);
        stream.tick(20_000);
        await settle();
        expect(stream.settledUntil()).toBe(20_000);
        expect(stream.counts(60_000, 120_000).canary.requests).toBe(0);
        runner.release();
        await settle();
        expect(stream.settledUntil()).toBe(Infinity);
        expect(stream.counts(60_000, 120_000).canary.requests).toBe(1);
    });

    test("a failed invocation is said and counted, and settles its minutes: what it sent, if anything, stays in the live counts", async () => {
        const lines: string[] = [];
        const stream = new PairedStream(new FakeRunner([], false, true), ITEMS, SETTINGS, (l) => lines.push(l));
        stream.tick(0);
        await settle();
        expect(stream.sent.failed).toBe(1);
        expect(stream.settledUntil()).toBe(Infinity);
        expect(lines).toEqual([
            "paired stream: the runner's minute failed (Unhandled: Task timed out); its requests, if any were sent, stay in the live counts",
        ]);
    });

    test("the scorer's verdicts on the pairs whose later answer ended in the window, a failed request a failed item; none with a judge model", async () => {
        const pairs: PacedPair[] = [
            { id: "q1", stable: answer(), canary: answer({ body: "no" }) },
            { id: "q2", stable: answer({ status: 500 }), canary: answer({ doneAt: 70_000 }) },
            { id: "q3", stable: answer({ body: 'data: {"choices":[{"delta":{"content":"yes"}}]}\n\ndata: [DONE]\n' }), canary: answer() },
        ];
        const stream = new PairedStream(new FakeRunner(pairs), ITEMS, SETTINGS, () => {});
        stream.tick(0);
        await settle();
        expect(stream.outcomes(0, 60_000)).toEqual([
            { stablePass: true, canaryPass: false },
            { stablePass: true, canaryPass: true },
        ]);
        expect(stream.outcomes(60_000, 120_000)).toEqual([{ stablePass: false, canaryPass: true }]);
        stream.forget(60_000);
        expect(stream.outcomes(0, 60_000)).toEqual([]);
        expect(stream.outcomes(60_000, 120_000)).toHaveLength(1);
        const unscored = new PairedStream(new FakeRunner(pairs), ITEMS, { ...SETTINGS, answers: undefined }, () => {});
        unscored.tick(0);
        await settle();
        expect(unscored.outcomes(0, 120_000)).toEqual([]);
    });
});

describe("what a stack's stream is", () => {
    const golden = (more: Partial<GoldenSetOutputs>): GoldenSetOutputs => ({
        functionName: "svc-golden",
        object: "s3://evals/golden.jsonl",
        scorer: scorerSection.parse({ kind: "contains" }),
        url: "http://svc",
        path: "/v1/chat/completions",
        pinHeader: "x-canary",
        pins: { stable: "stable", canary: "always" },
        requestTimeoutSeconds: 300,
        detectLossPercent: 5,
        toleratedLossPercent: 1,
        sampling: false,
        seed: 3,
        ...more,
    });

    test.each([
        ["none unless the stack asks for one", {}, {}, undefined],
        [
            "its rate, the slow threshold as resolved, the first-token bound, the gates, the scorer and the losses",
            { requestsPerSecond: 2, firstTokenBoundSeconds: 0.75 },
            { slowRequestSeconds: 30, gates: { ttft: { tolerancePercent: 0, detectFactor: 1.5 } } },
            { ratePerSecond: 2, slowMs: 30_000, firstTokenBoundMs: 750, gates: ["ttft"], toleratedLoss: 0.01, detectLoss: 0.05, seed: 3 },
        ],
        [
            "no scored answers with a judge model",
            { requestsPerSecond: 1, scorer: scorerSection.parse({ kind: "judge", model: "us.anthropic.claude-3-5-haiku-20241022-v1:0" }) },
            {},
            { ratePerSecond: 1, slowMs: 10_000, gates: [], seed: 3 },
        ],
    ])("%s", (_what, outputs, schedule, expected) => {
        const s = streamSettings(golden(outputs), { ...DEFAULT_SCHEDULE, ...schedule });
        if (expected === undefined) return expect(s).toBeUndefined();
        const { answers, ...rest } = s!;
        const { toleratedLoss, detectLoss, ...plain } = expected as Record<string, unknown>;
        expect(rest).toEqual(plain);
        expect(answers === undefined ? undefined : { toleratedLoss: answers.toleratedLoss, detectLoss: answers.detectLoss }).toEqual(
            toleratedLoss === undefined ? undefined : { toleratedLoss, detectLoss },
        );
    });

    test.each([
        ["a set that streams, on no gate that needs it", [{ stream: true }], ["cutoff"], []],
        ["answers that do not stream, on the ttft gate", [{ messages: [] }, "raw text"], ["ttft"], ["item 0: the ttft gate", "item 1: the ttft gate"]],
        ["streamed answers without their usage, on the tokens gate", [{ stream: true }], ["tokens"], ["item 0: the tokens gate"]],
        ["streamed answers with their usage, on both", [{ stream: true, stream_options: { include_usage: true } }], ["ttft", "tokens"], []],
        ["whole answers carry their usage", [{ messages: [] }], ["tokens"], []],
    ])("%s", (_what, requests, gates, problems) => {
        const items = requests.map((request, i) => ({ id: String(i), request: request as object | string, expected: null }));
        const found = streamProblems(items, gates);
        expect(found).toHaveLength(problems.length);
        problems.forEach((p, i) => expect(found[i]).toContain(p));
    });
});

test("what the rollout says of the stream before it starts: its rate, what it is judged on, whether its answers are scored, and that a budget counts live traffic alone", () => {
    expect(streamLine({ ...SETTINGS, gates: ["ttft", "aborted"] })).toBe(
        "paired stream: 1 golden items a second to each version through their pins while the steps bake, judged as a stratum beside live traffic (5xx, slow requests, ttft) " +
            "and taken out of the live counts; its answers scored, the canary rolled back if shown to lose more than 0 points; a budget's plan counts live traffic alone (docs/evaluation.md)",
    );
    expect(streamLine({ ...SETTINGS, gates: [], answers: undefined })).toMatch(
        /\(5xx, slow requests\) .*; its answers not scored \(a judge model is asked at the evaluation moments only\);/,
    );
});
