/**
 * The model's gates (`rollout.gates`): what the judge holds the canary to beside 5xx and slow
 * requests, each a count of events over a count of trials per version:
 * - `cutoff`: answers cut off at the length limit, over answers (vLLM's `finished_reason`);
 * - `aborted`: answers aborted before they finished, over answers (the same label);
 * - `ttft`: requests whose time to first token was above `metrics.prometheus.countAbove.timeToFirstToken`,
 *   over requests (the histogram's count less its count within the bound);
 * - `tokens`: tokens generated, over answers: a rate, not a share (an answer has hundreds);
 * - `events.<name>`: a count the application publishes per version (refusals, invalid JSON,
 *   guardrail interventions), over a count it publishes beside it.
 * The first three are read from the model server's per-minute series (`versionMetrics.<version>.server`),
 * the application's from `versionMetrics.<version>.events`.
 */
import { decimal, integer, matching, namedSections, section } from "./fields";
import type { ServerMetricRefs } from "./outputs";

/** The built-in gates, read from the model server's series. */
export const GATE_KINDS = ["cutoff", "aborted", "ttft", "tokens"] as const;
export type GateKind = (typeof GATE_KINDS)[number];

/**
 * Where one of a gate's counts comes from: a statistic of a model server's series, or the `Sum`
 * of a metric the application publishes.
 */
export type CountSource = { series: keyof ServerMetricRefs; stat: "Sum" | "SampleCount" } | { event: string };

/**
 * A gate the judge holds the canary to. A `share` counts events that each are one of the trials
 * (a cut-off answer is an answer); a `rate` counts events of which a trial may have many (tokens
 * per answer), so the tests that treat a trial as a yes-or-no do not apply to it.
 */
export interface GateSpec {
    /** Its name in `rollout.gates` (`cutoff`, or an event gate's name): the key of its counts. */
    id: string;
    /** Its config key, for messages. */
    key: string;
    /** How reports name its events, and how a version's rate of them is quoted. */
    label: string;
    short: string;
    measure: "share" | "rate";
    trials: CountSource;
    /** Its events, or (for a share read as what stayed within a bound) the trials that were not events. */
    counted: { events: CountSource } | { good: CountSource };
    tolerancePercent: number;
    detectFactor: number;
    dispersion?: number;
}

/** A dispersion as a schema field: up to `max`, optional (measured from stable when unset). */
const dispersionOf = (what: string, max: number) =>
    decimal(1, max)
        .optional()
        .describe(
            `How bursty ${what} are: the variance of a version's count over its mean under independence (a conversation or a client's batch makes them come together). Unset, measured from stable's last 3 hours, as errorDispersion is.`,
        );

const tuning = (what: string, tolerance: number, detect: number, maxDispersion = 100) => ({
    tolerancePercent: integer(0, 1000).default(tolerance).describe(`How much higher (percent) the canary's rate of ${what} may be than stable's.`),
    detectFactor: decimal(1.01, 100)
        .default(detect)
        .describe(`A canary whose rate of ${what} is this many times stable's (or more) must be caught: promoted at most missRate of the time.`),
    dispersion: dispersionOf(what, maxDispersion),
});

/** CloudWatch metric names: what `PutMetricData` and embedded metric format accept (1 to 255 characters, no leading colon). */
const metricName = matching(/^[^:\s][^\s]{0,254}$/, "a CloudWatch metric name: 1 to 255 characters, no spaces, not starting with a colon");

/** An event gate's name: a CloudWatch query id's part, so a lowercase letter, then letters and digits. */
const EVENT_NAME = /^[a-z][a-zA-Z0-9]{0,31}$/;
/** Names an event gate may not take: the built-in gates' and the traffic gates'. */
const TAKEN_NAMES = [...GATE_KINDS, "errors", "slow", "events"];

const eventGate = section({
    metric: metricName.describe("The metric counting the events, published with the dimension Version (the task's CANARY_VERSION) in the service's namespace."),
    trials: metricName.describe("The metric counting what the events are out of (answers, requests), published beside it."),
    ...tuning("the events", 0, 2),
});

