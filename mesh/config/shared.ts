/** The settings every backend shares, and the rules across them. */
import { networkSection } from "./network";
import { healthCheck } from "./healthCheck";
import { evaluation } from "./evaluation";
import { metrics, prometheus, alarms } from "./metrics";
import { versionSection, isPinnedImage } from "./versionSection";
import { HEADER_NAME, STACK_NAME, LOG_RETENTION_DAYS, HEADER_VALUE, PROTOCOLS } from "./patterns";
import { z } from "zod";
import { boolean, DNS_LABEL, dnsLabel, field, integer, matching, oneOf, rule, section, stringList } from "../../contract/fields";
import { rolloutSection } from "../../contract/schedule";
import { finishReasonOf, serverMetricNames } from "./serverSeries";
import { DEFAULT_SERVICE_NAME } from "../../contract/outputs";
import { Version, VERSIONS } from "../../contract/versions";

/** The stack config key the rollout sets to raise a version's minimum task count. */
export const RAISED_MIN_KEY = { stable: "stableMinCount", canary: "canaryMinCount" } as const satisfies Record<Version, string>;

/** The environment variable that carries a callee's URL: `embedder` -> `EMBEDDER_URL`. */
export const calleeVariable = (service: string) => `${service.toUpperCase().replace(/-/g, "_")}_URL`;

/** Every backend's settings. */
export const shared = {
    canaryWeight: integer(0, 100).describe("Percent of requests sent to the canary; the stable version gets the rest."),
    platform: matching(STACK_NAME, 'a platform stack, as "org/ai-inference-platform/stack"')
        .optional()
        .describe(
            "The platform stack this service joins (Lattice or ALB): its VPC, service network and S3 endpoint are used, not declared, and the service's resources are named after `serviceName`. Unset, the stack stands alone.",
        ),
    calls: stringList(DNS_LABEL, 'service names on the same platform, e.g. ["embedder", "reranker"]')
        .optional()
        .describe(
            "Services on the same platform this one calls: each callee's URL, `http://<callee>.<zoneName>`, is in the model server's environment as `<CALLEE>_URL` (e.g. `EMBEDDER_URL`).",
        ),
    serviceName: dnsLabel().default(DEFAULT_SERVICE_NAME).describe("DNS label of the inference service."),
    protocol: oneOf(PROTOCOLS).default("http").describe("The service's protocol: it picks the route type and listener."),
    port: integer(1025, 65535).default(8080).describe("Port the model server listens on."),
    requestTimeoutSeconds: integer(1, 3600).default(300).describe("Upper bound on one inference request, including a long generation."),
    idleTimeoutSeconds: integer(1, 3600).optional().describe("How long a request may go without a byte in either direction; default: the request timeout."),
    pinHeader: matching(HEADER_NAME, "a lowercase header name of 1-50 letters, digits and '-', not starting with \"grpc-\"")
        .default("x-canary")
        .describe("A request carrying `pinHeader: pinValue` always goes to the canary."),
    pinValue: matching(HEADER_VALUE, "1-255 visible ASCII characters").default("always").describe("The pin header's value."),
    stablePinValue: matching(HEADER_VALUE, "1-255 visible ASCII characters")
        .default("stable")
        .describe(
            "A request carrying `pinHeader: stablePinValue` always goes to stable (on Lattice and the ALB): the golden set's runner compares both versions so.",
        ),
    healthCheck: healthCheck.describe("Active health check of every task of a version (App Mesh: each caller's Envoy; Lattice: the target group)."),
    stable: versionSection("stable").describe("The version that serves everyone: what it runs and how it scales."),
    canary: versionSection("canary").describe("The version being judged: the same fields as stable."),
    network: networkSection.describe("A VPC this stack creates, or an existing one (vpcId with its subnets); on a platform, the platform's."),
    modelLoadSeconds: integer(0, 3300)
        .optional()
        .describe(
            "Seconds a model server may take to load before ECS replaces the task as unhealthy (see `modelHealthTiming`); by default per version, 300 on Fargate and 900 on GPUs.",
        ),
    canaryMinCount: integer(0, 100)
        .optional()
        .describe(
            "Set by the rollout, not by hand: a version's minimum task count while a rollout moves traffic onto it (its share of the current load); unset, its `scaling.minCount` holds.",
        ),
    stableMinCount: integer(0, 100).optional().describe("The same for stable, while traffic returns to it after a promotion."),
    logRetentionDays: field(`one of ${LOG_RETENTION_DAYS.join(", ")}`, (raw) => {
        const days = Number(raw);
        return LOG_RETENTION_DAYS.includes(days) && String(raw).trim() === String(days) ? days : undefined;
    })
        .default(30)
        .describe("Retention of every log group, days."),
    requirePinnedImages: boolean().default(false).describe("Refuse images without a fixed tag or digest (`latest` or untagged)."),
    alarms: alarms.describe("Thresholds of the canary's alarms (the rollout reads them too)."),
    metrics: metrics.default({}).describe("The model server's own metrics, when it exports them."),
    evaluation: evaluation
        .optional()
        .describe("An evaluation the rollout runs against the canary (before traffic by default): a non-zero exit stops or rolls back the rollout."),
    rollout: rolloutSection.describe("The rollout's schedule and gates."),
    debug: section({
        execCommand: boolean()
            .default(false)
            .describe(
                "ECS Exec into the model tasks (`aws ecs execute-command`): a shell inside the VPC, to call the endpoint from where callers are. Turning it on replaces every task (on GPUs, a model reload), so no deploy may do it while a rollout holds the stack; the task role gains only Session Manager's channel actions, which turning it off takes away.",
            ),
    })
        .default({ execCommand: false })
        .describe("Tools for looking inside a running stack, off by default."),
};

