/**
 * Paired evidence during the steps (`evaluation.requestsPerSecond`): the golden set's runner
 * sends items, drawn at random with replacement, to both versions through their pins at a set
 * rate, a minute of them an invocation, for as long as the steps bake. Each pair is the same
 * request to both versions at the same moment, so its mix is the same for both, whatever the
 * weight: it is a stratum of its own.
 *
 * What it gives the judge, per minute (by when each answer ended, the minute the traffic
 * layer counts it in):
 * - each version's counts as the runner measured them, read like a minute of traffic: 5xx (or
 *   no answer), requests slower than the slow threshold, and the gates the runner can count in
 *   its own answers (first tokens after the `ttft` gate's bound, cut-off answers, tokens);
 * - the same counts to take out of the live minute: the runner's requests reach the traffic
 *   layer and the model server too, but their mix differs from live traffic's, and the canary's
 *   share of them is half, not its weight;
 * - each pair's scorer verdicts, for the paired test of the answers.
 * A minute is judged only once every invocation that could have ended answers in it has
 * returned (`settledUntil`).
 */
import mt19937 = require("@stdlib/random-base-mt19937");
import { GoldenItem, Scorer } from "../../contract/golden";
import { passed } from "./golden";
import type { GoldenSetOutputs } from "../../contract/outputs";
import { RolloutSchedule, UNPINNED_SLOW_SECONDS } from "../../contract/schedule";
import { gatesOf } from "../../contract/gates";
import { Version, VERSIONS } from "../../contract/versions";
import { MINUTE_MS } from "./minutes";
import { VersionSample } from "./ports";

/** One version's answer in the stream, as the runner returns it (`mesh/evaluation/handler.js`, pace mode): status 0 when no answer came. */
export interface PacedAnswer {
    status: number;
    /** To the last byte, and to the first (a streamed answer's first token), as the runner saw them. */
    ms: number;
    firstMs?: number;
    /** When the answer ended, epoch ms. */
    doneAt: number;
    /** The tokens it generated and why it finished, where the answer says. */
    tokens?: number;
    finish?: string;
    body: string;
}

export interface PacedPair {
    id: string;
    stable: PacedAnswer;
    canary: PacedAnswer;
}

/** The runner's pace mode: `items`, one each in that order, sent to both versions at `ratePerSecond`; resolves once every answer is in. */
export interface StreamPort {
    pace(items: GoldenItem[], ratePerSecond: number): Promise<PacedPair[]>;
}

/** How the runner's answers count as traffic, as the layer and the server count requests. */
export interface RunnerCounting {
    /** The slow-request threshold, ms: the runner's requests slower than it are slow in its counts, as the layer's are in the live ones. */
    slowMs: number;
    /** The `ttft` gate's bound, ms, where the stack judges first tokens. */
    firstTokenBoundMs?: number;
    /** The ids of the gates the schedule judges. */
    gates: string[];
}

/** One of the runner's answers, and the version that gave it. */
export interface RunnerRecord {
    version: Version;
    answer: PacedAnswer;
}

export interface StreamSettings extends RunnerCounting {
    ratePerSecond: number;
    /** How an answer passes, and the losses of pass rate (0-1) the paired test of the answers tolerates and would exclude; none with a judge model (it would be asked of every pair). */
    answers?: { scorer: Scorer; toleratedLoss: number; detectLoss: number };
    seed: number;
}

/** A pair's verdicts, for the paired test. */
export interface PairOutcome {
    stablePass: boolean;
    canaryPass: boolean;
}

/** The gates whose events the runner sees in its own answers (`mesh/config/shared.ts` refuses the others beside a stream). */
const STREAM_GATES = ["cutoff", "ttft", "tokens"] as const;

/** The length of one invocation's sending. */
const CHUNK_MS = MINUTE_MS;

const answered = (a: PacedAnswer) => a.status >= 200 && a.status < 300;

