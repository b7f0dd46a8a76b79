/**
 * The stack's config: one schema for the settings every backend shares, and one member
 * per traffic backend, keyed by `trafficBackend`, that adds that backend's own section
 * (`appmesh.*` or `lattice.*`) and rules. `CanaryConfig` is inferred from it.
 *
 * `loadConfig` runs before any resource is declared and throws one `ConfigError` naming
 * every problem, so `pulumi up` on bad config changes nothing.
 */
import { z } from "zod";
import {
    boolean,
    decimal,
    DNS_LABEL,
    dnsLabel,
    editDistance,
    Elsewhere,
    field,
    integer,
    matching,
    oneOf,
    refuseUnknownKeys,
    rule,
    section,
    stringList,
    stringMap,
} from "../../contract/fields";
import { ConfigError, ConfigProblem, problemsOf } from "./errors";
import { FARGATE_CPUS, fargateMemoryProblem } from "../compute/fargateSizes";
import { GPU_INSTANCE_TYPES, gpuTaskProblems } from "../compute/gpuInstances";
import { appMeshRules, appMeshSection } from "../traffic/appmesh/config";
import { latticeRules, latticeSection } from "../traffic/lattice/config";
import { albRules, albSection } from "../traffic/alb/config";
import { rolloutSection } from "../../contract/schedule";
import { SERVERS, serverMetricNames } from "./serverSeries";
import { DEFAULT_SERVICE_NAME, EVALUATION_MOMENTS, EvaluationMoment } from "../../contract/outputs";
import { Version, VERSIONS } from "../../contract/versions";
import { TRAFFIC_BACKENDS, TrafficBackendName } from "../../contract/backends";

const PROTOCOLS = ["http", "http2", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

// Lowercase because HTTP/2 and gRPC carry header names in lowercase; App Mesh caps names at 50.
const HEADER_NAME = /^(?!grpc-)[a-z0-9][a-z0-9-]{0,49}$/;
const HEADER_VALUE = /^[\x21-\x7e]{1,255}$/;
const HTTP_PATH = /^\/[\x21-\x7e]{0,254}$/;
const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `s3://bucket/prefix`: a bucket name as S3 allows it, and a prefix without a leading or trailing slash. */
const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([\w!\-.*'()/]+[^/])$/;
/** A Secrets Manager secret or an SSM parameter, by ARN: what ECS can inject as a container secret. */
const SECRET_ARN = /^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|ssm:[a-z0-9-]+:\d{12}:parameter\/[\w/.-]+)$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-4])$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
/** A fully qualified stack name: organization, project, stack. */
const STACK_NAME = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

/** Retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

function safeJson(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

/** Names and values that are secrets more often than not: tokens and keys by their name, and the shapes of Hugging Face, OpenAI-style and AWS access keys. */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY)$/i;
const SECRET_VALUE = /^(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,})$/;
const looksSecret = (name: string, value: string) => SECRET_NAME.test(name) || SECRET_VALUE.test(value);

/** True when an image names a fixed tag (not `latest`) or a digest. */
function isPinnedImage(image: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
    const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1];
    return tag !== undefined && tag !== "" && tag !== "latest";
}

/** Whether `cpu` and `memory` are a Fargate size: a bad cpu is reported as cpu, a bad memory for a good cpu as memory. */
function checkFargateSize(v: { cpu: number; memory: number }, report: (key: string, got: unknown, expected: string) => void) {
    if (!FARGATE_CPUS.includes(v.cpu)) report("cpu", v.cpu, `a Fargate CPU size: one of ${FARGATE_CPUS.join(", ")}`);
    else {
        const problem = fargateMemoryProblem(v.cpu, v.memory);
        if (problem) report("memory", v.memory, `a valid Fargate size: ${problem}`);
    }
}

const fargateSize = rule<{ cpu: number; memory: number }>(["cpu", "memory"], "cpu and memory are a Fargate size", checkFargateSize);

