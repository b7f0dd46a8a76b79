/**
 * The stack's config: the settings every backend shares (`shared.ts`, built from one file per
 * section: `versionSection.ts`, `healthCheck.ts`, `network.ts`, `metrics.ts`, `evaluation.ts`,
 * and the patterns they accept in `patterns.ts`), and one member per traffic backend, keyed by
 * `trafficBackend`, that adds that backend's own section and rules. `CanaryConfig` is
 * inferred from it.
 *
 * `loadConfig` runs before any resource is declared and throws one `ConfigError` naming
 * every problem, so `pulumi up` on bad config changes nothing.
 */
import { sharedRules, shared } from "./shared";
import { S3_URI } from "./patterns";
import { z } from "zod";
import { editDistance, Elsewhere, fromJsonText, oneOf, refuseUnknownKeys } from "../../contract/fields";
import { ConfigError, ConfigProblem, problemsOf } from "./errors";
import { BACKEND_CONFIGS } from "./backends";
import { Version } from "../../contract/versions";
import { TRAFFIC_BACKENDS, TrafficBackendName } from "../../contract/backends";

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

type Backends = typeof BACKEND_CONFIGS;
type SectionOf<B extends TrafficBackendName> = Backends[B]["section"];

/** One backend's member of the config: the shared settings plus its own section and rules. */
function member<B extends TrafficBackendName>(backend: B) {
    const { section, rules } = BACKEND_CONFIGS[backend];
    const shape = { trafficBackend: z.literal(backend), ...shared, [backend]: section } as typeof shared & { trafficBackend: z.ZodLiteral<B> } & Record<
            B,
            SectionOf<B>
        >;
    return z
        .looseObject(shape)
        .check(
            refuseUnknownKeys(Object.keys(shape), elsewhere(backend)),
            ...(sharedRules as z.core.$ZodCheck<object>[]),
            ...(rules as z.core.$ZodCheck<object>[]),
        );
}

type Member = { [B in TrafficBackendName]: ReturnType<typeof member<B>> }[TrafficBackendName];
type SharedSettings = z.output<z.ZodObject<typeof shared>>;

/**
 * The shared settings as the program uses them: the two versions side by side, the raised
 * task counts together, the idle timeout defaulted to the request timeout. Every other key,
 * the backend's own section included, passes as it was validated.
 */
function forProgram({ stable, canary, stableMinCount, canaryMinCount, idleTimeoutSeconds, calls, ...rest }: SharedSettings) {
    return {
        ...rest,
        idleTimeoutSeconds: idleTimeoutSeconds ?? rest.requestTimeoutSeconds,
        versions: { stable, canary },
        raisedMinCounts: { stable: stableMinCount, canary: canaryMinCount },
        calls: calls ?? [],
    };
}

/** One backend's validated config: the shared settings, as the program uses them, and the backend's own section. */
type BackendConfig = {
    [B in TrafficBackendName]: ReturnType<typeof forProgram> & { trafficBackend: B } & Record<B, z.output<SectionOf<B>>>;
}[TrafficBackendName];

const stackSchema = z
    .discriminatedUnion("trafficBackend", TRAFFIC_BACKENDS.map(member) as unknown as [Member, ...Member[]])
    .transform((c) => forProgram(c as SharedSettings) as BackendConfig);

/** What the configuration reference (`scripts/configReference.ts`) is generated from: every key, with its words, and the rules across keys. */
export const SCHEMA_PARTS = { shared, sharedRules, backends: BACKEND_CONFIGS };

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

/** A version's least task count: its configured minimum, or what the rollout raised it to. */
export function minCount(config: CanaryConfig, version: Version): number {
    return Math.max(config.versions[version].scaling.minCount, config.raisedMinCounts[version] ?? 0);
}

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
export const asWritten = (raw: Record<string, unknown>) => Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, fromJsonText(value)]));