/** One answer's counts, as one request of a minute. */
function countsOf(a: PacedAnswer, settings: RunnerCounting): VersionSample {
    const gates: NonNullable<VersionSample["gates"]> = {};
    for (const id of settings.gates) {
        if (id === "ttft" && settings.firstTokenBoundMs !== undefined && answered(a))
            gates.ttft = { events: Number((a.firstMs ?? a.ms) > settings.firstTokenBoundMs), requests: 1 };
        if (id === "cutoff" && answered(a) && a.finish !== undefined) gates.cutoff = { events: Number(a.finish === "length"), requests: 1 };
        if (id === "tokens" && answered(a) && a.tokens !== undefined) gates.tokens = { events: a.tokens, requests: 1 };
    }
    return {
        requests: 1,
        errors: Number(a.status === 0 || a.status >= 500),
        slow: Number(a.ms > settings.slowMs),
        ...(Object.keys(gates).length ? { gates } : {}),
    };
}

const sum = (into: VersionSample, c: VersionSample) => {
    into.requests += c.requests;
    into.errors += c.errors;
    into.slow += c.slow;
    for (const [id, g] of Object.entries(c.gates ?? {})) {
        const to = ((into.gates ??= {})[id] ??= { events: 0, requests: 0 });
        to.events += g.events;
        to.requests += g.requests;
    }
};

/** Each version's counts of the runner's answers that ended in [start, end). */
export function runnerCounts(records: RunnerRecord[], counting: RunnerCounting, start: number, end: number): Record<Version, VersionSample> {
    const out = Object.fromEntries(VERSIONS.map((v) => [v, { requests: 0, errors: 0, slow: 0 }])) as Record<Version, VersionSample>;
    for (const { version, answer } of records) if (answer.doneAt >= start && answer.doneAt < end) sum(out[version], countsOf(answer, counting));
    return out;
}

export class PairedStream {
    private pairs: PacedPair[] = [];
    /** Each invocation in flight, by when its sending began. */
    private readonly inFlight = new Set<number>();
    private nextStart = -Infinity;
    private stopped = false;
    private readonly draw: () => number;
    /** Pairs sent so far, and invocations that failed (their requests, if any were sent, stay in the live counts). */
    readonly sent = { pairs: 0, failed: 0 };

    constructor(
        private readonly port: StreamPort,
        private readonly items: GoldenItem[],
        readonly settings: StreamSettings,
        private readonly log: (line: string) => void,
    ) {
        const prng = mt19937.factory({ seed: settings.seed });
        this.draw = () => prng() / 4294967296;
    }

    /**
     * Starts the next minute's sending once the last one's has run its minute (the engine calls
     * this at every poll while a step bakes, so the stream pauses between steps).
     */
    tick(now: number): void {
        if (this.stopped || now < this.nextStart) return;
        this.nextStart = now + CHUNK_MS;
        const count = Math.round((this.settings.ratePerSecond * CHUNK_MS) / 1000);
        const items = Array.from({ length: count }, () => this.items[Math.floor(this.draw() * this.items.length)]);
        this.inFlight.add(now);
        this.sent.pairs += count;
        this.port
            .pace(items, this.settings.ratePerSecond)
            .then((pairs) => this.pairs.push(...pairs))
            .catch((e) => {
                this.sent.failed += 1;
                this.log(`paired stream: the runner's minute failed (${(e as Error).message}); its requests, if any were sent, stay in the live counts`);
            })
            .finally(() => this.inFlight.delete(now));
    }

    /** Sends no more. */
    stop(): void {
        this.stopped = true;
    }

    /** Minutes ending at or before this have every answer the runner will return for them. */
    settledUntil(): number {
        return Math.min(Infinity, ...this.inFlight);
    }

    /** Each version's counts of the answers that ended in [start, end). */
    counts(start: number, end: number): Record<Version, VersionSample> {
        return runnerCounts(this.records(), this.settings, start, end);
    }

    /** Every answer not yet forgotten, with its version. */
    records(): RunnerRecord[] {
        return this.pairs.flatMap((pair) => VERSIONS.map((version) => ({ version, answer: pair[version] })));
    }

