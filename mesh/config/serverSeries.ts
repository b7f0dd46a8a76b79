/**
 * The model server's own metric series, as config knows them: the series the product reads,
 * what each kind of series is, and what common servers call them, with the bucket bounds and
 * the finish-reason label of the pinned server versions. Plain data, so the config rules and
 * the collector (`compute/serverMetrics.ts`) read the same names.
 */

/**
 * Each series the product reads, and its Prometheus type: a histogram (a latency), a counter
 * or a gauge. The collector turns histograms' counts and sums and counters into per-minute
 * deltas; a gauge is read as it is.
 */
export const SERIES_KINDS = {
    timeToFirstToken: "histogram",
    interTokenLatency: "histogram",
    requestTime: "histogram",
    queueDepth: "gauge",
    generatedTokens: "counter",
    answers: "counter",
} as const;
export type ServerMetric = keyof typeof SERIES_KINDS;
/** The latencies a per-minute count above a bound can be read for (`metrics.prometheus.countAbove`). */
export const BOUNDED_SERIES = ["timeToFirstToken", "requestTime"] as const;
export type BoundedSeries = (typeof BOUNDED_SERIES)[number];

/** The servers with presets, and `custom`. */
export const SERVERS = ["vllm", "tgi", "tei", "triton", "llamacpp", "custom"] as const;
type Server = (typeof SERVERS)[number];

interface Preset {
    /** The server version the names, bounds and labels were checked against. */
    checked: string;
    /** The port its metrics are served on, when it is not the model's own. */
    port?: number;
    names: Partial<Record<ServerMetric, string>>;
    /** Each histogram's bucket upper bounds (`le`), seconds: a count above a bound is read from the bucket at it, so only these can be asked for. */
    bounds: Partial<Record<BoundedSeries, readonly number[]>>;
    /** The label of `answers` that says why an answer ended, and its values. */
    finishReason?: { label: string; values: readonly string[]; cutOff: string; aborted: string };
}

/** The Hugging Face servers' duration buckets: 35 bounds, each 1.5 times the last, from `first` x 1.5, multiplied as they are in Rust. */
function geometric(first: number): number[] {
    const bounds: number[] = [];
    let value = first;
    for (let k = 0; k < 35; k++) bounds.push((value *= 1.5));
    return bounds;
}

/**
 * What common servers call those series, as their sources say:
 * - vLLM 0.9 (`vllm/v1/metrics/loggers.py`): the histograms' buckets as listed there, and
 *   `vllm:request_success_total` by `finished_reason` (`stop`, `length` at `max_tokens`, `abort`);
 * - TGI 3.3 (`router/src/server.rs`): no time to first token and no finish reason;
 *   `tgi_request_generated_tokens` is a histogram whose sum is the tokens generated; every
 *   `*duration` histogram's buckets are 0.0001 x 1.5^k seconds, k = 1..35, multiplied in f64 as
 *   the server does and written by `metrics-exporter-prometheus` with Rust's `Display` for f64,
 *   the shortest text that reads back as the same number (what JavaScript's `String` gives too,
 *   for these magnitudes), e.g. `le="2.5251168294042348"`;
 * - text-embeddings-inference 1.9 (`core/src/infer.rs`, `router/src/prometheus.rs`): metrics on
 *   their own port, 9000 (`--prometheus-port`); an embedder's request time is
 *   `te_embed_duration` (a reranker's `te_predict_duration`, set in `names`), its buckets
 *   0.00001 x 1.5^k seconds, k = 1..35, written the same way;
 * - Triton 24+ (its metrics docs): the queue's gauge. Its latencies are cumulative counters
 *   (`nv_inference_request_duration_us`); its one histogram, time to first response, is off
 *   unless the server runs with `--metrics-config histogram_latencies=true`, so no count above
 *   a bound is read from it here.
 * - llama.cpp's server (tools/server/README.md, `--metrics`; the `llamacpp:` series of build
 *   b8840): counters and gauges only, no histogram and no count of requests or answers, so
 *   tokens are read (`llamacpp:tokens_predicted_total`) and the queue
 *   (`llamacpp:requests_deferred`), no latency and no model gate that needs answers.
 */
const SERVER_PRESETS: Record<Server, Preset> = {
    vllm: {
        checked: "vLLM 0.9",
        names: {
            timeToFirstToken: "vllm:time_to_first_token_seconds",
            interTokenLatency: "vllm:time_per_output_token_seconds",
            requestTime: "vllm:e2e_request_latency_seconds",
            queueDepth: "vllm:num_requests_waiting",
            generatedTokens: "vllm:generation_tokens_total",
            answers: "vllm:request_success_total",
        },
        bounds: {
            timeToFirstToken: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560],
            requestTime: [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680],
        },
        finishReason: { label: "finished_reason", values: ["stop", "length", "abort"], cutOff: "length", aborted: "abort" },
    },
    tgi: {
        checked: "TGI 3.3",
        names: {
            interTokenLatency: "tgi_request_mean_time_per_token_duration",
            requestTime: "tgi_request_duration",
            queueDepth: "tgi_queue_size",
            generatedTokens: "tgi_request_generated_tokens",
            answers: "tgi_request_success",
        },
        bounds: { requestTime: geometric(0.0001) },
    },
    tei: {
        checked: "text-embeddings-inference 1.9",
        port: 9000,
        names: { requestTime: "te_embed_duration", queueDepth: "te_queue_size", answers: "te_request_success" },
        bounds: { requestTime: geometric(0.00001) },
    },
    triton: { checked: "Triton 24", names: { queueDepth: "nv_inference_pending_request_count" }, bounds: {} },
    llamacpp: {
        checked: "llama.cpp server b8840",
        names: { queueDepth: "llamacpp:requests_deferred", generatedTokens: "llamacpp:tokens_predicted_total" },
        bounds: {},
    },
    custom: { checked: "", names: {}, bounds: {} },
};

/** The Prometheus series each metric reads, for this config. */
export function serverMetricNames(prometheus: { server: Server; names: Partial<Record<ServerMetric, string>> }): Partial<Record<ServerMetric, string>> {
    return { ...SERVER_PRESETS[prometheus.server].names, ...prometheus.names };
}

/** The bucket bounds a count above can be read at, for a server's preset. */
export const bucketBounds = (server: Server, series: BoundedSeries): readonly number[] => SERVER_PRESETS[server].bounds[series] ?? [];

/** The server's finish-reason label on `answers`, where it has one. */
export const finishReasonOf = (server: Server) => SERVER_PRESETS[server].finishReason;

/** The server version the preset was checked against, for messages. */
export const checkedVersionOf = (server: Server) => SERVER_PRESETS[server].checked || server;

/** The port a server's metrics are served on, when the preset knows it is not the model's own. */
export const metricsPortOf = (server: Server) => SERVER_PRESETS[server].port;
