/**
 * The model's gates (`rollout.gates`): rates the judge holds the canary to beside 5xx and
 * slow requests, each a count of bad events over a count of trials per version, read from the
 * model server's per-minute series (`versionMetrics.<version>.server`):
 * - `cutoff`: answers cut off at the length limit, over answers (vLLM's `finished_reason`);
 * - `ttft`: requests whose time to first token was above `metrics.prometheus.countAbove.timeToFirstToken`,
 *   over requests (the histogram's count less its count within the bound).
 */
import { decimal, integer, section } from "./fields";
import type { ServerMetricRefs } from "./outputs";

export const GATE_KINDS = ["cutoff", "ttft"] as const;
export type GateKind = (typeof GATE_KINDS)[number];

type Series = { series: keyof ServerMetricRefs; stat: "Sum" | "SampleCount" };
/** Where a gate's counts come from: its trials, and its bad events, or its good ones (bad = trials - good). */
export const GATE_SERIES: Record<GateKind, { trials: Series } & ({ bad: Series } | { good: Series })> = {
    cutoff: { trials: { series: "answers", stat: "Sum" }, bad: { series: "answersCutOff", stat: "Sum" } },
    ttft: { trials: { series: "timeToFirstToken", stat: "SampleCount" }, good: { series: "timeToFirstTokenWithin", stat: "SampleCount" } },
};

/** How reports name each gate's events. */
export const GATE_LABELS: Record<GateKind, { label: string; short: string }> = {
    cutoff: { label: "cut-off answer", short: "cut off" },
    ttft: { label: "slow-first-token", short: "slow first token" },
};

const gate = (what: string, detect: number) =>
    section({
        tolerancePercent: integer(0, 1000).default(0).describe(`How much higher (percent) the canary's rate of ${what} may be than stable's.`),
        detectFactor: decimal(1.01, 100)
            .default(detect)
            .describe(`A canary whose rate of ${what} is this many times stable's (or more) must be caught: promoted at most missRate of the time.`),
        dispersion: decimal(1, 100)
            .optional()
            .describe(
                `How bursty ${what} are: the variance of a version's count over its mean (a conversation or a client's batch makes them come together). Unset, measured from stable's last 3 hours, as errorDispersion is.`,
            ),
    });

export const gatesSection = section({
    cutoff: gate("answers cut off at the length limit", 2)
        .optional()
        .describe("Judge answers cut off at max_tokens, over answers (needs metrics.prometheus with server vllm, whose answers carry a finish reason)."),
    ttft: gate("requests whose first token came after the bound", 1.5)
        .optional()
        .describe("Judge requests whose time to first token was above metrics.prometheus.countAbove.timeToFirstToken, over requests."),
});