/** Fargate's limit on a task's ephemeral storage, GiB. */
const FARGATE_MAX_STORAGE_GIB = 200;
/** Room a GPU instance's volume keeps besides the weights: the OS and the images (a vLLM image alone is about 10 GB). */
const GPU_VOLUME_HEADROOM_GIB = 50;

/** A GPU instance's root volume: a version's own instances, or a platform's pool. */
export const gpuVolumeGiB = integer(30, 16384).default(200).describe("Each instance's root volume (gp3, encrypted), GiB: images, and weights fetched from S3.");

/**
 * A GPU version runs on EC2 instances of its own (an Auto Scaling group with the ECS
 * GPU-optimized AMI, a capacity provider with managed scaling), or on a platform on the
 * platform's pool of its instance type.
 */
const gpu = section({
    instanceType: oneOf(GPU_INSTANCE_TYPES).describe("The instance type of the version's capacity: a g5, g6, g6e, p4d or p5 size."),
    gpusPerTask: integer(1, 8).default(1).describe("GPUs each task reserves (ECS `resourceRequirements`)."),
    volumeGiB: gpuVolumeGiB,
});

/**
 * Service Auto Scaling owns a version's task count: between `minCount` and `maxCount`,
 * tracking `requestsPerTaskPerMinute`, computed from the requests the traffic layer
 * already counts per version. The rollout raises the canary's minimum before each step,
 * which is also what brings a canary resting at 0 tasks up before it gets any traffic.
 */
const scaling = (version: "stable" | "canary") =>
    section(
        {
            minCount: integer(0, 100)
                .default(version === "stable" ? 2 : 1)
                .describe(
                    "The version's least task count at rest; autoscaling owns the count above it. A canary may rest at 0: the rollout gives it tasks before any traffic.",
                ),
            maxCount: integer(1, 100)
                .default(4)
                .describe("The most tasks autoscaling, and the rollout, may run (on GPUs the instances are sized for a deployment at this count)."),
            requestsPerTaskPerMinute: integer(1, 1_000_000)
                .default(60)
                .describe("The load one task is sized for: scaling adds tasks above it and removes them below."),
        },
        {
            rules: [
                rule<{ minCount: number; maxCount: number }>(
                    ["minCount", "maxCount"],
                    "minCount is at most maxCount, and at least 1 for stable",
                    (s, report) => {
                        if (s.minCount > s.maxCount) report("minCount", s.minCount, `at most maxCount (${s.maxCount})`);
                        // Target tracking divides requests by running tasks: with none running it has no data and never scales out.
                        // A canary may rest at 0 because the rollout gives it tasks before any traffic; stable serves everyone.
                        if (version === "stable" && s.minCount < 1)
                            report(
                                "minCount",
                                s.minCount,
                                "at least 1 for stable: it serves all traffic, and autoscaling cannot scale a version out from zero tasks",
                            );
                    },
                ),
            ],
        },
    );

/**
 * Model weights that live in S3 rather than in the image: fetched into the task's own
 * storage before the model server starts, through the VPC's S3 gateway endpoint, by a
 * role that may read that prefix only.
 */
const weights = section({
    source: matching(S3_URI, 'an S3 URI of a bucket and a prefix, e.g. "s3://my-models/llama-3.1-8b-instruct"').describe(
        "`s3://bucket/prefix` of the model's files.",
    ),
    kmsKeyArn: matching(KMS_KEY_ARN, "a KMS key ARN")
        .optional()
        .describe("The KMS key the objects are encrypted with, when not S3's own: the fetch may decrypt with it."),
    storageGiB: integer(21, 16384)
        .default(100)
        .describe("The task's storage for the weights, in GiB (Fargate: 21-200; GPU: within gpu.volumeGiB): room for the model and the server's own files."),
});

