/**
 * Typed, validating reads of raw stack config.
 *
 * Pulumi hands a program plain strings (`pulumi config set port 8080` stores "8080"),
 * and structured values as JSON whose leaves may be strings, numbers or booleans.
 * A `ConfigReader` accepts both, records every problem instead of stopping at the
 * first, and `check()` throws one `ConfigError` listing them all, so a user fixes a
 * stack file in one pass and no resource is declared from half-valid config.
 */

/** Looks up one raw config value by key; `undefined` when the key is not set. */
export type ConfigSource = (key: string) => unknown;

export interface ConfigProblem {
    /** Dotted path of the key, as `pulumi config set --path` spells it. */
    key: string;
    /** The value that was given, as the user wrote it. */
    got: unknown;
    /** What would have been accepted. */
    expected: string;
}

export class ConfigError extends Error {
    constructor(readonly problems: ConfigProblem[]) {
        super(
            "Invalid stack config; nothing was deployed. Fix these keys and run again:\n" +
                problems.map((p) => `  - ${p.key}: got ${show(p.got)}; expected ${p.expected}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

function show(value: unknown): string {
    if (value === undefined) return "nothing (the key is not set)";
    return JSON.stringify(value);
}

interface IntegerRule {
    min: number;
    max: number;
    /** Values inside [min, max] that are still refused, with the reason shown to the user. */
    reserved?: { values: number[]; why: string };
}

/** What a reader and the readers of its structured values share. */
interface ReadState {
    problems: ConfigProblem[];
    /** Every structured value read, with the fields the program asked for, to find fields nothing read. */
    objects: { path: string; value: Record<string, unknown>; read: Set<string> }[];
}

export class ConfigReader {
    private readonly read = new Set<string>();

    constructor(
        private readonly source: ConfigSource,
        private readonly prefix = "",
        private readonly state: ReadState = { problems: [], objects: [] },
    ) {}

    private get problems(): ConfigProblem[] {
        return this.state.problems;
    }

    /** Records a problem that no single-key read can see, e.g. two keys that disagree. */
    report(key: string, got: unknown, expected: string): void {
        this.problems.push({ key: this.path(key), got, expected });
    }

    /**
     * Refuses keys the stack sets that nothing read: a misspelt key would otherwise be
     * ignored in silence. Call it after every read; `ignored` are keys other tools own.
     */
    refuseUnread(setKeys: string[], ignored: string[] = []): void {
        for (const key of setKeys.filter((k) => !this.read.has(k) && !ignored.includes(k))) {
            this.report(key, this.source(key), `a known key; did you mean "${closest(key, [...this.read])}"?`);
        }
    }

    /**
     * Throws a `ConfigError` naming every problem recorded by this reader and its children,
     * including fields of structured values that nothing read: a misspelt field, or one
     * that does not apply with the other settings, would otherwise be silently ignored.
     */
    check(): void {
        for (const { path, value, read } of this.state.objects) {
            for (const field of Object.keys(value).filter((f) => !read.has(f))) {
                const used = [...read].sort().join(", ");
                this.problems.push({ key: `${path}${field}`, got: value[field], expected: `no such field here; ${path.slice(0, -1)} takes ${used}` });
            }
        }
        this.state.objects = [];
        if (this.problems.length > 0) throw new ConfigError([...this.problems]);
    }

    /** An integer in [min, max]; `fallback` when unset; required when `fallback` is undefined. */
    integer(key: string, rule: IntegerRule, fallback?: number): number {
        const expected = `an integer from ${rule.min} to ${rule.max}` + (rule.reserved ? ` (${rule.reserved.why})` : "");
        const raw = this.raw(key);
        if (raw === undefined && fallback !== undefined) return fallback;
        const text = typeof raw === "number" ? String(raw) : typeof raw === "string" ? raw.trim() : "";
        const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max || rule.reserved?.values.includes(value)) {
            this.report(key, raw, expected);
            return fallback ?? rule.min;
        }
        return value;
    }

    /** One of a fixed set of strings. */
    oneOf<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
        const raw = this.raw(key);
        if (raw === undefined) return fallback;
        if (typeof raw === "string" && (allowed as readonly string[]).includes(raw)) return raw as T;
        this.report(key, raw, `one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
        return fallback;
    }

    /** A string matching `pattern`, described to the user as `expected`; required when `fallback` is undefined. */
    matching(key: string, pattern: RegExp, expected: string, fallback?: string): string {
        const raw = this.raw(key);
        if (raw === undefined && fallback !== undefined) return fallback;
        if (typeof raw === "string" && pattern.test(raw)) return raw;
        this.report(key, raw, expected);
        return fallback ?? "";
    }

    /** Whether the key is set at all. */
    has(key: string): boolean {
        return this.raw(key) !== undefined;
    }

    /** A non-empty list of integers in [min, max], given as a JSON array (numbers or numeric strings). */
    integerList(key: string, min: number, max: number): number[] {
        const raw = this.raw(key);
        const list = asJson(raw);
        const values = Array.isArray(list) ? list.map((item) => (typeof item === "string" && /^\d+$/.test(item) ? Number(item) : item)) : [];
        if (values.length === 0 || !values.every((v) => Number.isInteger(v) && v >= min && v <= max)) {
            this.report(key, raw, `a non-empty list of integers from ${min} to ${max}`);
            return [];
        }
        return values as number[];
    }

    /** A non-empty list of strings each matching `pattern`, given as a JSON array. */
    stringList(key: string, pattern: RegExp, expected: string): string[] {
        const raw = this.raw(key);
        const list = asJson(raw);
        if (!Array.isArray(list) || list.length === 0 || !list.every((item) => typeof item === "string" && pattern.test(item))) {
            this.report(key, raw, `a non-empty list of ${expected}`);
            return [];
        }
        return list as string[];
    }

    /** `true`/`false`, as a boolean or as the strings Pulumi stores. */
    boolean(key: string, fallback: boolean): boolean {
        const raw = this.raw(key);
        if (raw === undefined) return fallback;
        if (raw === true || raw === "true") return true;
        if (raw === false || raw === "false") return false;
        this.report(key, raw, "true or false");
        return fallback;
    }

    /** A map of string to string (e.g. container environment); values may be numbers or booleans. */
    stringMap(key: string, keyPattern: RegExp, keyExpected: string): Record<string, string> {
        const raw = this.raw(key);
        if (raw === undefined) return {};
        const obj = asObject(raw);
        if (!obj) {
            this.report(key, raw, `an object of ${keyExpected} to string values`);
            return {};
        }
        const out: Record<string, string> = {};
        for (const [name, value] of Object.entries(obj)) {
            if (!keyPattern.test(name) || !["string", "number", "boolean"].includes(typeof value)) {
                this.report(`${key}.${name}`, value, `a string value under a key that is ${keyExpected}`);
                continue;
            }
            out[name] = String(value);
        }
        return out;
    }

    /** A reader for a structured value (`pulumi config set --path key.child v`); empty when unset. */
    object(key: string): ConfigReader {
        const raw = this.raw(key);
        const obj = raw === undefined ? {} : asObject(raw);
        if (!obj) {
            this.report(key, raw, "an object (set its fields with `pulumi config set --path`)");
            return new ConfigReader(() => undefined, this.path(key) + ".", this.state);
        }
        const child = new ConfigReader((k) => obj[k], this.path(key) + ".", this.state);
        this.state.objects.push({ path: this.path(key) + ".", value: obj, read: child.read });
        return child;
    }

    private raw(key: string): unknown {
        this.read.add(key);
        const value = this.source(key);
        return value === null ? undefined : value;
    }

    private path(key: string): string {
        return this.prefix + key;
    }
}

/** The candidate a typo most likely meant: the one fewest single-character edits away. */
export function closest(word: string, candidates: string[]): string {
    const distance = (a: string, b: string) => {
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
    };
    return candidates.reduce((best, c) => (distance(word, c) < distance(word, best) ? c : best));
}

/** Structured config reaches the program as JSON text at the top level and as values below it. */
function asJson(raw: unknown): unknown {
    if (typeof raw !== "string") return raw;
    try {
        return JSON.parse(raw);
    } catch {
        return undefined;
    }
}

function asObject(raw: unknown): Record<string, unknown> | undefined {
    const value = asJson(raw);
    return typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
}
