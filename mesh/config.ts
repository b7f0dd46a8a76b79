/**
 * The stack's config schema: every key, its default and its limits, turned into one
 * validated `CanaryConfig` before any resource is declared.
 */
import { ConfigReader, ConfigSource } from "./configReader";
import { fargateSizeProblem } from "./fargate";

export const PROTOCOLS = ["http", "http2", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const VERSIONS = ["stable", "canary"] as const;

export const TRAFFIC_BACKENDS = ["appmesh", "lattice"] as const;
export type TrafficBackendKind = (typeof TRAFFIC_BACKENDS)[number];
export type Version = (typeof VERSIONS)[number];

/** Active health check run by each caller's Envoy against every task of a version. */
export interface HealthCheckConfig {
    /** HTTP path probed (ignored for gRPC, which uses the gRPC health protocol). */
    path: string;
    intervalSeconds: number;
    timeoutSeconds: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
}

/** Ejects a task that keeps answering 5xx, so one bad replica does not poison a canary step. */
export interface OutlierDetectionConfig {
    maxServerErrors: number;
    intervalSeconds: number;
    baseEjectionSeconds: number;
    maxEjectionPercent: number;
}

/** What differs between the stable and the canary deployment. */
export interface VersionConfig {
    /** Cloud Map service name the version's tasks register under. */
    discoveryName: string;
    /** Model server image, e.g. `123456789012.dkr.ecr.us-west-2.amazonaws.com/llm:1.4.2`. */
    image: string;
    /** Fargate CPU units (1024 = 1 vCPU) and memory (MiB) of one task. */
    cpu: number;
    memory: number;
    desiredCount: number;
    /** Environment of the model server container, e.g. `MODEL_ID`. */
    environment: Record<string, string>;
}

/** Thresholds of the canary's alarms, which the rollout tooling also reads. */
export interface AlarmConfig {
    /** Alarm when more than this percent of the canary's requests fail with 5xx. */
    errorRatePercent: number;
    /** Alarm when the canary's p99 request time exceeds this. */
    p99LatencySeconds: number;
    /** Below this many requests in a period, the error rate is not judged. */
    minRequests: number;
    periodSeconds: number;
    evaluationPeriods: number;
}

/** A public entry point for callers outside the mesh. */
export interface IngressConfig {
    enabled: boolean;
    /** Port of the public load balancer listener. */
    port: number;
    /** Who may reach the load balancer. */
    allowedCidrs: string[];
    desiredCount: number;
    /** gRPC gateway routes match on the gRPC service name, e.g. "inference.GRPCInferenceService". */
    grpcServiceName?: string;
}

/** Settings of the VPC Lattice backend. */
export interface LatticeConfig {
    /** NONE: any client in an associated VPC may call; AWS_IAM: only `allowedPrincipals`, with SigV4-signed requests. */
    authType: "NONE" | "AWS_IAM";
    /** IAM principal ARNs allowed to invoke the service when `authType` is AWS_IAM. */
    allowedPrincipals: string[];
    /** A name clients call instead of the Lattice-generated DNS name; point it at the service with a CNAME. */
    customDomainName?: string;
    /** ACM certificate for `customDomainName`, needed by the HTTPS listener that HTTP/2 and gRPC use. */
    certificateArn?: string;
}

/** Lattice closes a connection after at most this many idle seconds. */
export const LATTICE_MAX_IDLE_SECONDS = 600;

/** App Mesh settings the Lattice backend has no equivalent for; setting one with lattice is an error. */
export const APPMESH_ONLY_KEYS = ["maxRetries", "outlierDetection", "envoyImage", "namespace", "createNamespace"] as const;

/** A VPC this stack creates, or one that already exists. */
export type NetworkConfig =
    | { existing: false; cidrBlock: string; availabilityZones: number }
    | { existing: true; vpcId: string; cidrBlock: string; privateSubnetIds: string[]; publicSubnetIds: string[] };

export interface CanaryConfig {
    /** The traffic layer that renders the canary. */
    trafficBackend: TrafficBackendKind;
    /** Percent of requests sent to the canary; the stable version gets the rest. */
    canaryWeight: number;
    /** DNS label of the inference service; the virtual service is `<serviceName>.<namespace>`. */
    serviceName: string;
    protocol: Protocol;
    /** Port the model server listens on; the mesh listeners use the same port. */
    port: number;
    /** Cloud Map private DNS namespace the versions register in. */
    namespace: string;
    /** Upper bound on one inference request, including a long generation. */
    requestTimeoutSeconds: number;
    /** How long a request may go without a byte in either direction. */
    idleTimeoutSeconds: number;
    /** Retries of requests that provably never reached a model server; 0 turns retries off. */
    maxRetries: number;
    /** A request carrying `pinHeader: pinValue` always goes to the canary. */
    pinHeader: string;
    pinValue: string;
    healthCheck: HealthCheckConfig;
    outlierDetection: OutlierDetectionConfig;
    versions: Record<Version, VersionConfig>;
    network: NetworkConfig;
    /** Create the Cloud Map namespace (true), or use an existing one of that name. */
    createNamespace: boolean;
    /** App Mesh Envoy image, version pinned. */
    envoyImage: string;
    /** Seconds a model server may take to load before ECS replaces the task as unhealthy. */
    modelLoadSeconds: number;
    logRetentionDays: number;
    /** Refuse images without a fixed tag or digest (`latest` or untagged). */
    requirePinnedImages: boolean;
    alarms: AlarmConfig;
    ingress: IngressConfig;
    /** Present when `trafficBackend` is lattice. */
    lattice?: LatticeConfig;
}

const DNS_LABEL = /^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/;
const DNS_LABEL_TEXT = "a DNS label: lowercase letters, digits and '-', starting with a letter, at most 32 characters";
const DNS_NAME = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const DNS_NAME_TEXT = "a DNS name with at least two labels, e.g. \"ai.internal\"";
// Lowercase because HTTP/2 and gRPC carry header names in lowercase; App Mesh caps names at 50.
const HEADER_NAME = /^(?!grpc-)[a-z0-9][a-z0-9-]{0,49}$/;
const HEADER_NAME_TEXT = "a lowercase header name of 1-50 letters, digits and '-', not starting with \"grpc-\"";
const HEADER_VALUE = /^[\x21-\x7e]{1,255}$/;
const HEADER_VALUE_TEXT = "1-255 visible ASCII characters";
const HTTP_PATH = /^\/[\x21-\x7e]{0,254}$/;
const IMAGE = /^[a-z0-9][a-z0-9._\-/:@]*$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(1[6-9]|2[0-4])$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const ANY_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/;
const GRPC_SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;
const ENVOY_IMAGE = /^[a-z0-9.\-/]+\/aws-appmesh-envoy:v\d+\.\d+\.\d+\.\d+-prod$/;

/** Retention periods CloudWatch Logs accepts. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const DEFAULT_ENVOY_IMAGE = "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod";

/** True when an image names a fixed tag (not `latest`) or a digest. */
function isPinnedImage(image: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
    const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1];
    return tag !== undefined && tag !== "" && tag !== "latest";
}

