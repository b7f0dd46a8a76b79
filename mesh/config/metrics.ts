/** The model server's own metrics, and the canary's alarms. */
import { SNS_TOPIC_ARN, HTTP_PATH } from "./patterns";
import { decimal, integer, matching, oneOf, rule, section, stringList } from "../../contract/fields";
import { BOUNDED_SERIES, bucketBounds, checkedVersionOf, SERVERS } from "./serverSeries";

/** Prometheus series names, as servers spell them (vLLM's have colons). */
const PROMETHEUS_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const prometheusName = () => matching(PROMETHEUS_NAME, 'a Prometheus metric name, e.g. "vllm:num_requests_waiting"').optional();

/**
 * The model server's own Prometheus metrics, scraped beside it per version and published
 * to CloudWatch (`mesh/compute/serverMetrics.ts`).
 */
export const prometheus = section(
    {
        server: oneOf(SERVERS).default("vllm").describe("Which server's metric names to read: a preset, or `custom` with `names`."),
        port: integer(1025, 65535)
            .optional()
            .describe("Port of the metrics endpoint; default: the server's metrics port (text-embeddings-inference: 9000), else the model server's own port."),
        path: matching(HTTP_PATH, "a path starting with '/'").default("/metrics").describe("Path of the metrics endpoint."),
        intervalSeconds: integer(10, 300).default(15).describe("Seconds between scrapes."),
        names: section({
            timeToFirstToken: prometheusName().describe("The server's time-to-first-token histogram."),
            interTokenLatency: prometheusName().describe("Its inter-token latency histogram."),
            queueDepth: prometheusName().describe("Its gauge of requests waiting."),
            generatedTokens: prometheusName().describe("Its counter of generated tokens."),
            requestTime: prometheusName().describe("Its histogram of whole request time, as the server measures it."),
            answers: prometheusName().describe("Its counter of finished answers (vLLM's by finish reason)."),
        })
            .default({})
            .describe("Series names that replace or add to the preset's."),
        countAbove: section({
            timeToFirstToken: decimal(0.001, 10000)
                .optional()
                .describe(
                    "Count, per version per minute, the requests whose time to first token was above this many seconds: a bucket bound of the server's histogram.",
                ),
            requestTime: decimal(0.001, 10000).optional().describe("The same for the whole request time the server measures."),
        })
            .default({})
            .describe(
                "Per-minute counts of requests slower than a bound, read from the server's histogram at that bucket bound (`TimeToFirstTokenWithin`, `RequestTimeWithin`).",
            ),
    },
    {
        rules: [
            rule<{ server: string; names: Record<string, string | undefined> }>(
                ["server", "names"],
                'server "custom" names at least one series',
                (p, report) => {
                    if (p.server === "custom" && Object.values(p.names).every((n) => n === undefined)) {
                        report("names", p.names, 'at least one series name with server "custom", e.g. { "queueDepth": "my_server_queue_size" }');
                    }
                },
            ),
            rule<{ server: (typeof SERVERS)[number]; countAbove: Partial<Record<(typeof BOUNDED_SERIES)[number], number>> }>(
                ["server", "countAbove"],
                "a count above a bound names one of the server's bucket bounds",
                (p, report) => {
                    for (const series of BOUNDED_SERIES) {
                        const bound = p.countAbove[series];
                        if (bound === undefined) continue;
                        const bounds = bucketBounds(p.server, series);
                        if (bounds.length === 0)
                            report(`countAbove.${series}`, bound, `no count above a bound with server "${p.server}": its bucket bounds are not pinned here`);
                        else if (!bounds.includes(bound))
                            report(`countAbove.${series}`, bound, `one of ${checkedVersionOf(p.server)}'s bucket bounds: ${bounds.join(", ")}`);
                    }
                },
            ),
        ],
    },
);

export const metrics = section({
    prometheus: prometheus
        .optional()
        .describe(
            "Scrape the model server's Prometheus metrics beside each version and publish them to CloudWatch (time to first token, inter-token latency, queue depth, tokens).",
        ),
});

/** Thresholds of the canary's alarms. */
export const alarms = section(
    {
        errorRatePercent: integer(1, 100).default(5).describe("Alarm when more than this percent of the canary's requests fail with 5xx."),
        p99LatencySeconds: integer(1, 3600).default(60).describe("Alarm when the canary's p99 request time exceeds this."),
        minRequests: integer(1, 100000).default(10).describe("Below this many requests in a period, the error rate is not judged."),
        periodSeconds: integer(60, 3600).default(60).describe("The alarms' period."),
        evaluationPeriods: integer(1, 60).default(3).describe("Periods in a row over the threshold before an alarm fires."),
        timeToFirstTokenIncreasePercent: integer(1, 1000)
            .optional()
            .describe("Alarm when the canary's average time to first token is this many percent above stable's (needs metrics.prometheus)."),
        interTokenLatencyIncreasePercent: integer(1, 1000).optional().describe("The same for inter-token latency."),
        queueDepth: decimal(0.1, 100000).optional().describe("Alarm when the canary's average queue depth is above this."),
        actions: stringList(SNS_TOPIC_ARN, 'SNS topic ARNs, e.g. ["arn:aws:sns:us-west-2:123456789012:on-call"]')
            .optional()
            .describe(
                "SNS topics told when a canary alarm fires and when it clears (a pager, a chat channel). The rollout reads the alarms' state either way.",
            ),
    },
    {
        rules: [
            rule<{ periodSeconds: number }>(["periodSeconds"], "periodSeconds is a multiple of 60", (a, report) => {
                if (a.periodSeconds % 60 !== 0) report("periodSeconds", a.periodSeconds, "a multiple of 60");
            }),
        ],
    },
);
