/**
 * The building blocks of the stack's config schemas, for values as Pulumi hands them
 * over: plain values as strings (`pulumi config set port 8080` stores "8080"), and
 * structured values as JSON whose leaves may be strings, numbers or booleans.
 *
 * Every field reports one problem in the words a user needs ("an integer from 1025 to
 * 65535"), sections refuse fields that nothing reads, and rules across fields run
 * whenever the fields they read are valid, so one run lists every problem at once.
 */
import { z } from "zod";

/** A value parsed from raw config, or `undefined` when it is not acceptable. */
type Parse<T> = (raw: unknown) => T | undefined;

/**
 * One config value: `expected` is what the user is told when `parse` refuses it, and what
 * the configuration reference lists as allowed (`allowedOf`).
 */
export function field<T>(expected: string, parse: Parse<T>) {
    return z
        .unknown()
        .transform((raw, ctx): T => {
            const value = parse(raw);
            if (value === undefined) {
                ctx.addIssue({ code: "custom", message: expected, input: raw });
                return z.NEVER;
            }
            return value;
        })
        .meta({ allowed: expected });
}

/**
 * Structured values reach the program as JSON text at the top level of a stack's config and
 * as values below it; text that is not a JSON list or object (or does not parse) stays as the
 * user wrote it, so a problem shows their words.
 */
