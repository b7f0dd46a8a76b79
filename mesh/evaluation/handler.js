// The golden set's runner: a Lambda function (Node.js 22, CommonJS, no dependencies, so
// `pulumi up` ships this file as it is) in the stack's private subnets. The rollout invokes
// it with a batch of golden items; it sends each item to stable and to the canary through
// their pins (the pin header, one value per version), at most `concurrency` items at a time,
// and returns each version's status, time and answer. It scores nothing: the rollout scores
// the answers with the scorer the stack accepted (contract/golden.ts), so one implementation
// judges.
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

/**
 * event: { url, path, pinHeader, pins: { stable, canary }, timeoutMs, concurrency, items: [{ id, request }] }
 * returns: { answers: [{ id, stable: Answer, canary: Answer }] } in the items' order.
 */
exports.handler = async (event) => {
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
