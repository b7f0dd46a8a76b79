/**
 * The runner's request signing (`mesh/evaluation/handler.js`), for a Lattice service with IAM
 * auth: the same signature the AWS SDK's own Signature Version 4 signer makes for the request,
 * with the unsigned payload Lattice requires.
 */
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";

const { signatureHeaders } = require("../../../mesh/evaluation/handler.js") as {
    signatureHeaders: (request: object) => Record<string, string>;
};

const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session/token+1=" };
const HOST = "inference-0a1b2c3d4e5f6a7b8.7d67968.vpc-lattice-svcs.us-west-2.on.aws";

test.each([
    ["http", 8080, "/v1/chat/completions"],
    ["https", 443, "/v1/embed"],
])("a %s request on port %d to %s is signed as the SDK signs it, with an unsigned payload and the session token", async (scheme, port, path) => {
    const now = new Date("2026-12-07T06:36:00Z");
    const host = port === 443 ? HOST : `${HOST}:${port}`;
    const mine = signatureHeaders({
        method: "POST",
        url: `${scheme}://${host}${path}`,
        service: "vpc-lattice-svcs",
        region: "us-west-2",
        credentials: CREDENTIALS,
        now,
    });
    const sdk = await new SignatureV4({
        service: "vpc-lattice-svcs",
        region: "us-west-2",
        credentials: CREDENTIALS,
        sha256: Sha256,
        applyChecksum: false,
    }).sign(
        {
            method: "POST",
            protocol: `${scheme}:`,
            hostname: HOST,
            port,
            path,
            query: {},
            headers: { host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
            body: "{}",
        },
        { signingDate: now },
    );
    expect(mine["x-amz-content-sha256"]).toBe("UNSIGNED-PAYLOAD");
    expect(mine["x-amz-security-token"]).toBe(CREDENTIALS.sessionToken);
    expect(mine.authorization).toBe(sdk.headers.authorization);
    expect(mine.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261207\/us-west-2\/vpc-lattice-svcs\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
});

describe("pace mode: each pair as the runner saw it, against a local server", () => {
    const http = require("node:http") as typeof import("node:http");
    const { handler, usageOf } = require("../../../mesh/evaluation/handler.js") as {
        handler: (event: object) => Promise<{ pairs: { id: string; stable: Record<string, unknown>; canary: Record<string, unknown> }[] }>;
        usageOf: (body: string) => { tokens?: number; finish?: string };
    };
    /** Stable streams its answer (a first piece at once, the rest 300 ms later, then its usage); the canary answers 503 with a long body. */
    const server = http.createServer((req, res) => {
        if (req.headers["x-pin"] === "stable") {
            res.writeHead(200, { "content-type": "text/event-stream" });
            res.write('data: {"choices":[{"delta":{"content":"Par"}}]}\n\n');
            setTimeout(() => {
                res.write('data: {"choices":[{"delta":{"content":"is"},"finish_reason":"length"}]}\n\n');
                res.end('data: {"choices":[],"usage":{"completion_tokens":2}}\n\ndata: [DONE]\n\n');
            }, 300);
        } else {
            res.writeHead(503, { "content-type": "text/plain" });
            res.end("x".repeat(20_000));
        }
    });
    let url = "";
    beforeAll(async () => {
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => server.close());

    test("in the order sent: status, the first byte before the last, when it ended, the tokens and finish reason it carried, the body cut to 12 KiB", async () => {
        const before = Date.now();
        const items = ["a", "b", "a"].map((id) => ({ id, request: { stream: true } }));
        const { pairs } = await handler({
            mode: "pace",
            url,
            path: "/v1/chat/completions",
            pinHeader: "x-pin",
            pins: { stable: "stable", canary: "always" },
            timeoutMs: 5000,
            items,
            ratePerSecond: 20,
        });
        expect(pairs.map((p) => p.id)).toEqual(["a", "b", "a"]);
        for (const { stable, canary } of pairs) {
            expect(stable).toMatchObject({ status: 200, tokens: 2, finish: "length", truncated: false });
            // The first piece came at least the server's 300 ms before the last (less the slack of a loaded machine).
            expect((stable.ms as number) - (stable.firstMs as number)).toBeGreaterThanOrEqual(200);
            expect(stable.doneAt as number).toBeGreaterThanOrEqual(before + (stable.ms as number));
            expect(canary).toMatchObject({ status: 503, truncated: true });
            expect((canary.body as string).length).toBe(12 * 1024);
        }
    });

    test.each([
        ["a whole answer", '{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"completion_tokens":7}}', { tokens: 7, finish: "stop" }],
        ["a stream without its usage", 'data: {"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n', { finish: "stop" }],
        ["a body that says nothing of it", "plain text", {}],
    ])("what %s says of its tokens and finish", (_what, body, expected) => {
        expect(usageOf(body)).toEqual(expected);
    });
});