/** Ports Envoy itself binds in every task (admin, ingress, egress). */
const ENVOY_PORTS = [9901, 15000, 15001];

/**
 * Reads and validates the whole stack config. Throws a `ConfigError` naming every bad
 * key, its value and what is allowed; returns only a config that is safe to deploy.
 * `setKeys`, the keys the stack sets, lets a misspelt key fail instead of being ignored.
 */
export function loadConfig(source: ConfigSource, setKeys: string[] = []): CanaryConfig {
    const r = new ConfigReader(source);
    const trafficBackend = r.oneOf("trafficBackend", TRAFFIC_BACKENDS, "appmesh");
    const canaryWeight = r.integer("canaryWeight", { min: 0, max: 100 });
    const serviceName = r.matching("serviceName", DNS_LABEL, DNS_LABEL_TEXT, "inference");
    const protocol = r.oneOf("protocol", PROTOCOLS, "http");
    const port = r.integer(
        "port",
        { min: 1025, max: 65535, reserved: { values: ENVOY_PORTS, why: "not 9901, 15000 or 15001, which Envoy uses" } },
        8080,
    );
    const namespace = r.matching("namespace", DNS_NAME, DNS_NAME_TEXT, "ai.internal");
    const requestTimeoutSeconds = r.integer("requestTimeoutSeconds", { min: 1, max: 3600 }, 300);
    const idleTimeoutSeconds = r.integer("idleTimeoutSeconds", { min: 1, max: 3600 }, requestTimeoutSeconds);
    if (idleTimeoutSeconds < requestTimeoutSeconds) {
        // A model that thinks before its first token sends nothing for most of the request.
        r.report("idleTimeoutSeconds", String(idleTimeoutSeconds), `at least requestTimeoutSeconds (${requestTimeoutSeconds})`);
    }
    const maxRetries = r.integer("maxRetries", { min: 0, max: 5 }, 2);
    const pinHeader = r.matching("pinHeader", HEADER_NAME, HEADER_NAME_TEXT, "x-canary");
    const pinValue = r.matching("pinValue", HEADER_VALUE, HEADER_VALUE_TEXT, "always");

    const hc = r.object("healthCheck");
    const healthCheck: HealthCheckConfig = {
        path: hc.matching("path", HTTP_PATH, "a path starting with '/'", "/health"),
        intervalSeconds: hc.integer("intervalSeconds", { min: 5, max: 300 }, 10),
        timeoutSeconds: hc.integer("timeoutSeconds", { min: 2, max: 60 }, 5),
        healthyThreshold: hc.integer("healthyThreshold", { min: 2, max: 10 }, 2),
        unhealthyThreshold: hc.integer("unhealthyThreshold", { min: 2, max: 10 }, 5),
    };
    if (healthCheck.timeoutSeconds >= healthCheck.intervalSeconds) {
        hc.report("timeoutSeconds", healthCheck.timeoutSeconds, `less than intervalSeconds (${healthCheck.intervalSeconds})`);
    }

    const od = r.object("outlierDetection");
    const outlierDetection: OutlierDetectionConfig = {
        maxServerErrors: od.integer("maxServerErrors", { min: 1, max: 1000 }, 5),
        intervalSeconds: od.integer("intervalSeconds", { min: 1, max: 300 }, 10),
        baseEjectionSeconds: od.integer("baseEjectionSeconds", { min: 1, max: 3600 }, 30),
        maxEjectionPercent: od.integer("maxEjectionPercent", { min: 0, max: 100 }, 50),
    };

    const requirePinnedImages = r.boolean("requirePinnedImages", false);
    const versions = {} as Record<Version, VersionConfig>;
    for (const version of VERSIONS) {
        const v = r.object(version);
        const image = v.matching("image", IMAGE, "a container image reference, e.g. \"repo/model-server:1.2.3\"");
        if (requirePinnedImages && image !== "" && !isPinnedImage(image)) {
            v.report("image", image, "a fixed tag or digest, not \"latest\" or untagged (requirePinnedImages is on)");
        }
        const cpu = v.integer("cpu", { min: 256, max: 16384 }, 4096);
        const memory = v.integer("memory", { min: 512, max: 122880 }, 16384);
        const sizeProblem = fargateSizeProblem(cpu, memory);
        if (sizeProblem) v.report("memory", memory, `a valid Fargate size: ${sizeProblem}`);
        versions[version] = {
            discoveryName: v.matching("discoveryName", DNS_LABEL, DNS_LABEL_TEXT, `${serviceName}-${version}`),
            image,
            cpu,
            memory,
            desiredCount: v.integer("desiredCount", { min: 0, max: 100 }, version === "stable" ? 2 : 1),
            environment: v.stringMap("environment", ENV_NAME, "an environment variable name"),
        };
    }
    const discoveryNames = VERSIONS.map((v) => versions[v].discoveryName);
    if (discoveryNames.includes(serviceName) || new Set(discoveryNames).size !== VERSIONS.length) {
        r.report("canary.discoveryName", versions.canary.discoveryName, "a name different from stable.discoveryName and serviceName");
    }

    const network = readNetwork(r.object("network"));
    const createNamespace = r.boolean("createNamespace", true);
    const envoyImage = r.matching("envoyImage", ENVOY_IMAGE, "an App Mesh Envoy image with a pinned -prod tag", DEFAULT_ENVOY_IMAGE);
    // ECS caps a health check's start period at 300 s and its interval at 300 s over 10 retries.
    const modelLoadSeconds = r.integer("modelLoadSeconds", { min: 0, max: 3300 }, 300);
    const logRetentionDays = r.integer("logRetentionDays", { min: 1, max: 3653 }, 30);
    if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
        r.report("logRetentionDays", String(logRetentionDays), `one of ${LOG_RETENTION_DAYS.join(", ")}`);
    }

    const al = r.object("alarms");
    const alarms: AlarmConfig = {
        errorRatePercent: al.integer("errorRatePercent", { min: 1, max: 100 }, 5),
        p99LatencySeconds: al.integer("p99LatencySeconds", { min: 1, max: 3600 }, 60),
        minRequests: al.integer("minRequests", { min: 1, max: 100000 }, 10),
        periodSeconds: al.integer("periodSeconds", { min: 60, max: 3600 }, 60),
        evaluationPeriods: al.integer("evaluationPeriods", { min: 1, max: 60 }, 3),
    };
    if (alarms.periodSeconds % 60 !== 0) al.report("periodSeconds", alarms.periodSeconds, "a multiple of 60");

    const ingress = readIngress(r.object("ingress"), protocol);
    const lattice = trafficBackend === "lattice" ? readLattice(r, protocol, idleTimeoutSeconds, ingress) : undefined;
    if (trafficBackend === "appmesh" && r.has("lattice")) {
        r.report("lattice", "(set)", 'no lattice settings unless trafficBackend is "lattice"');
    }
    // `rollout` is the rollout tool's (rollout/schedule.ts); every other key is read above.
    r.refuseUnread(setKeys, ["rollout"]);

    r.check();
    return {
        trafficBackend,
        canaryWeight,
        serviceName,
        protocol,
        port,
        namespace,
        requestTimeoutSeconds,
        idleTimeoutSeconds,
        maxRetries,
        pinHeader,
        pinValue,
        healthCheck,
        outlierDetection,
        versions,
        network,
        createNamespace,
        envoyImage,
        modelLoadSeconds,
        logRetentionDays,
        requirePinnedImages,
        alarms,
        ingress,
        ...(lattice ? { lattice } : {}),
    };
}

