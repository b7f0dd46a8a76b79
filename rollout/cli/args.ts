/**
 * The command line's words: usage, each command's options and help, their parsing (every
 * mistake named before anything runs, with a guess at what was meant), and errors in words a
 * person can act on.
 */
import { SCENARIOS } from "../simulator/scenarios";
import { GOLDEN_SCENARIOS } from "../simulator/golden";
import { parseArgs as parseNodeArgs } from "node:util";
import { RolloutOptions } from "../core/plan";
import { RolloutSchedule } from "../../contract/schedule";
import { closest } from "../../contract/fields";

import { Traffic } from "../core/power";

export const USAGE = `usage: rollout <command> [options]
  run --stack NAME [--dry-run] [--yes] [--from-step N] [--to-step N] [--report-dir DIR] [--break-stale-lease]
      [--requests-per-second N --error-rate PERCENT --slow-share PERCENT] (traffic for --dry-run's power; default: the last hour's)
  status --stack NAME
  abort --stack NAME
  guard --stack NAME | --platform NAME
  simulate [${[...SCENARIOS, ...GOLDEN_SCENARIOS].map((s) => s.name).join("|")}|all]... [--runs N] [--seed N] [--stack NAME] [--compare] [--report-dir DIR]
      [--requests-per-second N --error-rate PERCENT --slow-share PERCENT] (traffic for --stack's power)
  check --stack NAME | --platform NAME
  load --stack NAME --rps N --minutes M [--file REQUESTS.jsonl]
exit codes: 0 promoted, paused or nothing to do; 1 rolled back; 2 failed or bad arguments;
3 held for lack of traffic; 4 refused (the stack is not where this config says, or another rollout holds it);
130 interrupted (SIGINT), 143 terminated (SIGTERM). simulate: 0 when every single run ended as its
scenario expects (with --runs above 1 it measures: 0 unless an argument is wrong). check: 0 valid (warnings
allowed), 1 problems found, 2 bad arguments or an unreadable file`;

export type CliArgs =
    | ({ command: "run"; stack: string; dryRun: boolean; yes: boolean; reportDir: string; breakStaleLease: boolean; traffic?: Traffic } & RolloutOptions)
    | { command: "status" | "abort" | "guard"; stack: string }
    | { command: "guard-platform"; platform: string }
    | { command: "check"; stack: string; platform?: undefined }
    | { command: "check"; platform: string; stack?: undefined }
    | { command: "simulate"; scenarios: string[]; runs: number; seed: number; stack?: string; compare: boolean; reportDir?: string; traffic?: Traffic }
    | { command: "load"; stack: string; rps: number; minutes: number; file?: string }
    | { command: "help"; about?: string };

export class CliError extends Error {}

const OPTIONS = {
    stack: { type: "string" },
    platform: { type: "string" },
    "dry-run": { type: "boolean" },
    yes: { type: "boolean" },
    "from-step": { type: "string" },
    "to-step": { type: "string" },
    "report-dir": { type: "string" },
    "break-stale-lease": { type: "boolean" },
    runs: { type: "string" },
    seed: { type: "string" },
    compare: { type: "boolean" },
    "requests-per-second": { type: "string" },
    "error-rate": { type: "string" },
    "slow-share": { type: "string" },
    rps: { type: "string" },
    minutes: { type: "string" },
    file: { type: "string" },
    help: { type: "boolean", short: "h" },
} as const;

/** Which options each command takes. */
const TAKES: Record<string, (keyof typeof OPTIONS)[]> = {
    run: ["stack", "dry-run", "yes", "from-step", "to-step", "report-dir", "break-stale-lease", "requests-per-second", "error-rate", "slow-share"],
    status: ["stack"],
    abort: ["stack"],
    guard: ["stack", "platform"],
    simulate: ["report-dir", "runs", "seed", "stack", "compare", "requests-per-second", "error-rate", "slow-share"],
    check: ["stack", "platform"],
    load: ["stack", "rps", "minutes", "file"],
};

