/**
 * What defines a version: the one rule the program (its fingerprint output) and the
 * rollout (what promotion copies, what counts as a new canary) share: image, command,
 * model weights, environment, secrets, compute kind and size. Scaling bounds are not part of
 * it: they size a version, they do not change what it serves.
 */
import * as crypto from "crypto";

/**
 * The fields of a version's config that define what it serves (the program's version schema
 * holds them to its own keys). `notSecret` travels with the environment it vouches for, so a
 * promoted stable is accepted as the canary was.
 */
export const DEFINING_FIELDS = [
    "image",
    "cpu",
    "memory",
    "environment",
    "notSecret",
    "secrets",
    "secretsKmsKeyArn",
    "weights",
    "compute",
    "gpu",
    "command",
] as const;

export type VersionDefinition = Partial<Record<(typeof DEFINING_FIELDS)[number], unknown>>;

/** Fields added after the first four: left out while unused (or at their default), so they do not change existing fingerprints. */
const empty = (value: unknown) => value === undefined || (typeof value === "object" && value !== null && Object.keys(value).length === 0);
const LATER_FIELDS: Record<string, (value: unknown) => boolean> = {
    secrets: empty,
    secretsKmsKeyArn: empty,
    weights: empty,
    compute: (value) => value === undefined || value === "fargate",
    gpu: empty,
    command: empty,
    notSecret: empty,
};

/** What defines a version: what promotion copies from canary to stable, and what the fingerprint covers. */
export function definitionOf(version: VersionDefinition): VersionDefinition {
    const fields = DEFINING_FIELDS.filter((field) => !LATER_FIELDS[field]?.(version[field]));
    return Object.fromEntries(fields.map((field) => [field, version[field]])) as VersionDefinition;
}

/** Stable's config once promoted: what defines the canary, and stable's own sizing (its scaling bounds). */
export function promotedStable(stable: Record<string, unknown>, canary: VersionDefinition): Record<string, unknown> {
    const own = Object.fromEntries(Object.entries(stable).filter(([key]) => !(DEFINING_FIELDS as readonly string[]).includes(key)));
    return { ...own, ...definitionOf(canary) };
}

/** JSON with object keys sorted, so equal definitions give equal text whatever their key order. */
function canonical(value: unknown): string {
    if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
    if (typeof value === "object" && value !== null) {
        const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

/** A short digest of a version's definition: equal exactly when the two versions serve the same thing. */
export function fingerprint(definition: VersionDefinition): string {
    return crypto.createHash("sha256").update(canonical(definition)).digest("hex").slice(0, 16);
}