export function fromJsonText(raw: unknown): unknown {
    if (typeof raw !== "string" || !/^\s*[[{]/.test(raw)) return raw;
    try {
        return JSON.parse(raw);
    } catch {
        return raw;
    }
}

const asInteger = (raw: unknown): number | undefined => {
    const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
    return /^-?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
};

/** An integer in [min, max]; `reserved` values inside the range are refused with `why`. */
export function integer(min: number, max: number, reserved?: { values: number[]; why: string }) {
    const expected = `an integer from ${min} to ${max}` + (reserved ? ` (${reserved.why})` : "");
    return field(expected, (raw) => {
        const value = asInteger(raw);
        return value !== undefined && value >= min && value <= max && !reserved?.values.includes(value) ? value : undefined;
    });
}

/** A number in [min, max], decimals allowed. */
export function decimal(min: number, max: number) {
    return field(`a number from ${min} to ${max}`, (raw) => {
        const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
        const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
        return value >= min && value <= max ? value : undefined;
    });
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(allowed: readonly T[]) {
    return field(`one of ${allowed.map((a) => `"${a}"`).join(", ")}`, (raw) =>
        typeof raw === "string" && (allowed as readonly string[]).includes(raw) ? (raw as T) : undefined,
    );
}

/** A string matching `pattern`, described to the user as `expected`. */
export function matching(pattern: RegExp, expected: string) {
    return field(expected, (raw) => (typeof raw === "string" && pattern.test(raw) ? raw : undefined));
}

/** `true`/`false`, as a boolean or as the strings Pulumi stores. */
export function boolean() {
    return field("true or false", (raw) => (raw === true || raw === "true" ? true : raw === false || raw === "false" ? false : undefined));
}

/** A non-empty JSON list whose every item `item` accepts. */
function listOf<T>(expected: string, item: Parse<T>) {
    return field(`a non-empty list of ${expected}`, (raw) => {
        const list = fromJsonText(raw);
        if (!Array.isArray(list) || list.length === 0) return undefined;
        const items = list.map(item);
        return items.every((i) => i !== undefined) ? (items as T[]) : undefined;
    });
}

export const stringList = (pattern: RegExp, expected: string) => listOf(expected, (raw) => (typeof raw === "string" && pattern.test(raw) ? raw : undefined));

export const integerList = (min: number, max: number) =>
    listOf(`integers from ${min} to ${max}`, (raw) => {
        const value = asInteger(raw);
        return value !== undefined && value >= min && value <= max ? value : undefined;
    });

/** A map of names to string values (numbers and booleans are taken as their text), e.g. a container's environment. */
export function stringMap(namePattern: RegExp, nameExpected: string) {
    const expected = `an object of ${nameExpected} to string values`;
    return z
        .unknown()
        .meta({ allowed: expected })
        .transform((raw, ctx): Record<string, string> => {
            const value = raw === undefined ? {} : fromJsonText(raw);
            if (typeof value !== "object" || value === null || Array.isArray(value)) {
                ctx.addIssue({ code: "custom", message: expected, input: raw });
                return z.NEVER;
            }
            const out: Record<string, string> = {};
            for (const [name, item] of Object.entries(value)) {
                if (!namePattern.test(name) || !["string", "number", "boolean"].includes(typeof item)) {
                    ctx.addIssue({ code: "custom", path: [name], message: `a string value under a key that is ${nameExpected}`, input: item });
                } else {
                    out[name] = String(item);
                }
            }
            return out;
        });
}

/**
 * A map from names to objects of one section's shape; a name `refused` finds wrong is
 * refused with its words.
 */
function mapOf<T extends z.ZodType>(value: T, nameExpected: string, refused: (name: string) => string | undefined, mapKey: string) {
    const expected = `an object from ${nameExpected} to an object of the fields below`;
    return z
        .preprocess(
            (raw) => (raw === undefined ? {} : fromJsonText(raw)),
            z.record(z.string(), value, { error: expected }).check(
                // Runs beside the values' own problems, as refuseUnknownKeys does.
                z.superRefine(
                    (map, ctx) => {
                        if (typeof map !== "object" || map === null || Array.isArray(map)) return;
                        for (const key of Object.keys(map)) {
                            const message = refused(key);
                            if (message) ctx.addIssue({ code: "custom", path: [key], input: key, message });
                        }
                    },
                    { when: () => true },
                ),
            ),
        )
        .meta({ allowed: expected, fields: metaOf(value).fields, mapKey });
}

/**
 * A map from names among `names` (e.g. GPU instance types) to objects of one section's
 * shape; a name not among them is refused with the nearest that is.
 */
export const sectionMap = <T extends z.ZodType>(names: readonly string[], nameExpected: string, value: T, mapKey: string) =>
    mapOf(
        value,
        nameExpected,
        (key) => {
            if (names.includes(key)) return undefined;
            const guess = closest(key, [...names]);
            return `${nameExpected}${guess ? `: did you mean "${guess}"?` : ""}`;
        },
        mapKey,
    );

/** A map from names the user chooses (`isName` accepts, described as `nameExpected`) to objects of one section's shape. */
export const namedSections = <T extends z.ZodType>(isName: (name: string) => boolean, nameExpected: string, value: T, mapKey: string) =>
    mapOf(value, nameExpected, (key) => (isName(key) ? undefined : nameExpected), mapKey);

/** Keys of `T` without the index signature a loose object adds. */
type Known<T> = T extends unknown ? { [K in keyof T as string extends K ? never : K]: T[K] } : never;

/**
 * Where a key that does not belong here went, or which setting it belongs to: shown
 * instead of "did you mean" (e.g. `maxRetries` moved under `appmesh`).
 */
export type Elsewhere = Record<string, string>;

/**
 * The keys of an object (a section, or the top level) that nothing reads: a misspelt
 * key, or one that belongs elsewhere, would otherwise be ignored in silence. Runs even
 * when fields fail, so it is reported beside them.
 */
export function refuseUnknownKeys(known: string[], elsewhere: Elsewhere = {}) {
    return z.superRefine<Record<string, unknown>>(
        (value, ctx) => {
            // A value that is not an object is reported as such by the object schema.
            if (typeof value !== "object" || value === null || Array.isArray(value)) return;
            for (const key of Object.keys(value).filter((k) => !known.includes(k))) {
                ctx.addIssue({ code: "custom", path: [key], input: value[key], message: elsewhere[key] ?? unknownKeyText(key, known) });
            }
        },
        { when: () => true },
    );
}

/** A rule's own words, for the configuration reference: the keys it reads and what it requires. */
export interface RuleDoc {
    reads: string[];
    text: string;
}

/** A check across fields, with its words. */
export type Rule<T> = z.core.$ZodCheck<T> & { doc: RuleDoc };

/** What the configuration reference reads from a schema: what is allowed, what it means, a section's fields and rules. */
export interface FieldMeta {
    allowed?: string;
    description?: string;
    fields?: z.ZodRawShape;
    /** A map's keys, as the reference names them (`gpuPools.<instance type>.maxInstances`). */
    mapKey?: string;
    rules?: RuleDoc[];
}

/** A schema's reference metadata (zod's registry carries it through `.default()`, `.optional()` and `.describe()`). */
export const metaOf = (schema: z.ZodType): FieldMeta => (z.globalRegistry.get(schema) ?? {}) as FieldMeta;

/**
 * A structured value (`pulumi config set --path section.field value`), empty when
 * unset, whose fields are `shape`; any other field is refused.
 */
export function section<S extends z.ZodRawShape>(shape: S, options: { elsewhere?: Elsewhere; rules?: Rule<z.output<z.ZodObject<S>>>[] } = {}) {
    const known = Object.keys(shape);
    return z
        .preprocess(
            (raw) => (raw === undefined ? {} : fromJsonText(raw)),
            z
                .looseObject(shape, { error: "an object (set its fields with `pulumi config set --path <key>.<field> <value>`)" })
                .check(refuseUnknownKeys(known, options.elsewhere), ...((options.rules ?? []) as z.core.$ZodCheck<object>[])),
        )
        .transform((value) => Object.fromEntries(Object.entries(value).filter(([k]) => known.includes(k))) as Known<typeof value>)
        .meta({ allowed: "an object", fields: shape, rules: (options.rules ?? []).map((r) => r.doc) });
}

/**
 * A rule across fields of one object, in words (`text`, for the configuration reference)
 * and as a check. It runs whenever the fields it `reads` are valid, so it is reported
 * beside unrelated problems; `report` names a key relative to the object.
 */
export function rule<T>(reads: string[], text: string, check: (value: T, report: (key: string, got: unknown, expected: string) => void) => void): Rule<T> {
    const refinement = z.superRefine<T>(
        (value, ctx) => check(value, (key, got, expected) => ctx.addIssue({ code: "custom", path: key.split("."), input: got, message: expected })),
        { when: (payload) => !payload.issues.some((issue) => reads.includes(String(issue.path?.[0]))) },
    );
    return Object.assign(refinement, { doc: { reads, text } });
}

/** Edits (insertions, deletions, substitutions; case aside) that turn one word into the other. */
export function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        let diagonal = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const above = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
            diagonal = above;
        }
    }
    return row[b.length];
}

/** The word a typo most likely meant, when one is close enough to be a good guess (config keys, the rollout's options). */
export function closest(word: string, candidates: string[]): string | undefined {
    const scored = candidates.map((c) => ({ c, d: editDistance(word, c) })).sort((a, b) => a.d - b.d);
    // More edits than a third of the word is a different word, not a typo.
    return scored.length > 0 && scored[0].d <= Math.max(2, Math.floor(word.length / 3)) ? scored[0].c : undefined;
}

function unknownKeyText(key: string, known: string[]): string {
    const guess = closest(key, known);
    const keys = [...known].sort().join(", ");
    return guess ? `a known key: did you mean "${guess}"? (keys here: ${keys})` : `a known key (keys here: ${keys})`;
}

export const DNS_LABEL = /^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** A DNS label, as Cloud Map service names and the service's own name must be. */
export const dnsLabel = () => matching(DNS_LABEL, "a DNS label: lowercase letters, digits and '-', starting with a letter, at most 32 characters");

/** A DNS name with at least two labels, as namespaces and custom domain names must be. */
export const dnsName = () => matching(DNS_NAME, 'a DNS name with at least two labels, e.g. "ai.internal"');