/** Active health check against every task of a version (App Mesh: each caller's Envoy; Lattice: the target group). */
const healthCheck = section(
    {
        path: matching(HTTP_PATH, "a path starting with '/'")
            .default("/health")
            .describe("HTTP path probed (App Mesh's gRPC health check uses the gRPC health protocol instead)."),
        intervalSeconds: integer(5, 300).default(10).describe("Seconds between checks."),
        timeoutSeconds: integer(2, 60).default(5).describe("Seconds a check may take."),
        healthyThreshold: integer(2, 10).default(2).describe("Passed checks in a row before a task counts as healthy."),
        unhealthyThreshold: integer(2, 10).default(5).describe("Failed checks in a row before a task counts as unhealthy: 5 x 10 s tolerates a slow model."),
        command: field('a non-empty list of arguments, e.g. ["/bin/health", "--port", "8000"], or "none"', (raw) => {
            if (raw === "none") return "none" as const;
            const list = typeof raw === "string" ? safeJson(raw) : raw;
            return Array.isArray(list) && list.length > 0 && list.every((a) => typeof a === "string" && a.length > 0) ? (list as string[]) : undefined;
        })
            .optional()
            .describe(
                "The container's own health check, run in the model server's container (`CMD` form, no shell): by default `curl` against `path`, which distroless images lack. `none` leaves the traffic layer's check alone (Lattice's or the ALB's target group, App Mesh's Envoy); gRPC servers have none by default.",
            ),
    },
    {
        rules: [
            rule<{ timeoutSeconds: number; intervalSeconds: number }>(
                ["timeoutSeconds", "intervalSeconds"],
                "timeoutSeconds is less than intervalSeconds",
                (h, report) => {
                    if (h.timeoutSeconds >= h.intervalSeconds) report("timeoutSeconds", h.timeoutSeconds, `less than intervalSeconds (${h.intervalSeconds})`);
                },
            ),
        ],
    },
);

interface VersionCompute {
    compute: "fargate" | "gpu";
    cpu: number;
    memory: number;
    gpu?: { instanceType: string; gpusPerTask: number; volumeGiB: number };
    weights?: { storageGiB: number };
}

