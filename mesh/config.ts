/**
 * The stack's config schema: every key, its default and its limits, turned into one
 * validated `CanaryConfig` before any resource is declared.
 */
import { ConfigReader, ConfigSource } from "./configReader";

export const PROTOCOLS = ["http", "http2", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const VERSIONS = ["stable", "canary"] as const;
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
}

export interface CanaryConfig {
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

/** Ports Envoy itself binds in every task (admin, ingress, egress). */
export const ENVOY_PORTS = [9901, 15000, 15001];

/**
 * Reads and validates the whole stack config. Throws a `ConfigError` naming every bad
 * key, its value and what is allowed; returns only a config that is safe to deploy.
 */
export function loadConfig(source: ConfigSource): CanaryConfig {
    const r = new ConfigReader(source);
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

    const versions = {} as Record<Version, VersionConfig>;
    for (const version of VERSIONS) {
        const v = r.object(version);
        versions[version] = {
            discoveryName: v.matching("discoveryName", DNS_LABEL, DNS_LABEL_TEXT, `${serviceName}-${version}`),
        };
    }
    const discoveryNames = VERSIONS.map((v) => versions[v].discoveryName);
    if (discoveryNames.includes(serviceName) || new Set(discoveryNames).size !== VERSIONS.length) {
        r.report("canary.discoveryName", versions.canary.discoveryName, "a name different from stable.discoveryName and serviceName");
    }

    r.check();
    return {
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
    };
}
