/**
 * One error for every problem in a stack's config, each naming the key (as
 * `pulumi config set --path` spells it), the value given and what is allowed.
 */
import { RunError } from "@pulumi/pulumi/errors";
import { z } from "zod";

export interface ConfigProblem {
    /** Dotted path of the key. */
    key: string;
    /** The value that was given, as the user wrote it; undefined when the key is not set. */
    got: unknown;
    /** What would have been accepted. */
    expected: string;
}

/**
 * A `RunError`, so `pulumi preview` and `pulumi up` print the message once, as a clean
 * block, without a stack trace or the problems repeated as an object.
 */
export class ConfigError extends RunError {
    constructor(readonly problems: ConfigProblem[]) {
        super("Invalid stack config; nothing was deployed. Fix these keys and run again:\n" + problemLines(problems));
        this.name = "ConfigError";
    }
}

/** One line a problem, as the program and `rollout check` print them. */
export function problemLines(problems: ConfigProblem[]): string {
    return problems.map((p) => `  - ${p.key}: got ${show(p.got)}; expected ${p.expected}`).join("\n");
}

function show(value: unknown): string {
    return value === undefined ? "nothing (the key is not set)" : JSON.stringify(value);
}

/** The problems in zod's issues, in the order of the keys they name. */
export function problemsOf(issues: z.core.$ZodIssue[], prefix = ""): ConfigProblem[] {
    return issues.map((issue) => ({ key: prefix + issue.path.map(String).join("."), got: issue.input, expected: issue.message }));
}

/** Parses `raw` with `schema`, or throws one `ConfigError` listing every problem. */
export function parseOrThrow<S extends z.ZodType>(schema: S, raw: unknown, prefix = ""): z.output<S> {
    const result = schema.safeParse(raw, { reportInput: true });
    if (!result.success) throw new ConfigError(problemsOf(result.error.issues, prefix));
    return result.data;
}
