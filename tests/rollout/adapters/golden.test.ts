/** The golden set's AWS side (`rollout/adapters/golden.ts`, `bedrock.ts`): the set from S3, the runner through Lambda's Invoke, the judge model through Bedrock's Converse, as each API answers. */
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { LambdaRunner, readGoldenSet, runnerClient } from "../../../rollout/adapters/golden";
import { BedrockJudge } from "../../../rollout/adapters/bedrock";
import { ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { SIMULATED_SETTINGS } from "../../../rollout/simulator/golden";

const ITEMS = [
    { id: "a", request: { messages: [{ role: "user", content: "2+2?" }] }, expected: "4" },
    { id: "b", request: "raw", expected: "x" },
];
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const answer = (id: string) => ({ id, stable: { status: 200, ms: 5, body: "4" }, canary: { status: 200, ms: 6, body: "4" } });

test("the runner is invoked synchronously with the batch, both pins and the request timeout; its answers come back in order", async () => {
    const sent: InvokeCommand[] = [];
    const lambda = {
        send: async (command: InvokeCommand) => {
            sent.push(command);
            return { StatusCode: 200, Payload: encode({ answers: ITEMS.map((i) => answer(i.id)) }) };
        },
    };
    const answers = await new LambdaRunner(lambda as never, SIMULATED_SETTINGS).answer(ITEMS);
    expect(answers.map((a) => a.canary.body)).toEqual(["4", "4"]);
    const { FunctionName, InvocationType, Payload } = sent[0].input;
    expect([FunctionName, InvocationType]).toEqual(["simulated", "RequestResponse"]);
    expect(JSON.parse(new TextDecoder().decode(Payload as Uint8Array))).toEqual({
        url: "http://simulated",
        path: "/v1/chat/completions",
        pinHeader: "x-canary",
        pins: { stable: "stable", canary: "always" },
        timeoutMs: 300000,
        concurrency: 4,
        items: ITEMS.map(({ id, request }) => ({ id, request })),
    });
});

test("a function error comes back as a 200 with FunctionError set: the batch fails, naming the runner and the error", async () => {
    const lambda = {
        send: async () => ({
            StatusCode: 200,
            FunctionError: "Unhandled",
            Payload: encode({ errorType: "Error", errorMessage: "Task timed out after 900.00 seconds" }),
        }),
    };
    await expect(new LambdaRunner(lambda as never, SIMULATED_SETTINGS).answer(ITEMS)).rejects.toThrow(
        'the golden set\'s runner simulated failed (Unhandled): {"errorType":"Error","errorMessage":"Task timed out after 900.00 seconds"}',
    );
});

test("answers that do not match the batch are refused", async () => {
    const lambda = { send: async () => ({ StatusCode: 200, Payload: encode({ answers: [answer("b"), answer("a")] }) }) };
    await expect(new LambdaRunner(lambda as never, SIMULATED_SETTINGS).answer(ITEMS)).rejects.toThrow("answered 2 items for 2 asked, or out of order");
});

test("the set is read from its bucket and key; a missing object is said as such", async () => {
    const got: GetObjectCommand[] = [];
    const s3 = {
        send: async (command: GetObjectCommand) => {
            got.push(command);
            if (command.input.Key === "missing.jsonl") throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
            return { Body: { transformToString: async () => '{"id":"a","request":"q","expected":"x"}\n' } };
        },
    };
    expect(await readGoldenSet(s3 as never, "s3://acme-evals/chat/golden.jsonl")).toEqual({ text: '{"id":"a","request":"q","expected":"x"}\n' });
    expect(got[0].input).toEqual({ Bucket: "acme-evals", Key: "chat/golden.jsonl" });
    expect(await readGoldenSet(s3 as never, "s3://acme-evals/missing.jsonl")).toEqual({ problem: "no object s3://acme-evals/missing.jsonl" });
});

describe("the judge model on Bedrock", () => {
    const converse = (text: string) => {
        const sent: ConverseCommand[] = [];
        return {
            sent,
            send: async (c: ConverseCommand) => (sent.push(c), { output: { message: { role: "assistant", content: [{ text }] } }, stopReason: "end_turn" }),
        };
    };

    test.each([
        ["A", "first"],
        [" b.", "second"],
        ["TIE", "tie"],
    ])("answers %j: %s", async (text, choice) => {
        const bedrock = converse(text);
        expect(await new BedrockJudge(bedrock as never, "us.judge-v1:0", "Which is better?").prefer("2+2?", "4", "5")).toEqual({ choice, words: text.trim() });
        const input = bedrock.sent[0].input;
        expect(input.modelId).toBe("us.judge-v1:0");
        expect(input.inferenceConfig).toEqual({ maxTokens: 10, temperature: 0 });
        expect(input.messages![0].content![0].text).toBe(
            "Which is better?\n\n<request>\n2+2?\n</request>\n\n<answer_a>\n4\n</answer_a>\n\n<answer_b>\n5\n</answer_b>",
        );
    });

    test("any other answer is an error naming the model and its words", async () => {
        await expect(new BedrockJudge(converse("Both are fine") as never, "us.judge-v1:0", "q").prefer("p", "a", "b")).rejects.toThrow(
            'the judge model us.judge-v1:0 answered neither A, B nor TIE: "Both are fine"',
        );
    });
});

describe("the runner's client against a local endpoint that fails the first invocation", () => {
    const http = require("node:http") as typeof import("node:http");
    let invocations = 0;
    /** Lambda's Invoke (POST /2015-03-31/functions/NAME/invocations): a 500 ServiceException first, then the function's payload. */
    const server = http.createServer((req, res) => {
        req.resume();
        req.on("end", () => {
            invocations += 1;
            const failing = invocations % 2 === 1;
            res.writeHead(failing ? 500 : 200, { "content-type": "application/json", ...(failing ? { "x-amzn-errortype": "ServiceException" } : {}) });
            res.end(JSON.stringify(failing ? { message: "internal" } : { answers: ITEMS.map((i) => answer(i.id)), pairs: [] }));
        });
    });
    const saved = { ...process.env };
    beforeAll(async () => {
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        process.env.AWS_ENDPOINT_URL_LAMBDA = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
        process.env.AWS_SECRET_ACCESS_KEY = "secret";
    });
    afterAll(() => {
        process.env = saved;
        server.close();
    });

    test("a batch of golden items is tried again (it only reads); a minute of the paired stream is not (its requests would be sent twice)", async () => {
        invocations = 0;
        const batch = await new LambdaRunner(runnerClient("us-west-2"), SIMULATED_SETTINGS).answer(ITEMS);
        expect([batch.length, invocations]).toEqual([2, 2]);
        invocations = 0;
        await expect(new LambdaRunner(runnerClient("us-west-2", 1), SIMULATED_SETTINGS).pace(ITEMS, 1)).rejects.toThrow();
        expect(invocations).toBe(1);
    });
});