/** What differs between the stable and the canary deployment. */
const versionSection = (version: "stable" | "canary") =>
    section(
        {
            image: matching(IMAGE, 'a container image reference, e.g. "repo/model-server:1.2.3"').describe(
                "Model server image, e.g. `123456789012.dkr.ecr.us-west-2.amazonaws.com/llm:1.4.2`.",
            ),
            compute: oneOf(["fargate", "gpu"])
                .default("fargate")
                .describe(
                    "Where the version runs: Fargate (CPU only), or EC2 GPU instances (`gpu`): its own, or on a platform the platform's pool of its instance type.",
                ),
            cpu: integer(256, 196608)
                .default(4096)
                .describe("CPU units of one task (1024 = 1 vCPU): with memory, a Fargate size, or what one task reserves on its GPU instance."),
            memory: integer(512, 2_097_152).default(16384).describe("Memory of one task, MiB (on GPU instances at most the instance's less 2 GiB for ECS)."),
            gpu: gpu.optional().describe("The version's EC2 GPU instances: required with compute `gpu`."),
            scaling: scaling(version).describe("Service Auto Scaling of the version's task count, tracking requests per task."),
            command: stringList(/^.+$/, "arguments").optional().describe('Arguments that replace the image\'s command, e.g. vLLM\'s `["--model", "/models"]`.'),
            environment: stringMap(ENV_NAME, "an environment variable name")
                .default({})
                .describe(
                    "Environment of the model server container, e.g. `MODEL_ID`. A value or name that looks like a secret is refused: pass it in `secrets`.",
                ),
            notSecret: stringList(ENV_NAME, "environment variable names")
                .optional()
                .describe("Names in `environment` that look like secrets (`*_TOKEN`, `hf_...`) but are not, e.g. a token's public id: they are not refused."),
            secrets: field("an object of environment variable names to Secrets Manager secret or SSM parameter ARNs", (raw) => {
                const value = raw === undefined ? {} : typeof raw === "string" ? safeJson(raw) : raw;
                if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
                const entries = Object.entries(value);
                return entries.every(([k, v]) => ENV_NAME.test(k) && typeof v === "string" && SECRET_ARN.test(v))
                    ? (value as Record<string, string>)
                    : undefined;
            })
                .default({})
                .describe(
                    "Secrets by reference, e.g. `HF_TOKEN`: ECS reads each from Secrets Manager or SSM into the container's environment when a task starts; only this version's execution role may read them. Never put a secret in `environment`.",
                ),
            secretsKmsKeyArn: matching(KMS_KEY_ARN, "a KMS key ARN")
                .optional()
                .describe("The KMS key the secrets are encrypted with, when it is not AWS's default key: the execution role may decrypt with it."),
            weights: weights.optional().describe("Model weights from S3, when they are not baked into the image."),
        },
        {
            elsewhere: {
                discoveryName: `moved to appmesh.discoveryNames.${version} (App Mesh only)`,
                desiredCount: `moved to scaling.minCount: Service Auto Scaling owns the task count, between scaling.minCount and scaling.maxCount`,
            },
            rules: [
                rule<VersionCompute>(
                    ["compute", "cpu", "memory", "gpu", "weights"],
                    "Fargate: cpu and memory are a Fargate size, no gpu section, weights.storageGiB at most 200. GPU: a gpu section; the task fits one instance (GPUs, CPU, memory less 2 GiB); weights.storageGiB at most gpu.volumeGiB - 50",
                    (v, report) => {
                        if (v.compute === "fargate") {
                            checkFargateSize(v, report);
                            if (v.gpu) report("gpu", v.gpu, 'no gpu section unless compute is "gpu"');
                            if (v.weights && v.weights.storageGiB > FARGATE_MAX_STORAGE_GIB) {
                                report(
                                    "weights.storageGiB",
                                    v.weights.storageGiB,
                                    `at most ${FARGATE_MAX_STORAGE_GIB} on Fargate (its task storage limit); use compute "gpu" for larger models`,
                                );
                            }
                            return;
                        }
                        if (!v.gpu)
                            return report(
                                "gpu",
                                undefined,
                                'a gpu section with instanceType (required with compute "gpu"), e.g. { "instanceType": "g6.xlarge" }',
                            );
                        for (const p of gpuTaskProblems(v.gpu.instanceType, { cpu: v.cpu, memory: v.memory, gpus: v.gpu.gpusPerTask }))
                            report(p.key, p.got, p.expected);
                        if (v.weights && v.weights.storageGiB > v.gpu.volumeGiB - GPU_VOLUME_HEADROOM_GIB) {
                            report(
                                "weights.storageGiB",
                                v.weights.storageGiB,
                                `at most gpu.volumeGiB - ${GPU_VOLUME_HEADROOM_GIB} (${v.gpu.volumeGiB - GPU_VOLUME_HEADROOM_GIB}), leaving room for the images`,
                            );
                        }
                    },
                ),
                rule<{ environment: Record<string, string>; notSecret?: string[] }>(
                    ["environment", "notSecret"],
                    "no environment entry looks like a secret, unless notSecret names it",
                    (v, report) => {
                        for (const [name, value] of Object.entries(v.environment)) {
                            if (v.notSecret?.includes(name) || !looksSecret(name, value)) continue;
                            report(
                                `environment.${name}`,
                                "(hidden)",
                                `no secret in plain environment (anyone who can describe the task definition reads it): put it in Secrets Manager or SSM and name it in secrets.${name}, or, if it is not a secret, list ${name} in notSecret`,
                            );
                        }
                    },
                ),
                rule<{ environment: Record<string, string>; secrets: Record<string, string> }>(
                    ["environment", "secrets"],
                    "a name is in environment or in secrets, not both",
                    (v, report) => {
                        for (const name of Object.keys(v.secrets).filter((n) => n in v.environment)) {
                            report(`secrets.${name}`, v.secrets[name], `a name not also in environment (${name} is set there)`);
                        }
                    },
                ),
            ],
        },
    );

