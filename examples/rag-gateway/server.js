// The RAG example's gateway: the service its users call (Pulumi.rag-gateway.yaml). For each
// OpenAI-compatible chat request it embeds the question (the embedder, text-embeddings-inference's
// POST /embed), takes the nearest passages of its corpus, has the reranker order them (POST
// /rerank), and asks the LLM (vLLM's POST /v1/chat/completions) with the best ones as context.
//
// It is a sketch to read and to start from, with no dependencies (Node.js 22: node:http, fetch):
// - the callees' addresses are the platform's, from EMBEDDER_URL, RERANKER_URL and LLM_URL, which
//   the stack puts in its environment (`calls`);
// - a request carrying the pin header (PIN_HEADER, default x-canary) passes it on to every callee,
//   so a pinned request reaches each canary on its path;
// - each answer is counted per version in embedded metric format on standard output (Answers, and
//   Rejected when it had no passage to answer from), the counts an event gate judges
//   (docs/metrics.md, "The application's own counts").
"use strict";

const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");

/** How many passages are reranked, and how many reach the LLM. */
const CANDIDATES = 8;
const CONTEXT = 3;

/** The gateway's settings, from its environment. */
function settings(env = process.env) {
    const need = (name) => {
        if (!env[name]) throw new Error(`${name} is not set: the stack's \`calls\` puts each callee's URL in the environment`);
        return env[name].replace(/\/$/, "");
    };
    return {
        port: Number(env.PORT || 8000),
        embedder: need("EMBEDDER_URL"),
        reranker: need("RERANKER_URL"),
        llm: need("LLM_URL"),
        pinHeader: (env.PIN_HEADER || "x-canary").toLowerCase(),
        model: env.LLM_MODEL || "llm",
        timeoutMs: Number(env.CALLEE_TIMEOUT_SECONDS || 280) * 1000,
        corpus: JSON.parse(fs.readFileSync(env.CORPUS_FILE || path.join(__dirname, "corpus.json"), "utf8")),
        namespace: env.CANARY_METRIC_NAMESPACE,
        version: env.CANARY_VERSION,
    };
}

/** One EMF line: this answer, and whether it was rejected, for the version that gave it. */
function countAnswer(s, rejected, write = (line) => process.stdout.write(line + "\n")) {
    if (!s.namespace || !s.version) return;
    write(
        JSON.stringify({
            _aws: {
                Timestamp: Date.now(),
                CloudWatchMetrics: [
                    {
                        Namespace: s.namespace,
                        Dimensions: [["Version"]],
                        Metrics: [
                            { Name: "Answers", Unit: "Count" },
                            { Name: "Rejected", Unit: "Count" },
                        ],
                    },
                ],
            },
            Version: s.version,
            Answers: 1,
            Rejected: rejected ? 1 : 0,
        }),
    );
}

/** A JSON POST to a callee, the pin header passed on when the request had one. */
async function call(s, url, body, pin) {
    const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(pin ? { [s.pinHeader]: pin } : {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(s.timeoutMs),
    });
    if (!response.ok) throw Object.assign(new Error(`${url} answered ${response.status}`), { status: response.status });
    return response.json();
}

const dot = (a, b) => a.reduce((sum, x, i) => sum + x * b[i], 0);
const cosine = (a, b) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));

/**
 * The corpus's embeddings, asked of the embedder once per pin value. Vectors from two embedding
 * models live in two spaces: an index built by one version cannot be searched with the other's
 * query vectors. So a pinned path embeds the corpus with the canary too, and an unpinned request,
 * whose calls go to either version by weight, may mix them: a real index is rebuilt for a new
 * embedding model, and such a canary is tried pinned (docs/platform.md, "The RAG example").
 */
const embedded = new Map();
function corpusEmbeddings(s, pin) {
    const key = pin ?? "";
    if (!embedded.has(key))
        embedded.set(
            key,
            call(s, `${s.embedder}/embed`, { inputs: s.corpus }, pin).catch((e) => {
                embedded.delete(key);
                throw e;
            }),
        );
    return embedded.get(key);
}

/** Answers one chat request: retrieve, rerank, generate. Returns [status, body, rejected]. */
async function answer(s, request, pin) {
    const messages = request.messages || [];
    const question = [...messages].reverse().find((m) => m.role === "user")?.content;
    if (typeof question !== "string" || question.trim() === "") return [400, { error: { message: "no user message to answer" } }, false];
    const [[query], passages] = await Promise.all([call(s, `${s.embedder}/embed`, { inputs: [question] }, pin), corpusEmbeddings(s, pin)]);
    const nearest = passages
        .map((p, i) => ({ i, score: cosine(query, p) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, CANDIDATES);
    const texts = nearest.map((n) => s.corpus[n.i]);
    const ranked = await call(s, `${s.reranker}/rerank`, { query: question, texts }, pin);
    const context = ranked
        .sort((a, b) => b.score - a.score)
        .slice(0, CONTEXT)
        .map((r) => texts[r.index]);
    if (context.length === 0) return [200, { error: { message: "nothing in the corpus to answer from" } }, true];
    const system = `Answer from these passages only; say so if they do not contain the answer.\n\n${context.map((c, i) => `[${i + 1}] ${c}`).join("\n")}`;
    const completion = await call(
        s,
        `${s.llm}/v1/chat/completions`,
        { ...request, model: s.model, messages: [{ role: "system", content: system }, ...messages] },
        pin,
    );
    return [200, completion, false];
}

function serve(s) {
    return http.createServer((req, res) => {
        const reply = (status, body) => {
            res.writeHead(status, { "content-type": "application/json" });
            res.end(JSON.stringify(body));
        };
        if (req.method === "GET" && req.url === "/health") return reply(200, { status: "ok" });
        if (req.method !== "POST" || req.url !== "/v1/chat/completions") return reply(404, { error: { message: `no route ${req.method} ${req.url}` } });
        let body = "";
        req.on("data", (chunk) => (body += chunk));
        req.on("end", async () => {
            const pin = req.headers[s.pinHeader];
            try {
                const [status, out, rejected] = await answer(s, JSON.parse(body || "{}"), typeof pin === "string" ? pin : undefined);
                if (status === 200) countAnswer(s, rejected);
                reply(status, out);
            } catch (e) {
                // A callee's failure is this request's: a 502 the traffic layer counts as this version's 5xx.
                reply(e instanceof SyntaxError ? 400 : 502, { error: { message: String(e.message || e) } });
            }
        });
    });
}

module.exports = { settings, serve, countAnswer };

if (require.main === module) {
    const s = settings();
    serve(s).listen(s.port, () => console.log(`gateway on :${s.port}, calling ${s.embedder}, ${s.reranker}, ${s.llm}`));
}
