/**
 * The golden set's AWS side: the set read from S3 (`GetObject`), and the runner in the VPC
 * invoked through Lambda's `Invoke`, synchronously, one batch an invocation.
 *
 * Invoke answers 200 even when the function failed: the failure is in `FunctionError`
 * ("Unhandled" when the handler threw or timed out) with the error in the payload (Lambda API
 * Reference, "Invoke": Response Syntax). A synchronous invocation may run the function's whole
 * 900 s, so the client waits that long, and tries once more at most: a batch asks the model
 * again, which is safe (it only reads) but not free.
 */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GoldenItem, RUNNER_CONCURRENCY, RUNNER_TIMEOUT_SECONDS } from "../../contract/golden";
import type { GoldenSetOutputs } from "../../contract/outputs";
import { RunnerAnswer, RunnerPort, Waiting } from "../core/ports";
import type { LoadPort, Tally } from "../core/load";
import type { PacedPair, StreamPort } from "../core/stream";
import type { Version } from "../../contract/versions";
import { Send } from "./send";

/** The golden set's text, or why it could not be read. */
export async function readGoldenSet(s3: Send<S3Client>, object: string): Promise<{ text: string } | { problem: string }> {
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(object) ?? [];
    try {
        const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { text: (await got.Body?.transformToString("utf-8")) ?? "" };
    } catch (e) {
        const error = e as Error;
        return { problem: error.name === "NoSuchKey" ? `no object ${object}` : `${object} could not be read (${error.name}: ${error.message})` };
    }
}

/**
 * A Lambda client that waits out a whole invocation of the runner, and tries it `attempts` times
 * at most: twice for a batch of golden items; once for a minute of the paired stream, whose
 * requests a second try would send again without the first's being taken out of the live counts.
 */
export function runnerClient(region: string | undefined, attempts = 2): LambdaClient {
    return new LambdaClient({ region, maxAttempts: attempts, requestHandler: { requestTimeout: (RUNNER_TIMEOUT_SECONDS + 60) * 1000 } });
}

export class LambdaRunner implements RunnerPort, LoadPort, StreamPort {
    constructor(
        private readonly lambda: Send<LambdaClient>,
        private readonly settings: GoldenSetOutputs,
    ) {}

    /** Invokes the runner with `event` (where to send, the items) and returns its payload, or throws what the function said. */
    private async invoke<T>(event: object, signal?: AbortSignal): Promise<T> {
        const s = this.settings;
        const full = {
            ...event,
            url: s.url,
            path: s.path,
            pinHeader: s.pinHeader,
            pins: s.pins,
            timeoutMs: s.requestTimeoutSeconds * 1000,
            signFor: s.signFor,
        };
        const out = await this.lambda.send(
            new InvokeCommand({ FunctionName: s.functionName, InvocationType: "RequestResponse", Payload: new TextEncoder().encode(JSON.stringify(full)) }),
            { abortSignal: signal },
        );
        const payload = out.Payload ? new TextDecoder().decode(out.Payload) : "";
        if (out.FunctionError) throw new Error(`the golden set's runner ${s.functionName} failed (${out.FunctionError}): ${payload.slice(0, 500)}`);
        return JSON.parse(payload) as T;
    }

    async answer(items: GoldenItem[], { signal }: Waiting = {}): Promise<{ stable: RunnerAnswer; canary: RunnerAnswer }[]> {
        const s = this.settings;
        const event = { concurrency: RUNNER_CONCURRENCY, items: items.map(({ id, request }) => ({ id, request })) };
        const { answers } = await this.invoke<{ answers: { id: string; stable: RunnerAnswer; canary: RunnerAnswer }[] }>(event, signal);
        if (answers.length !== items.length || answers.some((a, i) => a.id !== items[i].id))
            throw new Error(`the golden set's runner ${s.functionName} answered ${answers.length} items for ${items.length} asked, or out of order`);
        return answers;
    }

    load(items: GoldenItem[], ratePerSecond: number, seconds: number): Promise<Record<Version, Tally>> {
        return this.invoke({ mode: "load", ratePerSecond, seconds, items: items.map(({ id, request }) => ({ id, request })) });
    }

    async pace(items: GoldenItem[], ratePerSecond: number): Promise<PacedPair[]> {
        const { pairs } = await this.invoke<{ pairs: PacedPair[] }>({ mode: "pace", ratePerSecond, items: items.map(({ id, request }) => ({ id, request })) });
        return pairs;
    }
}
