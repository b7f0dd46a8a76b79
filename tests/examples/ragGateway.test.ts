/**
 * The example gateway (`examples/rag-gateway/server.js`) against stand-in callees on 127.0.0.1
 * that answer as text-embeddings-inference (`POST /embed`: a list of vectors; `POST /rerank`: a
 * list of `{index, score}`) and vLLM (`POST /v1/chat/completions`) document: the pin header
 * reaches every callee, the answer is the LLM's with the best passages as context, a callee's
 * failure is a 502, and each answer is counted per version in embedded metric format.
 */
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { AddressInfo } from "net";
import { parseGoldenSet } from "../../contract/golden";

const gateway = require("../../examples/rag-gateway/server.js") as {
    settings: (env: Record<string, string>) => Record<string, unknown>;
    serve: (s: Record<string, unknown>) => http.Server;
    countAnswer: (s: Record<string, unknown>, rejected: boolean, write: (line: string) => void) => void;
};

/** What each stand-in callee received: path, pin header, body. */
const received: { path: string; pin?: string; body: any }[] = [];
let failLlm = false;

/** A vector per text: which of three topics it mentions. */
const embed = (text: string) => ["lattice", "canary", "vllm"].map((w) => (text.toLowerCase().includes(w) ? 1 : 0.01));

const callee = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
        const body = JSON.parse(raw);
        received.push({ path: req.url!, pin: req.headers["x-canary"] as string | undefined, body });
        const json = (status: number, value: unknown) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(value));
        };
        if (req.url === "/embed") return json(200, (body.inputs as string[]).map(embed));
        if (req.url === "/rerank")
            return json(
                200,
                (body.texts as string[]).map((t, index) => ({ index, score: t.includes("canary") ? 0.9 : 0.1 })),
            );
        if (req.url === "/v1/chat/completions") {
            if (failLlm) return json(503, { error: { message: "overloaded" } });
            return json(200, {
                object: "chat.completion",
                choices: [{ index: 0, message: { role: "assistant", content: "A canary takes a small share." }, finish_reason: "stop" }],
            });
        }
        json(404, {});
    });
});

let url: string;
let server: http.Server;
beforeAll(async () => {
    await new Promise<void>((r) => callee.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(callee.address() as AddressInfo).port}`;
    server = gateway.serve(
        gateway.settings({
            EMBEDDER_URL: base,
            RERANKER_URL: base,
            LLM_URL: `${base}/`,
            LLM_MODEL: "llama-3.1-8b-instruct",
            CANARY_VERSION: "canary",
            CANARY_METRIC_NAMESPACE: "AICanary/gateway",
        }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
});
afterAll(async () => {
    await new Promise((r) => server.close(r));
    await new Promise((r) => callee.close(r));
});
beforeEach(() => {
    received.length = 0;
    failLlm = false;
});

const ask = (headers: Record<string, string> = {}) =>
    fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ messages: [{ role: "user", content: "What is a canary?" }], temperature: 0 }),
    });

test("a pinned request passes the pin header to the embedder, the reranker and the LLM; the answer is the LLM's", async () => {
    const res = await ask({ "x-canary": "always" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).choices[0].message.content).toBe("A canary takes a small share.");
    expect(received.map((r) => [r.path, r.pin])).toEqual(
        expect.arrayContaining([
            ["/embed", "always"],
            ["/rerank", "always"],
            ["/v1/chat/completions", "always"],
        ]),
    );
    const llm = received.find((r) => r.path === "/v1/chat/completions")!;
    expect(llm.body.model).toBe("llama-3.1-8b-instruct");
    expect(llm.body.messages[0].content).toMatch(/^Answer from these passages only.*\n\n\[1\] A canary deployment sends a small share/s);
});

test("an unpinned request passes no pin", async () => {
    await ask();
    expect(received.filter((r) => r.pin !== undefined)).toEqual([]);
});

test("a callee's failure is the gateway's 502, which the traffic layer counts as this version's 5xx", async () => {
    failLlm = true;
    const res = await ask();
    expect(res.status).toBe(502);
    expect(((await res.json()) as any).error.message).toMatch(/\/v1\/chat\/completions answered 503$/);
});

test("each answer is one EMF line in the service's namespace with its version: Answers, and Rejected when it had nothing to answer from", () => {
    const lines: string[] = [];
    const s = gateway.settings({
        EMBEDDER_URL: "http://e",
        RERANKER_URL: "http://r",
        LLM_URL: "http://l",
        CANARY_VERSION: "stable",
        CANARY_METRIC_NAMESPACE: "AICanary/gateway",
    });
    gateway.countAnswer(s, true, (l) => lines.push(l));
    const emf = JSON.parse(lines[0]);
    expect(emf._aws.CloudWatchMetrics).toEqual([
        {
            Namespace: "AICanary/gateway",
            Dimensions: [["Version"]],
            Metrics: [
                { Name: "Answers", Unit: "Count" },
                { Name: "Rejected", Unit: "Count" },
            ],
        },
    ]);
    expect([emf.Version, emf.Answers, emf.Rejected]).toEqual(["stable", 1, 1]);
});

test("without a callee's address it says which variable is missing", () => {
    expect(() => gateway.settings({ EMBEDDER_URL: "http://e", RERANKER_URL: "http://r" })).toThrow("LLM_URL is not set");
});

test("the example's golden set (golden.jsonl, which `rollout load` sends and both versions answer) is one the rollout accepts, and each expected word is in a passage of the corpus", () => {
    const dir = path.join(__dirname, "../../examples/rag-gateway");
    const parsed = parseGoldenSet(fs.readFileSync(path.join(dir, "golden.jsonl"), "utf8"));
    if ("problems" in parsed) throw new Error(parsed.problems.join("; "));
    const corpus = (JSON.parse(fs.readFileSync(path.join(dir, "corpus.json"), "utf8")) as string[]).join(" ").toLowerCase();
    expect(parsed.items.length).toBe(15);
    for (const item of parsed.items) expect([item.id, corpus.includes(String(item.expected).toLowerCase())]).toEqual([item.id, true]);
});
