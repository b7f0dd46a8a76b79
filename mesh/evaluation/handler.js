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
// - pace (paired evidence during a rollout's steps): the same paced sending, with the items the
//   rollout drew; it returns every pair: each version's status, times (to the first byte, which
//   is the first token of a streamed answer, and to the last), when it ended, the tokens and
//   finish reason the answer carried, and the answer cut to `PACED_ANSWER_BYTES`.
"use strict";

const crypto = require("node:crypto");

/** The longest answer returned per version: Lambda's synchronous response is at most 6 MB, and a batch holds up to 32 answers. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** The longest answer returned per version in pace mode: at its most, 3 pairs a second for 60 s, 360 answers stay under the 6 MB. */
const PACED_ANSWER_BYTES = 12 * 1024;

const sha256 = (text) => crypto.createHash("sha256").update(text).digest("hex");
const hmac = (key, text) => crypto.createHmac("sha256", key).update(text).digest();

/**
 * Signature Version 4 (IAM User Guide, "Create a signed AWS API request"), for a Lattice service
 * with IAM auth: the headers to add to a request to `url`. Lattice takes no payload signing, so
 * the request carries `x-amz-content-sha256: UNSIGNED-PAYLOAD` ("SIGv4 authenticated requests
 * for Amazon VPC Lattice"). Signed: host, the content hash, the date and the session token.
 */
function signatureHeaders({ method, url, service, region, credentials, payloadHash = "UNSIGNED-PAYLOAD", now = new Date() }) {
    const { host, pathname, searchParams } = new URL(url);
    const amzDate = now
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, "");
    const date = amzDate.slice(0, 8);
    const headers = { host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
    if (credentials.sessionToken) headers["x-amz-security-token"] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    const encode = (part) => encodeURIComponent(part).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const query = [...searchParams.entries()]
        .map(([k, v]) => `${encode(k)}=${encode(v)}`)
        .sort()
        .join("&");
    const canonical = [
        method,
        pathname.split("/").map(encode).join("/"),
        query,
        ...names.map((n) => `${n}:${headers[n]}`),
        "",
        names.join(";"),
        payloadHash,
    ].join("\n");
    const scope = `${date}/${region}/${service}/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
    const key = ["aws4_request"].reduce(hmac, [service].reduce(hmac, [region].reduce(hmac, hmac(`AWS4${credentials.secretAccessKey}`, date))));
    const signature = crypto.createHmac("sha256", key).update(toSign).digest("hex");
    return {
        ...headers,
        authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
    };
}
exports.signatureHeaders = signatureHeaders;

/** With `event.signFor` (a Region), each request is signed with the function's own credentials, which Lambda puts in its environment. */
function signed(event, url) {
    if (!event.signFor) return {};
    const credentials = {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
        sessionToken: process.env.AWS_SESSION_TOKEN,
    };
    const { host, ...rest } = signatureHeaders({ method: "POST", url, service: "vpc-lattice-svcs", region: event.signFor, credentials });
    return rest;
}

/**
 * The tokens an answer generated and why it finished, where the answer says: an
 * OpenAI-compatible body's `usage.completion_tokens` and `choices[0].finish_reason`, or, for a
 * stream of server-sent events, the last of each among its `data:` lines (a stream carries
 * `usage` only when the request asks for it with `stream_options.include_usage`).
 */
function usageOf(body) {
    const found = {};
    const read = (value) => {
        const tokens = value && value.usage && value.usage.completion_tokens;
        if (Number.isInteger(tokens)) found.tokens = tokens;
        const finish = value && Array.isArray(value.choices) && value.choices[0] && value.choices[0].finish_reason;
        if (typeof finish === "string") found.finish = finish;
    };
    const parse = (text) => {
        try {
            read(JSON.parse(text));
        } catch {
            // Not JSON: the answer says nothing of its tokens.
        }
    };
    if (body.trimStart().startsWith("{")) parse(body);
    else for (const line of body.split("\n")) if (line.startsWith("data:") && !line.includes("[DONE]")) parse(line.slice(5));
    return found;
}
exports.usageOf = usageOf;

/**
 * Sends one item's request to one version; never throws: a failure is an answer with status 0.
 * `firstMs` is when the first byte of the body came (the first token of a streamed answer),
 * `doneAt` when the answer ended (epoch ms), which is the minute the traffic layer counts it in.
 */
async function ask(event, item, pin) {
    const started = Date.now();
    const raw = typeof item.request === "string";
    try {
        const url = event.url + event.path;
        const response = await fetch(url, {
            method: "POST",
            headers: { "content-type": raw ? "text/plain" : "application/json", [event.pinHeader]: pin, ...signed(event, url) },
            body: raw ? item.request : JSON.stringify(item.request),
            signal: AbortSignal.timeout(event.timeoutMs),
        });
        const decoder = new TextDecoder();
        let body = "";
        let firstMs;
        for await (const chunk of response.body || []) {
            firstMs = firstMs === undefined ? Date.now() - started : firstMs;
            body += decoder.decode(chunk, { stream: true });
        }
        body += decoder.decode();
        const doneAt = Date.now();
        const limit = event.mode === "pace" ? PACED_ANSWER_BYTES : MAX_ANSWER_BYTES;
        return {
            status: response.status,
            ms: doneAt - started,
            firstMs: firstMs === undefined ? doneAt - started : firstMs,
            doneAt,
            ...usageOf(body),
            body: body.slice(0, limit),
            truncated: body.length > limit,
        };
    } catch (error) {
        const doneAt = Date.now();
        return { status: 0, ms: doneAt - started, doneAt, body: "", error: String(error && error.name === "TimeoutError" ? "timed out" : error) };
    }
}

/** Each version's answers in load mode, as counts. */
function tally(answers) {
    const statuses = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] || 0) + 1;
    const ms = answers.reduce((sum, a) => sum + a.ms, 0);
    return { requests: answers.length, statuses, meanMs: answers.length ? Math.round(ms / answers.length) : 0 };
}

/** Sends `count` of the items in turn to both versions, started at `ratePerSecond` whether or not earlier answers have come; resolves to every pair's answers. */
async function paced(event, count) {
    const started = Date.now();
    const sent = [];
    for (let k = 0; k < count; k++) {
        const wait = started + (k * 1000) / event.ratePerSecond - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const item = event.items[k % event.items.length];
        sent.push(Promise.all([ask(event, item, event.pins.stable), ask(event, item, event.pins.canary)]));
    }
    return Promise.all(sent);
}

/**
 * event: { mode: "load", url, path, pinHeader, pins, timeoutMs, items, ratePerSecond, seconds }
 * returns: { stable: Tally, canary: Tally } once every request started has its answer or timed out.
 */
async function load(event) {
    const answers = await paced(event, Math.floor(event.ratePerSecond * event.seconds));
    return { stable: tally(answers.map(([s]) => s)), canary: tally(answers.map(([, c]) => c)) };
}

/**
 * event: { mode: "pace", ...as load, with the items in the order to send, one each }
 * returns: { pairs: [{ id, stable: Answer, canary: Answer }] } in the order sent.
 */
async function pace(event) {
    const answers = await paced(event, event.items.length);
    return { pairs: answers.map(([stable, canary], k) => ({ id: event.items[k].id, stable, canary })) };
}

/**
 * event: { url, path, pinHeader, pins: { stable, canary }, timeoutMs, concurrency, items: [{ id, request }] }
 * returns: { answers: [{ id, stable: Answer, canary: Answer }] } in the items' order.
 */
exports.handler = async (event) => {
    if (event.mode === "load") return load(event);
    if (event.mode === "pace") return pace(event);
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