/** What each command does, in a line, and how it is called: `rollout <command> --help`. */
export const COMMAND_HELP: Record<string, { does: string; examples: string[] }> = {
    run: {
        does: "Roll the stack's canary out: deploy it, step its weight, judge each step, then promote it or roll it back.",
        examples: ["rollout run --stack lattice --dry-run", "rollout run --stack lattice", "rollout run --stack lattice --to-step 2"],
    },
    status: { does: "Say what is deployed, who holds the stack, and the last rollout's verdicts.", examples: ["rollout status --stack lattice"] },
    abort: { does: "Make the running rollout roll back at its next sample, from any machine.", examples: ["rollout abort --stack lattice"] },
    guard: {
        does: "For a deploy job: refuse while a rollout runs on the stack (or on any service of the platform), or when this config would undo one.",
        examples: ["rollout guard --stack dev", "cd platform && ../scripts/rollout guard --platform rag"],
    },
    simulate: {
        does: "Run the rollout engine on seeded synthetic traffic: one scenario's every line, or many runs' rates.",
        examples: ["rollout simulate errors-2x", "rollout simulate all --runs 2000 --compare", "rollout simulate all --stack prod --runs 300"],
    },
    load: {
        does: "Send requests to both versions through their pins, at a rate, for some minutes, from the stack's runner in the VPC: the golden set's items, or a file of recorded requests. Ctrl-C stops it within a minute.",
        examples: ["rollout load --stack gpu --rps 2 --minutes 10", "rollout load --stack gpu --rps 1 --minutes 30 --file recorded.jsonl"],
    },
    check: {
        does: "Validate a stack file as `pulumi preview` would, with no AWS or Pulumi CLI: every problem at once, a service's platform reference, and values left from the examples (warnings).",
        examples: ["rollout check --stack dev", "rollout check --platform rag"],
    },
};

export const suggest = (word: string, known: string[], prefix = "") => {
    const near = closest(word, known);
    return near ? `; did you mean ${prefix}${near}?` : "";
};

/** Parses the command line; throws `CliError` with what is wrong, before anything runs. */
export function parseArgs(argv: string[]): CliArgs {
    let parsed: ReturnType<typeof parseNodeArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
    try {
        parsed = parseNodeArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
        // Node's own words ("To specify a positional argument starting with a '-'...") help nobody here.
        const unknown = /Unknown option '(-{1,2})([^']+)'/.exec((e as Error).message);
        if (unknown) throw new CliError(`unknown option ${unknown[1]}${unknown[2]}${suggest(unknown[2], Object.keys(OPTIONS), "--")}`);
        throw new CliError((e as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (command === undefined && !values.help) throw new CliError("no command given");
    if (command === "help" || command === undefined) return { command: "help" };
    if (!(command in TAKES))
        throw new CliError(`unknown command ${JSON.stringify(command)}${suggest(command, Object.keys(TAKES))}; one of ${Object.keys(TAKES).join(", ")}`);
    if (values.help) return { command: "help", about: command };
    for (const option of Object.keys(values) as (keyof typeof OPTIONS)[]) {
        if (option !== "help" && !TAKES[command].includes(option)) throw new CliError(`--${option} is not an option of ${command}`);
    }
    const traffic = trafficOption(values);
    if (command === "simulate") {
        const names = [...SCENARIOS, ...GOLDEN_SCENARIOS].map((s) => s.name);
        const wanted = rest.length > 0 ? rest : ["all"];
        const unknown = wanted.find((name) => name !== "all" && !names.includes(name));
        if (unknown !== undefined || (wanted.includes("all") && wanted.length > 1)) {
            const word = unknown ?? rest.join(" ");
            throw new CliError(`unknown scenario ${JSON.stringify(word)}${suggest(word, [...names, "all"])}; one or more of ${names.join(", ")}, or all`);
        }
        const count = (flag: "runs" | "seed", fallback: number) => {
            const raw = values[flag];
            if (raw === undefined) return fallback;
            if (!/^[1-9]\d*$/.test(raw)) throw new CliError(`--${flag} takes a whole number from 1, got ${JSON.stringify(raw)}`);
            return Number(raw);
        };
        return {
            command,
            scenarios: wanted.includes("all") ? names : wanted,
            runs: count("runs", 1),
            seed: count("seed", 1),
            stack: values.stack,
            compare: values.compare ?? false,
            reportDir: values["report-dir"],
            ...(traffic ? { traffic } : {}),
        };
    }
    if (rest.length > 0) throw new CliError(`${command} takes no arguments besides its options, got ${JSON.stringify(rest.join(" "))}`);
    if ((command === "guard" || command === "check") && values.platform !== undefined) {
        if (values.stack !== undefined) throw new CliError(`${command} takes --stack NAME or --platform NAME, not both`);
        return command === "guard" ? { command: "guard-platform", platform: values.platform } : { command, platform: values.platform };
    }
    const stack = values.stack;
    if (stack === undefined) throw new CliError(`${command} needs --stack NAME${command === "guard" || command === "check" ? " or --platform NAME" : ""}`);
    if (command === "load") return loadArgs(stack, values);
    if (command !== "run") return { command: command as "status" | "abort" | "guard" | "check", stack };

    const step = (flag: "from-step" | "to-step") => {
        const raw = values[flag];
        if (raw === undefined) return undefined;
        if (!/^[1-9]\d*$/.test(raw)) throw new CliError(`--${flag} takes a step number from 1, got ${JSON.stringify(raw)}`);
        return Number(raw);
    };
    const fromStep = step("from-step");
    const toStep = step("to-step");
    if (fromStep !== undefined && toStep !== undefined && fromStep > toStep) throw new CliError(`--from-step ${fromStep} comes after --to-step ${toStep}`);
    return {
        command,
        stack,
        dryRun: values["dry-run"] ?? false,
        yes: values.yes ?? false,
        fromStep,
        toStep,
        reportDir: values["report-dir"] ?? "rollout-reports",
        breakStaleLease: values["break-stale-lease"] ?? false,
        ...(traffic ? { traffic } : {}),
    };
}

/** The most load `rollout load` sends, per version, and for how long: an AI endpoint's traffic, not a stress test. */
const MOST_RPS = 50;
const MOST_MINUTES = 240;

function loadArgs(stack: string, values: { rps?: string; minutes?: string; file?: string }): CliArgs {
    const rps = Number(values.rps);
    if (values.rps === undefined || !/^\d+(\.\d+)?$/.test(values.rps) || rps <= 0 || rps > MOST_RPS)
        throw new CliError(`load needs --rps, requests a second to each version, above 0 and at most ${MOST_RPS}; got ${JSON.stringify(values.rps ?? null)}`);
    const minutes = Number(values.minutes);
    if (values.minutes === undefined || !/^[1-9]\d*$/.test(values.minutes) || minutes > MOST_MINUTES)
        throw new CliError(`load needs --minutes, a whole number from 1 to ${MOST_MINUTES}; got ${JSON.stringify(values.minutes ?? null)}`);
    return { command: "load", stack, rps, minutes, ...(values.file !== undefined ? { file: values.file } : {}) };
}

/** Step numbers must exist in the schedule; checked once the schedule is known. */
export function checkSteps(args: RolloutOptions, schedule: RolloutSchedule): void {
    for (const [flag, value] of [
        ["--from-step", args.fromStep],
        ["--to-step", args.toStep],
    ] as const) {
        if (value !== undefined && value > schedule.steps.length) {
            throw new CliError(`${flag} ${value}: the schedule has ${schedule.steps.length} steps (${schedule.steps.join(", ")})`);
        }
    }
}

/** Traffic given on the command line, all three together: requests a second, and percents. */
export function trafficOption(values: { "requests-per-second"?: string; "error-rate"?: string; "slow-share"?: string }): Traffic | undefined {
    const given = (["requests-per-second", "error-rate", "slow-share"] as const).map((flag) => values[flag]);
    if (given.every((v) => v === undefined)) return undefined;
    if (given.some((v) => v === undefined)) throw new CliError("--requests-per-second, --error-rate and --slow-share go together");
    const [rps, errors, slow] = given.map((v, i) => {
        const n = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v!) || (i > 0 && n > 100) || (i === 0 && n === 0)) {
            throw new CliError(
                `--${["requests-per-second", "error-rate", "slow-share"][i]} takes ${i === 0 ? "a number above 0" : "a percent from 0 to 100"}, got ${JSON.stringify(v)}`,
            );
        }
        return n;
    });
    return { requestsPerSecond: rps, errorRate: errors / 100, slowShare: slow / 100 };
}