/**
 * An optional check of the canary before it gets traffic: the user's evaluation image
 * (an eval suite, smoke tests), run once as an ECS task inside the stack's network, with
 * the service's address and the pin header in its environment. A non-zero exit stops
 * the rollout with the weight at 0.
 */
const evaluation = section(
    {
        image: matching(IMAGE, 'a container image reference, e.g. "repo/llm-evals:1.0"').describe(
            "The evaluation's image: an eval suite or smoke tests, run as an ECS task in the stack's network.",
        ),
        command: stringList(/^.+$/, "arguments").optional().describe("Overrides the image's command."),
        environment: stringMap(ENV_NAME, "an environment variable name")
            .default({})
            .describe("Its environment, besides `SERVICE_URL`, `PIN_HEADER` and `PIN_VALUE`, which it always gets."),
        cpu: integer(256, 16384).default(1024).describe("CPU units of the task (with memory, a Fargate size)."),
        memory: integer(512, 122880).default(2048).describe("Memory of the task, MiB."),
        timeoutSeconds: integer(60, 86400).default(1800).describe("How long the evaluation may run before the rollout stops it and fails."),
        when: stringList(new RegExp(`^(${EVALUATION_MOMENTS.join("|")})$`), `moments among ${EVALUATION_MOMENTS.map((m) => `"${m}"`).join(", ")}`)
            .transform((list) => [...new Set(list)] as EvaluationMoment[])
            .default(["beforeTraffic"])
            .describe("When the rollout runs it: before the canary gets traffic, after each step's bake, before the promotion."),
    },
    {
        rules: [fargateSize],
    },
);

/** A VPC this stack creates, or one that already exists (`vpcId` with its subnets). */
export const networkSection = section(
    {
        cidrBlock: matching(CIDR, 'an IPv4 CIDR block from /16 to /24, e.g. "10.0.0.0/16"')
            .default("10.0.0.0/16")
            .describe("CIDR of the new VPC, or of the existing one."),
        availabilityZones: integer(2, 4).optional().describe("Zones of a new VPC, one NAT gateway each; default 2."),
        vpcId: matching(VPC_ID, 'a VPC id, e.g. "vpc-0123456789abcdef0"').optional().describe("An existing VPC to use instead of creating one."),
        privateSubnetIds: stringList(SUBNET_ID, 'subnet ids, e.g. ["subnet-0123456789abcdef0"]')
            .optional()
            .describe("The existing VPC's subnets for the tasks (required with vpcId)."),
        publicSubnetIds: stringList(SUBNET_ID, 'subnet ids, e.g. ["subnet-0123456789abcdef0"]')
            .optional()
            .describe("The existing VPC's public subnets (required with vpcId)."),
        s3GatewayEndpoint: oneOf(["create", "existing"])
            .default("create")
            .describe(
                "Weights from S3 need the VPC's S3 gateway endpoint on the private subnets' route tables: `create` declares one; `existing` uses the one an existing VPC already has (AWS refuses a second endpoint for S3 on the same route tables).",
            ),
    },
    {
        rules: [
            rule<Record<string, unknown>>(
                ["vpcId", "availabilityZones", "privateSubnetIds", "publicSubnetIds", "s3GatewayEndpoint"],
                "with vpcId: both subnet lists, no availabilityZones; without it: no subnet lists, s3GatewayEndpoint create",
                (n, report) => {
                    const existing = n.vpcId !== undefined;
                    for (const key of ["privateSubnetIds", "publicSubnetIds"]) {
                        if (existing && n[key] === undefined)
                            report(key, undefined, "a non-empty list of subnet ids of the VPC in vpcId (required with vpcId)");
                        if (!existing && n[key] !== undefined) report(key, n[key], "no subnet ids unless vpcId names an existing VPC");
                    }
                    if (existing && n.availabilityZones !== undefined)
                        report("availabilityZones", n.availabilityZones, "no availabilityZones with vpcId: the existing VPC's subnets decide");
                    if (!existing && n.s3GatewayEndpoint === "existing")
                        report("s3GatewayEndpoint", n.s3GatewayEndpoint, '"create" unless vpcId names an existing VPC: a new VPC has no endpoint yet');
                },
            ),
        ],
    },
    // The rule above guarantees the subnets whenever vpcId is set.
).transform(({ vpcId, cidrBlock, privateSubnetIds, publicSubnetIds, availabilityZones, s3GatewayEndpoint }) =>
    vpcId && privateSubnetIds && publicSubnetIds
        ? { existing: true as const, vpcId, cidrBlock, privateSubnetIds, publicSubnetIds, s3GatewayEndpoint }
        : { existing: false as const, cidrBlock, availabilityZones: availabilityZones ?? 2, s3GatewayEndpoint },
);

