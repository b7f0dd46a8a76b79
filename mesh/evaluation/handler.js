// The golden set's runner: a Lambda function (Node.js 22, CommonJS, no dependencies, so
// `pulumi up` ships this file as it is) in the stack's private subnets. Two modes:
// - answer (the rollout's evaluation): a batch of golden items, each sent to stable and to the
//   canary through their pins (the pin header, one value per version), at most `concurrency`
//   items at a time; it returns each version's status, time and answer. It scores nothing: the
//   rollout scores the answers with the scorer the stack accepted (contract/golden.ts), so one
//   implementation judges.
// - load (`rollout load`): the items in turn, each to both versions, started at a fixed rate
//   for a number of seconds whether or not earlier answers have come (as users arrive); it
//   returns each version's counts by status and its mean time.
"use strict";

/** The longest answer returned per version: Lambda's synchronous response is at most 6 MB, and a batch holds up to 32 answers. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Sends one item's request to one version; never throws: a failure is an answer with status 0. */
async function ask(event, item, pin) {
    const started = Date.now();
    const raw = typeof item.request === "string";
    try {
        const response = await fetch(event.url + event.path, {
            method: "POST",
            headers: { "content-type": raw ? "text/plain" : "application/json", [event.pinHeader]: pin },
            body: raw ? item.request : JSON.stringify(item.request),
            signal: AbortSignal.timeout(event.timeoutMs),
        });
        const body = await response.text();
        return { status: response.status, ms: Date.now() - started, body: body.slice(0, MAX_ANSWER_BYTES), truncated: body.length > MAX_ANSWER_BYTES };
    } catch (error) {
        return { status: 0, ms: Date.now() - started, body: "", error: String(error && error.name === "TimeoutError" ? "timed out" : error) };
    }
}

/** Each version's answers in load mode, as counts. */
function tally(answers) {
    const statuses = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] || 0) + 1;
    const ms = answers.reduce((sum, a) => sum + a.ms, 0);
    return { requests: answers.length, statuses, meanMs: answers.length ? Math.round(ms / answers.length) : 0 };
}

/**
 * event: { mode: "load", url, path, pinHeader, pins, timeoutMs, items, ratePerSecond, seconds }
 * returns: { stable: Tally, canary: Tally } once every request started has its answer or timed out.
 */
async function load(event) {
    const count = Math.floor(event.ratePerSecond * event.seconds);
    const started = Date.now();
    const sent = [];
    for (let k = 0; k < count; k++) {
        const wait = started + (k * 1000) / event.ratePerSecond - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const item = event.items[k % event.items.length];
        sent.push(Promise.all([ask(event, item, event.pins.stable), ask(event, item, event.pins.canary)]));
    }
    const answers = await Promise.all(sent);
    return { stable: tally(answers.map(([s]) => s)), canary: tally(answers.map(([, c]) => c)) };
}

/**
 * event: { url, path, pinHeader, pins: { stable, canary }, timeoutMs, concurrency, items: [{ id, request }] }
 * returns: { answers: [{ id, stable: Answer, canary: Answer }] } in the items' order.
 */
exports.handler = async (event) => {
    if (event.mode === "load") return load(event);
    const answers = new Array(event.items.length);
    let next = 0;
    const worker = async () => {
        while (next < event.items.length) {
            const i = next++;
            const item = event.items[i];
            const [stable, canary] = await Promise.all([ask(event, item, event.pins.stable), ask(event, item, event.pins.canary)]);
            answers[i] = { id: item.id, stable, canary };
        }
    };
    await Promise.all(Array.from({ length: Math.min(event.concurrency, event.items.length) }, worker));
    return { answers };
};