/** One command's help: what it does, its options, examples. */
export function commandHelp(command: string): string {
    const { does, examples } = COMMAND_HELP[command];
    const usage = USAGE.split("\n").filter(
        (line, i, lines) => line.startsWith(`  ${command} `) || (lines[i - 1]?.startsWith(`  ${command} `) && line.startsWith("      ")),
    );
    return [`rollout ${command}: ${does}`, "", "usage:", ...usage, "", "examples:", ...examples.map((e) => `  ${e}`)].join("\n");
}

/** What to do about an error a person cannot act on as the SDK words it. */
export function describeError(e: Error): string {
    if (e.name === "CredentialsProviderError") {
        return "no AWS credentials: set AWS_PROFILE (and `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for the stack's account";
    }
    const code = (e as Error & { code?: string }).code ?? "";
    if (/^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT)$/.test(code) || /getaddrinfo|ECONNREFUSED/.test(e.message)) {
        return `AWS is unreachable from here (${e.message.split("\n")[0]}): check the network or proxy, and AWS_ENDPOINT_URL if it is set`;
    }
    if (/^(UnrecognizedClientException|InvalidClientTokenId|ExpiredToken(Exception)?|AccessDenied(Exception)?|UnauthorizedOperation)$/.test(e.name)) {
        return `AWS refused the request (${e.name}: ${e.message.split("\n")[0]}): the credentials are for another account, expired, or lack the runner's permissions (docs/operations.md#permissions)`;
    }
    return e.message;
}