/** Prometheus series names, as servers spell them (vLLM's have colons). */
const PROMETHEUS_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const prometheusName = () => matching(PROMETHEUS_NAME, 'a Prometheus metric name, e.g. "vllm:num_requests_waiting"').optional();

/**
 * The model server's own Prometheus metrics, scraped beside it per version and published
 * to CloudWatch (`mesh/compute/serverMetrics.ts`).
 */
const prometheus = section(
    {
        server: oneOf(SERVERS).default("vllm").describe("Which server's metric names to read: a preset, or `custom` with `names`."),
        port: integer(1025, 65535).optional().describe("Port of the metrics endpoint; default: the model server's own port."),
        path: matching(HTTP_PATH, "a path starting with '/'").default("/metrics").describe("Path of the metrics endpoint."),
        intervalSeconds: integer(10, 300).default(15).describe("Seconds between scrapes."),
        names: section({
            timeToFirstToken: prometheusName().describe("The server's time-to-first-token histogram."),
            interTokenLatency: prometheusName().describe("Its inter-token latency histogram."),
            queueDepth: prometheusName().describe("Its gauge of requests waiting."),
            generatedTokens: prometheusName().describe("Its counter of generated tokens."),
        })
            .default({})
            .describe("Series names that replace or add to the preset's."),
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
        ],
    },
);

const metrics = section({
    prometheus: prometheus
        .optional()
        .describe(
            "Scrape the model server's Prometheus metrics beside each version and publish them to CloudWatch (time to first token, inter-token latency, queue depth, tokens).",
        ),
});

