/**
 * The model server's own metric series, as config knows them: the four the product reads,
 * and what common servers call them. Plain data, so the config rules and the collector
 * (`compute/serverMetrics.ts`) read the same names.
 */

const SERVER_METRICS = ["timeToFirstToken", "interTokenLatency", "queueDepth", "generatedTokens"] as const;
export type ServerMetric = (typeof SERVER_METRICS)[number];

/** The servers with presets, and `custom`. */
export const SERVERS = ["vllm", "tgi", "triton", "custom"] as const;

/**
 * What common servers call those series (vLLM 0.8+, TGI 3, Triton 24+); `names` in config
 * overrides or adds to them. TGI and Triton report no time to first token in a form that
 * compares across requests, so their presets leave it out.
 */
const SERVER_PRESETS: Record<(typeof SERVERS)[number], Partial<Record<ServerMetric, string>>> = {
    vllm: {
        timeToFirstToken: "vllm:time_to_first_token_seconds",
        interTokenLatency: "vllm:time_per_output_token_seconds",
        queueDepth: "vllm:num_requests_waiting",
        generatedTokens: "vllm:generation_tokens_total",
    },
    tgi: { interTokenLatency: "tgi_request_mean_time_per_token_duration", queueDepth: "tgi_queue_size" },
    triton: { queueDepth: "nv_inference_pending_request_count" },
    custom: {},
};

/** The Prometheus series each metric reads, for this config. */
export function serverMetricNames(prometheus: {
    server: (typeof SERVERS)[number];
    names: Partial<Record<ServerMetric, string>>;
}): Partial<Record<ServerMetric, string>> {
    return { ...SERVER_PRESETS[prometheus.server], ...prometheus.names };
}