    /** The scorer's verdicts on the pairs whose later answer ended in [start, end); none without a scorer. */
    outcomes(start: number, end: number): PairOutcome[] {
        const scorer = this.settings.answers?.scorer;
        if (!scorer) return [];
        const byId = new Map(this.items.map((item) => [item.id, item.expected]));
        return this.pairs
            .filter((p) => {
                const done = Math.max(p.stable.doneAt, p.canary.doneAt);
                return done >= start && done < end;
            })
            .map((p) => ({ stablePass: passed(p.stable, scorer, byId.get(p.id)), canaryPass: passed(p.canary, scorer, byId.get(p.id)) }));
    }

    /** Drops the pairs that ended before `t`: their minutes are judged. */
    forget(t: number): void {
        this.pairs = this.pairs.filter((p) => p.stable.doneAt >= t || p.canary.doneAt >= t);
    }
}

/** How the runner's answers count, on the schedule's gates with its slow threshold as resolved, and the `ttft` gate's bound where the stack has one. */
export function runnerCounting(schedule: RolloutSchedule, firstTokenBoundSeconds?: number): RunnerCounting {
    return {
        slowMs: (schedule.slowRequestSeconds ?? UNPINNED_SLOW_SECONDS) * 1000,
        ...(firstTokenBoundSeconds !== undefined ? { firstTokenBoundMs: firstTokenBoundSeconds * 1000 } : {}),
        gates: gatesOf(schedule.gates).map((g) => g.id),
    };
}

/** The stream a stack asks for (`evaluation.requestsPerSecond`); undefined without one. */
export function streamSettings(golden: GoldenSetOutputs, schedule: RolloutSchedule): StreamSettings | undefined {
    if (golden.requestsPerSecond === undefined) return undefined;
    const scorer = golden.scorer as Scorer;
    return {
        ratePerSecond: golden.requestsPerSecond,
        ...runnerCounting(schedule, golden.firstTokenBoundSeconds),
        ...(scorer.kind === "judge"
            ? {}
            : { answers: { scorer, toleratedLoss: golden.toleratedLossPercent / 100, detectLoss: golden.detectLossPercent / 100 } }),
        seed: golden.seed,
    };
}

/**
 * What keeps a golden set's items from serving the stream on these gates, one line per item: the
 * runner reads a first token only in a streamed answer, and a streamed answer's tokens only when
 * the request asks for its usage.
 */
export function streamProblems(items: GoldenItem[], gates: string[]): string[] {
    const asks = (request: GoldenItem["request"]) => (typeof request === "object" ? (request as Record<string, unknown>) : {});
    return items.flatMap(({ id, request }) => {
        const r = asks(request);
        const streams = r.stream === true;
        const usage = (r.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
        return [
            ...(gates.includes("ttft") && !streams ? [`item ${id}: the ttft gate needs a streamed answer ("stream": true) to read the first token`] : []),
            ...(gates.includes("tokens") && streams && !usage
                ? [`item ${id}: the tokens gate needs the streamed answer's usage ("stream_options": {"include_usage": true})`]
                : []),
        ];
    });
}

/** What the rollout says of the stream before it starts. */
export function streamLine(s: StreamSettings): string {
    const gates = s.gates.filter((g) => (STREAM_GATES as readonly string[]).includes(g));
    return (
        `paired stream: ${s.ratePerSecond} golden items a second to each version through their pins while the steps bake, judged as a stratum beside live traffic ` +
        `(5xx, slow requests${gates.length ? `, ${gates.join(", ")}` : ""}) and taken out of the live counts` +
        (s.answers
            ? `; its answers scored, the canary rolled back if shown to lose more than ${Math.round(100 * s.answers.toleratedLoss)} points`
            : "; its answers not scored (a judge model is asked at the evaluation moments only)") +
        "; a budget's plan counts live traffic alone (docs/evaluation.md)"
    );
}