/** Thresholds of the canary's alarms. */
const alarms = section(
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

/** Every backend's settings. */
const shared = {
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
}

/** Which server-metric alarm reads which series. */
const SERVER_ALARMS = {
    timeToFirstTokenIncreasePercent: "timeToFirstToken",
    interTokenLatencyIncreasePercent: "interTokenLatency",
    queueDepth: "queueDepth",
} as const;

const sharedRules = [
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

/** App Mesh's settings, which used to sit at the top level: each one's new place. */
const MOVED_TO_APPMESH = ["namespace", "createNamespace", "envoyImage", "maxRetries", "outlierDetection", "ingress"];

/** Where keys that do not belong at the top level of a backend's config went. */
function elsewhere(backend: TrafficBackendName): Elsewhere {
    const others = TRAFFIC_BACKENDS.filter((b) => b !== backend);
    // Only an App Mesh stack has somewhere to move them to; another stack has no use for them.
    const moved = (key: string) =>
        backend === "appmesh"
            ? `moved to appmesh.${key} (App Mesh only)`
            : `no ${key}: it is an App Mesh setting, which a trafficBackend "${backend}" stack does not use; remove it`;
    return {
        ...Object.fromEntries(MOVED_TO_APPMESH.map((key) => [key, moved(key)])),
        ...Object.fromEntries(others.map((other) => [other, `${other} settings only with trafficBackend "${other}"`])),
    };
}

/** One backend's member of the config: the shared settings plus its own section and rules. */
function member<B extends TrafficBackendName, S extends z.ZodType>(backend: B, ownSection: S, ownRules: z.core.$ZodCheck<never>[]) {
    const shape = { trafficBackend: z.literal(backend), ...shared, [backend]: ownSection } as typeof shared & { trafficBackend: z.ZodLiteral<B> } & Record<
            B,
            S
        >;
    return z
        .looseObject(shape)
        .check(
            refuseUnknownKeys(Object.keys(shape), elsewhere(backend)),
            ...(sharedRules as z.core.$ZodCheck<object>[]),
            ...(ownRules as z.core.$ZodCheck<object>[]),
        );
}

const stackSchema = z
    .discriminatedUnion("trafficBackend", [
        member("appmesh", appMeshSection, appMeshRules),
        member("lattice", latticeSection, latticeRules),
        member("alb", albSection, albRules),
    ])
    .transform(({ trafficBackend, ...c }) => {
        const config = {
            canaryWeight: c.canaryWeight,
            serviceName: c.serviceName,
            protocol: c.protocol,
            port: c.port,
            requestTimeoutSeconds: c.requestTimeoutSeconds,
            idleTimeoutSeconds: c.idleTimeoutSeconds ?? c.requestTimeoutSeconds,
            pinHeader: c.pinHeader,
            pinValue: c.pinValue,
            healthCheck: c.healthCheck,
            versions: { stable: c.stable, canary: c.canary },
            network: c.network,
            modelLoadSeconds: c.modelLoadSeconds,
            raisedMinCounts: { stable: c.stableMinCount, canary: c.canaryMinCount },
            logRetentionDays: c.logRetentionDays,
            requirePinnedImages: c.requirePinnedImages,
            alarms: c.alarms,
            metrics: c.metrics,
            evaluation: c.evaluation,
            rollout: c.rollout,
            platform: c.platform,
            calls: c.calls ?? [],
            debug: c.debug,
        };
        switch (trafficBackend) {
            case "appmesh":
                return { ...config, trafficBackend, appmesh: (c as { appmesh: z.output<typeof appMeshSection> }).appmesh };
            case "lattice":
                return { ...config, trafficBackend, lattice: (c as { lattice: z.output<typeof latticeSection> }).lattice };
            case "alb":
                return { ...config, trafficBackend, alb: (c as { alb: z.output<typeof albSection> }).alb };
        }
    });

/** What the configuration reference (`reference.ts`) is generated from: every key, with its words, and the rules across keys. */
export const SCHEMA_PARTS = {
    shared,
    backends: { appmesh: appMeshSection, lattice: latticeSection, alb: albSection },
    rules: { shared: sharedRules, appmesh: appMeshRules, lattice: latticeRules, alb: albRules },
};

/** The validated config of one stack: the shared settings, and those of its traffic backend. */
export type CanaryConfig = z.output<typeof stackSchema>;
export type AppMeshCanaryConfig = Extract<CanaryConfig, { trafficBackend: "appmesh" }>;
export type LatticeCanaryConfig = Extract<CanaryConfig, { trafficBackend: "lattice" }>;
export type AlbCanaryConfig = Extract<CanaryConfig, { trafficBackend: "alb" }>;
export type VersionConfig = CanaryConfig["versions"][Version];
export type NetworkConfig = CanaryConfig["network"];
export type AlarmConfig = CanaryConfig["alarms"];
export type EvaluationConfig = NonNullable<CanaryConfig["evaluation"]>;
export type WeightsConfig = NonNullable<VersionConfig["weights"]>;
export type PrometheusConfig = NonNullable<CanaryConfig["metrics"]["prometheus"]>;

/** The stack config key the rollout sets to raise a version's minimum task count. */
export const RAISED_MIN_KEY = { stable: "stableMinCount", canary: "canaryMinCount" } as const satisfies Record<Version, string>;

/** A version's least task count: its configured minimum, or what the rollout raised it to. */
export function minCount(config: CanaryConfig, version: Version): number {
    return Math.max(config.versions[version].scaling.minCount, config.raisedMinCounts[version] ?? 0);
}

/** The environment variable that carries a callee's URL: `embedder` -> `EMBEDDER_URL`. */
export const calleeVariable = (service: string) => `${service.toUpperCase().replace(/-/g, "_")}_URL`;

/** The bucket and prefix of an `s3://bucket/prefix` the config accepted. */
export function s3Location(source: string): { bucket: string; prefix: string } {
    const [, bucket, prefix] = S3_URI.exec(source) ?? [];
    return { bucket, prefix };
}

/** What every backend shares, to report alongside a `trafficBackend` no member matches. */
const sharedOnly = z.looseObject(shared).check(...(sharedRules as z.core.$ZodCheck<object>[]));

/**
 * Keys under a near miss of the project's namespace (`ai-inference-canry:port`), which the
 * program would otherwise never read: a typo there silently changes nothing. Other
 * namespaces (providers, `pulumi:`, ESC environments' own) are left alone.
 */
export function namespaceProblems(keys: string[], project: string): ConfigProblem[] {
    return keys
        .filter((key) => key.includes(":"))
        .filter((key) => {
            const namespace = key.slice(0, key.indexOf(":"));
            return namespace !== project && editDistance(namespace, project) <= 2;
        })
        .map((key) => ({ key, got: "(set)", expected: `a key of the project's namespace: did you mean "${project}${key.slice(key.indexOf(":"))}"?` }));
}

/** Keys whose values reach containers' plain environment: a secret there would be readable by anyone who can describe the task definition. */
const PLAIN_TO_CONTAINERS = ["stable", "canary", "evaluation"];

/**
 * Reads and validates a stack's config: `raw` holds the project's keys without their
 * `<project>:` prefix, with values as Pulumi hands them over (strings, structured
 * values as JSON text); `secretKeys` are those set with `pulumi config set --secret`.
 * Throws a `ConfigError` naming every problem at once.
 */
export function loadConfig(raw: Record<string, unknown>, secretKeys: string[] = []): CanaryConfig {
    const rawProblems: ConfigProblem[] = secretKeys
        .filter((key) => PLAIN_TO_CONTAINERS.includes(key))
        .map((key) => ({
            key,
            got: "(a secret)",
            expected:
                `no secret values: ${key} is written into a task definition in plain text; keep the secret in Secrets Manager or SSM and ` +
                (key === "evaluation" ? "have the evaluation read it at run time" : `name it in ${key}.secrets`),
        }));
    const values = asWritten(raw);
    // The transformed config cannot tell a network left at its defaults from one set, so this looks at what was set.
    if (values.platform !== undefined && values.network !== undefined) {
        rawProblems.push({ key: "network", got: values.network, expected: "no network with platform: the service runs in the platform's VPC" });
    }
    if (!(TRAFFIC_BACKENDS as readonly unknown[]).includes(values.trafficBackend)) {
        // No silent default: a stack without one used to get App Mesh, which a new account cannot create.
        const problems =
            values.trafficBackend === undefined
                ? [
                      {
                          key: "trafficBackend",
                          got: undefined,
                          expected: `one of "lattice", "alb", "appmesh": new stacks use "lattice" (or "alb" for a service users call first); App Mesh was discontinued on 2026-09-30`,
                      },
                  ]
                : problemsOf(oneOf(TRAFFIC_BACKENDS).safeParse(values.trafficBackend, { reportInput: true }).error!.issues, "trafficBackend");
        const rest = sharedOnly.safeParse(values, { reportInput: true });
        throw new ConfigError([...problems, ...(rest.success ? [] : problemsOf(rest.error.issues))]);
    }
    const result = stackSchema.safeParse(values, { reportInput: true });
    const problems = [...rawProblems, ...(result.success ? [] : problemsOf(result.error.issues))];
    if (problems.length > 0 || !result.success) throw new ConfigError(problems);
    return result.data;
}

/** Structured values arrive as JSON text; read as values, they are shown as the user wrote them. */
export const asWritten = (raw: Record<string, unknown>) => Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, structured(value)]));

function structured(value: unknown): unknown {
    if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return value;
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}
