/**
 * What defines a version: the one rule the program (its fingerprint output) and the
 * rollout (what promotion copies, what counts as a new canary) share. Task counts and
 * capacity bounds are not part of it: they size a version, they do not change what it
 * serves.
 */
import * as crypto from "crypto";
import { VersionConfig } from "../config/schema";

/** The fields of a version's config that define what it serves. */
const DEFINING_FIELDS = ["image", "cpu", "memory", "environment"] as const satisfies readonly (keyof VersionConfig)[];

export type VersionDefinition = Pick<VersionConfig, (typeof DEFINING_FIELDS)[number]>;

/** What defines a version: what promotion copies from canary to stable, and what the fingerprint covers. */
export function definitionOf(version: VersionDefinition): VersionDefinition {
    return Object.fromEntries(DEFINING_FIELDS.map((field) => [field, version[field]])) as VersionDefinition;
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