type PrometheusInput = z.output<typeof prometheus>;

interface Shared {
    canaryWeight: number;
    canaryMinCount?: number;
    stableMinCount?: number;
    canary: { image: string; scaling: { minCount: number; maxCount: number } };
    requestTimeoutSeconds: number;
    idleTimeoutSeconds?: number;
    requirePinnedImages: boolean;
    stable: { image: string; scaling: { maxCount: number } };
    pinValue: string;
    stablePinValue: string;
    evaluation?: { goldenSet?: string; requestsPerSecond?: number };
}

/** The longest request a golden set's runner can wait for: a Lambda invocation's 900 s, less a minute for the rest of its batch. */
const MAX_RUNNER_REQUEST_SECONDS = 840;
/** Whether the stack asks for a paired stream during the steps (`evaluation.requestsPerSecond`). */
const pairedStream = (c: { evaluation?: { requestsPerSecond?: unknown } }) => typeof c.evaluation === "object" && c.evaluation?.requestsPerSecond !== undefined;
/** With paired evidence an invocation also spends a minute sending before its last request starts. */
const MAX_PACED_REQUEST_SECONDS = MAX_RUNNER_REQUEST_SECONDS - 60;

/** Which server-metric alarm reads which series. */
const SERVER_ALARMS = {
    timeToFirstTokenIncreasePercent: "timeToFirstToken",
    interTokenLatencyIncreasePercent: "interTokenLatency",
    queueDepth: "queueDepth",
} as const;