export const gatesSection = section({
    cutoff: section(tuning("answers cut off at the length limit", 0, 2))
        .optional()
        .describe("Judge answers cut off at max_tokens, over answers (needs metrics.prometheus with server vllm, whose answers carry a finish reason)."),
    aborted: section(tuning("answers aborted before they finished", 0, 2))
        .optional()
        .describe(
            "Judge answers aborted before they finished (a client that gave up waiting, a server that dropped the request), over answers (needs metrics.prometheus with server vllm).",
        ),
    ttft: section(tuning("requests whose first token came after the bound", 0, 1.5))
        .optional()
        .describe("Judge requests whose time to first token was above metrics.prometheus.countAbove.timeToFirstToken, over requests."),
    tokens: section(tuning("tokens generated per answer", 10, 1.3, 100000))
        .optional()
        .describe(
            "Judge tokens generated per answer (cost, and the time a stream takes), from the server's generatedTokens and answers series. Answers vary in length, so its dispersion is large (hundreds): measured from stable unless set.",
        ),
    events: namedSections(
        (name) => EVENT_NAME.test(name) && !TAKEN_NAMES.includes(name),
        `a lowercase letter, then up to 31 letters or digits, not one of ${TAKEN_NAMES.map((n) => `"${n}"`).join(", ")}`,
        eventGate,
        "name",
    )
        .optional()
        .describe(
            "Judge counts the application publishes per version (refusals, invalid JSON, guardrail interventions), each over its trials: docs/metrics.md shows how to publish them.",
        ),
});
export type GatesConfig = ReturnType<typeof gatesSection.parse>;

const BUILT_IN: Record<GateKind, Pick<GateSpec, "label" | "short" | "measure" | "trials" | "counted">> = {
    cutoff: {
        label: "cut-off answer",
        short: "cut off",
        measure: "share",
        trials: { series: "answers", stat: "Sum" },
        counted: { events: { series: "answersCutOff", stat: "Sum" } },
    },
    aborted: {
        label: "aborted answer",
        short: "aborted",
        measure: "share",
        trials: { series: "answers", stat: "Sum" },
        counted: { events: { series: "answersAborted", stat: "Sum" } },
    },
    ttft: {
        label: "slow-first-token",
        short: "slow first token",
        measure: "share",
        trials: { series: "timeToFirstToken", stat: "SampleCount" },
        counted: { good: { series: "timeToFirstTokenWithin", stat: "SampleCount" } },
    },
    tokens: {
        label: "tokens-per-answer",
        short: "tokens per answer",
        measure: "rate",
        trials: { series: "answers", stat: "Sum" },
        counted: { events: { series: "generatedTokens", stat: "Sum" } },
    },
};

/** Every gate the config turns on, the built-in ones first, in a fixed order. */
export function gatesOf(gates: GatesConfig): GateSpec[] {
    return [
        ...GATE_KINDS.flatMap((kind) => {
            const t = gates[kind];
            return t ? [{ id: kind, key: `rollout.gates.${kind}`, ...BUILT_IN[kind], ...t }] : [];
        }),
        ...Object.entries(gates.events ?? {}).map(([name, g]) => ({
            id: name,
            key: `rollout.gates.events.${name}`,
            label: name,
            short: name,
            measure: "share" as const,
            trials: { event: g.trials },
            counted: { events: { event: g.metric } },
            tolerancePercent: g.tolerancePercent,
            detectFactor: g.detectFactor,
            dispersion: g.dispersion,
        })),
    ];
}

/** A gate's tuning in the config, to set a measured dispersion on. */
export const tuningOf = (gates: GatesConfig, id: string): { dispersion?: number } | undefined =>
    (GATE_KINDS as readonly string[]).includes(id) ? gates[id as GateKind] : gates.events?.[id];

/** A version's rate of a gate's events as quoted: a share in percent, a rate per trial to a tenth, "-" without trials. */
export const rateText = (measure: GateSpec["measure"], c: { events: number; requests: number }) =>
    c.requests === 0 ? "-" : measure === "rate" ? (c.events / c.requests).toFixed(1) : `${((100 * c.events) / c.requests).toFixed(2)}%`;

/** How reports quote a gate's counts, from its id alone: a built-in gate's words, or an event gate's name as a share. */
export const displayOf = (id: string): Pick<GateSpec, "short" | "measure"> =>
    (GATE_KINDS as readonly string[]).includes(id) ? BUILT_IN[id as GateKind] : { short: id, measure: "share" };