/** Lattice settings, and a refusal of every App Mesh-only setting the stack still carries. */
function readLattice(r: ConfigReader, protocol: Protocol, idleTimeoutSeconds: number, ingress: IngressConfig): LatticeConfig {
    for (const key of APPMESH_ONLY_KEYS) {
        if (r.has(key)) r.report(key, "(set)", `not set with trafficBackend "lattice" (App Mesh only; remove it with \`pulumi config rm ${key}\`)`);
    }
    if (ingress.enabled) {
        r.report("ingress.enabled", true, 'false with trafficBackend "lattice": Lattice services are reached from associated VPCs');
    }
    if (idleTimeoutSeconds > LATTICE_MAX_IDLE_SECONDS) {
        r.report("idleTimeoutSeconds", String(idleTimeoutSeconds), `at most ${LATTICE_MAX_IDLE_SECONDS} with trafficBackend "lattice", which closes connections idle longer (lower requestTimeoutSeconds too)`);
    }
    const l = r.object("lattice");
    const authType = l.oneOf("authType", ["NONE", "AWS_IAM"] as const, "NONE");
    const allowedPrincipals = authType === "AWS_IAM" ? l.stringList("allowedPrincipals", IAM_PRINCIPAL, "IAM principal ARNs") : [];
    const lattice: LatticeConfig = { authType, allowedPrincipals };
    if (l.has("customDomainName")) {
        lattice.customDomainName = l.matching("customDomainName", DNS_NAME, DNS_NAME_TEXT);
        // HTTP/2 and gRPC ride the HTTPS listener, which needs a certificate for a custom name.
        if (protocol !== "http") {
            lattice.certificateArn = l.matching("certificateArn", ACM_ARN, "an ACM certificate ARN for customDomainName (required for http2 and grpc)");
        }
    }
    return lattice;
}