export const sharedRules = [
    rule<{
        platform?: string;
        calls?: string[];
        serviceName: string;
        stable: { environment: Record<string, string> };
        canary: { environment: Record<string, string> };
    }>(
        ["platform", "calls", "serviceName", "stable", "canary"],
        "calls needs platform, names no service twice nor itself, and no environment name it sets",
        (c, report) => {
            if (!c.calls) return;
            if (!c.platform) report("calls", c.calls, "no calls unless platform is set: callees are found by name on the platform");
            if (c.calls.includes(c.serviceName)) report("calls", c.calls, `services other than this one (${c.serviceName})`);
            if (new Set(c.calls).size !== c.calls.length) report("calls", c.calls, "each service once");
            for (const version of VERSIONS) {
                for (const name of c.calls.map(calleeVariable).filter((n) => n in c[version].environment)) {
                    report(`${version}.environment.${name}`, c[version].environment[name], `not set: calls sets ${name}`);
                }
            }
        },
    ),
    // It reads metrics even when they have a problem of their own (a custom server without names), so both are named in one run.
    rule<{ alarms: Record<string, unknown>; metrics?: { prometheus?: PrometheusInput } }>(
        ["alarms"],
        "a server-metric alarm needs metrics.prometheus with that series",
        (c, report) => {
            for (const [key, metric] of Object.entries(SERVER_ALARMS)) {
                if (c.alarms[key] === undefined) continue;
                const given = typeof c.metrics === "object" ? c.metrics?.prometheus : undefined;
                const prometheus =
                    typeof given === "object" && given !== null
                        ? { server: given.server, names: typeof given.names === "object" && given.names !== null ? given.names : {} }
                        : undefined;
                if (!prometheus) report(`alarms.${key}`, c.alarms[key], "metrics.prometheus set: the alarm reads the model server's own metrics");
                else if (!serverMetricNames(prometheus)[metric]) {
                    report(
                        `alarms.${key}`,
                        c.alarms[key],
                        `a series for ${metric}: server "${prometheus.server}" has none; name it in metrics.prometheus.names.${metric}`,
                    );
                }
            }
        },
    ),
    rule<{ rollout?: { gates?: Record<string, unknown> }; metrics?: { prometheus?: PrometheusInput } }>(
        ["rollout", "metrics"],
        "a gate of rollout.gates needs the model server's series it reads",
        (c, report) => {
            const gates = typeof c.rollout?.gates === "object" ? c.rollout.gates : {};
            const prometheus = typeof c.metrics === "object" ? c.metrics?.prometheus : undefined;
            const server = typeof prometheus === "object" && prometheus !== null ? prometheus.server : undefined;
            for (const kind of ["cutoff", "aborted"] as const) {
                if (gates[kind] !== undefined && (server === undefined || !finishReasonOf(server))) {
                    report(
                        `rollout.gates.${kind}`,
                        gates[kind],
                        'metrics.prometheus with server "vllm": the gate reads answers by finish reason, which only vLLM exports',
                    );
                }
            }
            if (gates.ttft !== undefined && prometheus?.countAbove?.timeToFirstToken === undefined) {
                report("rollout.gates.ttft", gates.ttft, "metrics.prometheus.countAbove.timeToFirstToken set: the gate counts the requests above that bound");
            }
            const names =
                typeof prometheus === "object" && prometheus !== null && server !== undefined
                    ? serverMetricNames({ server, names: prometheus.names ?? {} })
                    : {};
            if (gates.tokens !== undefined && (!names.generatedTokens || !names.answers)) {
                report(
                    "rollout.gates.tokens",
                    gates.tokens,
                    `metrics.prometheus with the series generatedTokens and answers (server "vllm" or "tgi" has both, or name them in metrics.prometheus.names)${server ? `: server "${server}" has ${names.generatedTokens ? "no answers" : "no generatedTokens"}` : ""}`,
                );
            }
        },
    ),
    rule<{ rollout?: { gates?: Record<string, unknown> }; evaluation?: { requestsPerSecond?: unknown } }>(
        ["rollout", "evaluation"],
        "with paired evidence, every gate is one the runner can count in its own answers",
        (c, report) => {
            if (!pairedStream(c)) return;
            const gates = typeof c.rollout?.gates === "object" ? c.rollout.gates : {};
            // The runner's answers reach the live counts too, and are taken out of them: a gate whose events the runner cannot see in its answers would keep them.
            for (const key of ["aborted", "events"] as const) {
                if (gates[key] !== undefined)
                    report(
                        `rollout.gates.${key}`,
                        gates[key],
                        `unset with evaluation.requestsPerSecond: the runner cannot tell ${key === "aborted" ? "an aborted answer" : "the application's events"} in its own answers, so they could not be taken out of the live counts`,
                    );
            }
        },
    ),
    rule<{ alarms?: Record<string, unknown>; evaluation?: { requestsPerSecond?: unknown } }>(
        ["alarms", "evaluation"],
        "with paired evidence, no alarm compares the versions' averages",
        (c, report) => {
            if (!pairedStream(c)) return;
            // An alarm on the canary's average against stable's sees the runner's requests in both, at half the canary's traffic and a sliver of stable's.
            for (const key of ["timeToFirstTokenIncreasePercent", "interTokenLatencyIncreasePercent"] as const) {
                if (c.alarms?.[key] !== undefined)
                    report(
                        `alarms.${key}`,
                        c.alarms[key],
                        "unset with evaluation.requestsPerSecond: the alarm compares the versions' averages, which the runner's requests would tilt (the rollout's ttft gate compares them without: rollout.gates.ttft)",
                    );
            }
        },
    ),
    rule<Shared>(["canaryMinCount", "stableMinCount", "stable", "canary"], "a raised minimum is at most that version's scaling.maxCount", (c, report) => {
        for (const version of VERSIONS) {
            const raised = c[RAISED_MIN_KEY[version]];
            const { maxCount } = c[version].scaling;
            if (raised !== undefined && raised > maxCount) report(RAISED_MIN_KEY[version], raised, `at most ${version}.scaling.maxCount (${maxCount})`);
        }
    }),
    rule<Shared>(
        ["canaryWeight", "canaryMinCount", "canary"],
        "a canaryWeight above 0 needs a canary task: canary.scaling.minCount, or the rollout's canaryMinCount, at least 1",
        (c, report) => {
            // A hand-set weight (`pulumi config set canaryWeight 10 && pulumi up`) moves the split at once; the rollout
            // raises the canary's minimum and waits for healthy tasks (a model may take many minutes to load) first.
            if (c.canaryWeight > 0 && Math.max(c.canary.scaling.minCount, c.canaryMinCount ?? 0) === 0) {
                report(
                    "canaryWeight",
                    c.canaryWeight,
                    `0 while canary.scaling.minCount is 0: ${c.canaryWeight}% of requests would go to a version with no task. Raise canary.scaling.minCount first, or let the rollout move the weight (./scripts/rollout run): it raises the canary's minimum, waits for healthy tasks, then moves the weight`,
                );
            }
        },
    ),
    rule<Shared>(["pinValue", "stablePinValue"], "stablePinValue differs from pinValue", (c, report) => {
        if (c.stablePinValue === c.pinValue) report("stablePinValue", c.stablePinValue, `a value other than pinValue ("${c.pinValue}")`);
    }),
    rule<Shared>(
        ["evaluation", "requestTimeoutSeconds"],
        `with a golden set, requestTimeoutSeconds is at most ${MAX_RUNNER_REQUEST_SECONDS} (${MAX_PACED_REQUEST_SECONDS} with paired evidence)`,
        (c, report) => {
            // The runner is a Lambda function: one invocation runs at most 900 s, and must fit a request to each version.
            if (c.evaluation?.goldenSet && c.requestTimeoutSeconds > MAX_RUNNER_REQUEST_SECONDS)
                report(
                    "requestTimeoutSeconds",
                    c.requestTimeoutSeconds,
                    `at most ${MAX_RUNNER_REQUEST_SECONDS} with evaluation.goldenSet: its runner, a Lambda function, runs at most 900 s an invocation`,
                );
            else if (c.evaluation?.requestsPerSecond !== undefined && c.requestTimeoutSeconds > MAX_PACED_REQUEST_SECONDS)
                report(
                    "requestTimeoutSeconds",
                    c.requestTimeoutSeconds,
                    `at most ${MAX_PACED_REQUEST_SECONDS} with evaluation.requestsPerSecond: its runner sends for a minute, then waits for the last answers, within 900 s an invocation`,
                );
        },
    ),
    rule<Shared>(["idleTimeoutSeconds", "requestTimeoutSeconds"], "idleTimeoutSeconds is at least requestTimeoutSeconds", (c, report) => {
        // A model that thinks before its first token sends nothing for most of the request.
        if (c.idleTimeoutSeconds !== undefined && c.idleTimeoutSeconds < c.requestTimeoutSeconds) {
            report("idleTimeoutSeconds", c.idleTimeoutSeconds, `at least requestTimeoutSeconds (${c.requestTimeoutSeconds})`);
        }
    }),
    rule<Shared>(["requirePinnedImages", "stable", "canary"], "with requirePinnedImages, both images name a fixed tag or a digest", (c, report) => {
        for (const version of VERSIONS) {
            const { image } = c[version];
            if (c.requirePinnedImages && !isPinnedImage(image)) {
                report(`${version}.image`, image, 'a fixed tag or digest, not "latest" or untagged (requirePinnedImages is on)');
            }
        }
    }),
];
