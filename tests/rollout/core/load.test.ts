/** `rollout load` (`rollout/core/load.ts`): a minute an invocation, a new one each minute, totals and progress, and an abort that lets the minute in flight finish. */
import { sendLoad, tallyText } from "../../../rollout/core/load";
import { VirtualClock } from "../../../rollout/simulator/world";
import { parseRequests } from "../../../contract/golden";

const ITEMS = [{ id: "a", request: "q", expected: null }];

/** A runner whose every minute answers all its requests 200 in 1.5 s, remembering what it was asked and when. */
function fakeRunner(clock: VirtualClock) {
    const asked: { at: number; rate: number; seconds: number }[] = [];
    return {
        asked,
        load: async (_items: unknown[], rate: number, seconds: number) => {
            asked.push({ at: clock.now(), rate, seconds });
            const tally = { requests: Math.floor(rate * seconds), statuses: { "200": Math.floor(rate * seconds) }, meanMs: 1500 };
            return { stable: tally, canary: tally };
        },
    };
}

test("five minutes at 2 a second: an invocation a minute, each started a minute after the last, and the totals said after each", async () => {
    const clock = new VirtualClock();
    const start = clock.now();
    const runner = fakeRunner(clock);
    const lines: string[] = [];
    const totals = await sendLoad(runner, ITEMS, 2, 5, clock, (l) => lines.push(l));
    expect(runner.asked.map((a) => [(a.at - start) / 1000, a.rate, a.seconds])).toEqual([0, 60, 120, 180, 240].map((t) => [t, 2, 60]));
    expect(totals.stable).toEqual({ requests: 600, statuses: { "200": 600 }, meanMs: 1500 });
    expect(lines.at(-1)).toBe("load: 5.0 of 5 min | stable 600 sent (600 2xx), mean 1.5 s | canary 600 sent (600 2xx), mean 1.5 s");
});

test("an abort starts no new minute; what is in flight is counted", async () => {
    const clock = new VirtualClock();
    const runner = fakeRunner(clock);
    const controller = new AbortController();
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
        await sleep(ms, signal);
        if (runner.asked.length === 2) controller.abort();
    };
    const totals = await sendLoad(runner, ITEMS, 1, 10, clock, () => {}, controller.signal);
    expect(runner.asked).toHaveLength(2);
    expect(totals.canary.requests).toBe(120);
});

test("a version's tally in words: each status apart from 2xx, and requests without an answer", () => {
    expect(tallyText("canary", { requests: 10, statuses: { "200": 7, "503": 2, "0": 1 }, meanMs: 2345 })).toBe(
        "canary 10 sent (7 2xx, 1 without an answer, 2 503), mean 2.3 s",
    );
});

test("a request file: each line's request, its id kept or made from the line; every bad line named", () => {
    expect(parseRequests('{"id":"x","request":{"messages":[]}}\n\n{"request":"raw"}\n')).toEqual({
        items: [
            { id: "x", request: { messages: [] }, expected: null },
            { id: "line-3", request: "raw", expected: null },
        ],
    });
    expect(parseRequests('nope\n{"prompt":"hi"}')).toEqual({
        problems: [
            "line 1: not a JSON object (a request file is JSON lines, one request per line)",
            'line 2: no field "request" (an object sent as JSON, or a string sent as it is)',
        ],
    });
    expect(parseRequests("")).toEqual({ problems: ["no request: the file is empty"] });
});