function readIngress(i: ConfigReader, protocol: Protocol): IngressConfig {
    const enabled = i.boolean("enabled", false);
    const ingress: IngressConfig = {
        enabled,
        port: i.integer("port", { min: 1, max: 65535 }, 80),
        allowedCidrs: i.has("allowedCidrs")
            ? i.stringList("allowedCidrs", ANY_CIDR, "IPv4 CIDR blocks, e.g. [\"203.0.113.0/24\"]")
            : ["0.0.0.0/0"],
        desiredCount: i.integer("desiredCount", { min: 1, max: 20 }, 2),
    };
    if (protocol === "grpc") {
        ingress.grpcServiceName = i.matching(
            "grpcServiceName",
            GRPC_SERVICE,
            "the gRPC service the gateway routes, e.g. \"inference.GRPCInferenceService\" (required for gRPC ingress)",
            enabled ? undefined : "",
        );
    }
    return ingress;
}

/** `network.vpcId` switches to an existing VPC, which then needs its CIDR and subnets. */
function readNetwork(n: ConfigReader): NetworkConfig {
    const cidrBlock = n.matching("cidrBlock", CIDR, "an IPv4 CIDR block from /16 to /24, e.g. \"10.0.0.0/16\"", "10.0.0.0/16");
    const vpcId = n.matching("vpcId", VPC_ID, "a VPC id, e.g. \"vpc-0123456789abcdef0\"", "");
    if (vpcId === "") {
        return { existing: false, cidrBlock, availabilityZones: n.integer("availabilityZones", { min: 2, max: 4 }, 2) };
    }
    const subnets = (key: string) => n.stringList(key, SUBNET_ID, "subnet ids, e.g. [\"subnet-0123456789abcdef0\"]");
    return { existing: true, vpcId, cidrBlock, privateSubnetIds: subnets("privateSubnetIds"), publicSubnetIds: subnets("publicSubnetIds") };
}
