/**
 * The rollout's command line:
 *   rollout run --stack NAME       a progressive rollout of the stack's canary
 *   rollout status --stack NAME    what is deployed, who holds the stack, the last verdicts
 *   rollout abort --stack NAME     make the running rollout roll back at its next sample
 *   rollout guard --stack NAME     for a deploy job: refuse while a rollout runs, or when this config would undo one
 *   rollout guard --platform NAME  for a platform's deploy job (from platform/): refuse while a rollout runs on any service on it
 *   rollout simulate [SCENARIO]    the same engine on synthetic data
 *   rollout check --stack NAME     a stack file validated as the program would, without AWS or the Pulumi CLI
 * Run it as `./scripts/rollout ...`, which keeps exit codes and signals (npm does not).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as readline from "readline";
import { parseArgs as parseNodeArgs } from "node:util";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SSMClient } from "@aws-sdk/client-ssm";
import { parseOrThrow, problemLines } from "../../mesh/config/errors";
import { checkPlatformStack, checkServiceStack, serviceProjectDir } from "./check";
import { loadConfig } from "../../mesh/config/schema";
import { runRollout } from "../core/engine";
import { EXIT_CODES, RolloutResult } from "../core/result";
import { planRollout, RolloutOptions } from "../core/plan";
import { CloudWatchMetrics, SlowRequests, WeightMetric } from "../adapters/cloudwatch";
import { callerLines, CallersHint, readCallers, serviceNameOf } from "../core/callers";
import { EcsServices, LeaseHeld, platformLeases, SsmControl, trafficLayer } from "../adapters/aws";
import { closest } from "../../contract/fields";
import { DeployedState, IntendedState, systemClock } from "../core/ports";
import { outputsOf, PulumiStack } from "../adapters/pulumiStack";
import { stackFileConfig, stackFileConfigs } from "../adapters/stackFiles";
import { APP_MESH_ENDED } from "../../contract/outputs";
import { finalStatus, renderJson, renderMarkdown, ReportContext } from "../core/report";
import { rolloutSection, RolloutSchedule } from "../../contract/schedule";
import { benchmark, benchmarkTable, Gates, SCENARIOS, simulate, summaryLine } from "../simulator/simulate";
import { powerReport, Traffic } from "../core/power";

const USAGE = `usage: rollout <command> [options]
  run --stack NAME [--dry-run] [--yes] [--from-step N] [--to-step N] [--report-dir DIR] [--break-stale-lease]
      [--requests-per-second N --error-rate PERCENT --slow-share PERCENT] (traffic for --dry-run's power; default: the last hour's)
  status --stack NAME
  abort --stack NAME
  guard --stack NAME | --platform NAME
  simulate [${SCENARIOS.map((s) => s.name).join("|")}|all] [--runs N] [--seed N] [--stack NAME] [--compare] [--report-dir DIR]
      [--requests-per-second N --error-rate PERCENT --slow-share PERCENT] (traffic for --stack's power)
  check --stack NAME | --platform NAME
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
    check: {
        does: "Validate a stack file as `pulumi preview` would, with no AWS or Pulumi CLI: every problem at once, a service's platform reference, and values left from the examples (warnings).",
        examples: ["rollout check --stack dev", "rollout check --platform rag"],
    },
};

const suggest = (word: string, known: string[], prefix = "") => {
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
    if (!(command in TAKES)) throw new CliError(`unknown command ${JSON.stringify(command)}${suggest(command, Object.keys(TAKES))}; one of ${Object.keys(TAKES).join(", ")}`);
    if (values.help) return { command: "help", about: command };
    for (const option of Object.keys(values) as (keyof typeof OPTIONS)[]) {
        if (option !== "help" && !TAKES[command].includes(option)) throw new CliError(`--${option} is not an option of ${command}`);
    }
    const traffic = trafficOption(values);
    if (command === "simulate") {
        const names = SCENARIOS.map((s) => s.name);
        const wanted = rest[0] ?? "all";
        if (rest.length > 1 || (wanted !== "all" && !names.includes(wanted))) {
            throw new CliError(`unknown scenario ${JSON.stringify(rest.join(" "))}${suggest(rest.join(" "), [...names, "all"])}; one of ${names.join(", ")}, or all`);
        }
        const count = (flag: "runs" | "seed", fallback: number) => {
            const raw = values[flag];
            if (raw === undefined) return fallback;
            if (!/^[1-9]\d*$/.test(raw)) throw new CliError(`--${flag} takes a whole number from 1, got ${JSON.stringify(raw)}`);
            return Number(raw);
        };
        return {
            command,
            scenarios: wanted === "all" ? names : [wanted],
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

/** Traffic given on the command line, all three together: requests a second, and percents. */
function trafficOption(values: { "requests-per-second"?: string; "error-rate"?: string; "slow-share"?: string }): Traffic | undefined {
    const given = (["requests-per-second", "error-rate", "slow-share"] as const).map((flag) => values[flag]);
    if (given.every((v) => v === undefined)) return undefined;
    if (given.some((v) => v === undefined)) throw new CliError("--requests-per-second, --error-rate and --slow-share go together");
    const [rps, errors, slow] = given.map((v, i) => {
        const n = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v!) || (i > 0 && n > 100) || (i === 0 && n === 0)) {
            throw new CliError(`--${["requests-per-second", "error-rate", "slow-share"][i]} takes ${i === 0 ? "a number above 0" : "a percent from 0 to 100"}, got ${JSON.stringify(v)}`);
        }
        return n;
    });
    return { requestsPerSecond: rps, errorRate: errors / 100, slowShare: slow / 100 };
}

/** The benchmark's traffic: what `simulate --stack` shows the power at unless told otherwise. */
const BENCHMARK_TRAFFIC: Traffic = { requestsPerSecond: 10, errorRate: 0.003, slowShare: 0.05 };

/** Both versions' traffic over the last hour of complete minutes, from CloudWatch. */
async function lastHour(metrics: CloudWatchMetrics): Promise<Traffic | undefined> {
    const end = Math.floor(clock.now() / 60_000) * 60_000 - 5 * 60_000;
    const minutes = await metrics.minutes({ start: end - 60 * 60_000, end });
    const sum = { requests: 0, errors: 0, slow: 0 };
    for (const m of minutes) for (const v of [m.versions.stable, m.versions.canary]) for (const k of ["requests", "errors", "slow"] as const) sum[k] += v?.[k] ?? 0;
    return sum.requests > 0 ? { requestsPerSecond: sum.requests / 3600, errorRate: sum.errors / sum.requests, slowShare: sum.slow / sum.requests } : undefined;
}

/** Step numbers must exist in the schedule; checked once the schedule is known. */
export function checkSteps(args: RolloutOptions, schedule: RolloutSchedule): void {
    for (const [flag, value] of [["--from-step", args.fromStep], ["--to-step", args.toStep]] as const) {
        if (value !== undefined && value > schedule.steps.length) {
            throw new CliError(`${flag} ${value}: the schedule has ${schedule.steps.length} steps (${schedule.steps.join(", ")})`);
        }
    }
}

function writeReports(dir: string, base: string, result: RolloutResult, title: string, context: ReportContext = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${base}.md`), renderMarkdown(result, title, context));
    fs.writeFileSync(path.join(dir, `${base}.json`), renderJson(result, title, context));
    console.log(`report: ${path.join(dir, base)}.md (and .json)`);
}

/** A stack's own schedule, from `Pulumi.<stack>.yaml` in the current directory: try its gates before relying on them. */
export function stackSchedule(stack: string): RolloutSchedule {
    const file = path.join(process.cwd(), `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) throw new CliError(`no ${path.basename(file)} in the current directory`);
    return loadConfig(stackFileConfig(file)).rollout;
}

async function runSimulations(args: Extract<CliArgs, { command: "simulate" }>): Promise<number> {
    const schedule = args.stack ? stackSchedule(args.stack) : undefined;
    if (schedule) console.log(`${powerReport(schedule, args.traffic ?? BENCHMARK_TRAFFIC, args.traffic ? "given" : "the benchmark's").join("\n")}\n`);
    const scenarios = args.scenarios.map((name) => SCENARIOS.find((s) => s.name === name)!);
    if (args.runs > 1) {
        const title = (gates: string) => `${gates}, ${args.runs} seeded rollouts per scenario (seeds ${args.seed}-${args.seed + args.runs - 1}), schedule of ${args.stack ?? "the defaults"}:`;
        const rows = [];
        for (const scenario of scenarios) rows.push(await benchmark(scenario, args.runs, { schedule, seed: args.seed }));
        console.log(benchmarkTable(rows, title("Sequential gates")));
        if (args.compare) {
            const others: [Gates, string][] = [
                ["legacy", "The gates before (fixed thresholds per interval)"],
                ["ideal", "The ideal two-sample test: knows the regression's size, not stable's rate; the same false-rollback and miss rates"],
            ];
            for (const [gates, heading] of others) {
                const compared = [];
                for (const scenario of scenarios) compared.push(await benchmark(scenario, args.runs, { schedule, seed: args.seed, gates }));
                console.log(`\n${benchmarkTable(compared, title(heading))}`);
            }
        }
        return 0;
    }
    let unexpected = 0;
    for (const scenario of scenarios) {
        console.log(`\n== ${scenario.name}: ${scenario.description}`);
        const log = scenarios.length === 1 ? (line: string) => console.log(line) : () => {};
        const sim = await simulate(scenario, { schedule, seed: args.seed, log });
        console.log(summaryLine(sim));
        if (scenario.limit) console.log(`   a known limit: ${scenario.limit}`);
        else if (sim.result.outcome !== scenario.expected) unexpected++;
        if (args.reportDir) writeReports(args.reportDir, `simulation-${scenario.name}`, sim.result, `simulation:${scenario.name}`);
    }
    return unexpected === 0 ? 0 : 1;
}

async function confirm(question: string): Promise<boolean> {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

/** Who runs this rollout, as the lease and notifications name it. */
const owner = () => process.env.ROLLOUT_OWNER ?? `${os.userInfo().username}@${os.hostname()} pid ${process.pid}`;

/** `ROLLOUT_TIME_SCALE` runs time faster from `ROLLOUT_TIME_ORIGIN` (epoch ms): only end-to-end tests set them. */
const clock = systemClock(Number(process.env.ROLLOUT_TIME_SCALE ?? 1), Number(process.env.ROLLOUT_TIME_ORIGIN ?? Date.now()));


/** Posts an event to a Slack-compatible webhook, if one is set; a failed post is logged, never fatal. */
function webhook(stack: string, log: (line: string) => void): ((event: string) => void) | undefined {
    const url = process.env.ROLLOUT_WEBHOOK_URL;
    if (!url) return undefined;
    return (event) => {
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: `rollout of ${stack}: ${event}` }), signal: AbortSignal.timeout(5000) })
            .then((r) => r.ok || log(`webhook answered ${r.status}`))
            .catch((e) => log(`webhook failed: ${(e as Error).message}`));
    };
}

/** The stack of the Pulumi project in the current directory. */
async function withStack(name: string, signal?: AbortSignal) {
    const log = (line: string) => console.log(`[${new Date(clock.now()).toISOString().slice(11, 19)}] ${line}`);
    if (!fs.existsSync(path.join(process.cwd(), "Pulumi.yaml"))) throw new CliError("run it from the project's directory (where Pulumi.yaml is)");
    const stack = await PulumiStack.select(name, process.cwd(), log, signal);
    const region = await stack.region();
    const control = new SsmControl(new SSMClient({ region }), name, owner(), clock, undefined, (await stack.rawConfig()).platform);
    return { stack, region, control, log };
}

async function runRealRollout(args: Extract<CliArgs, { command: "run" }>): Promise<number> {
    const controller = new AbortController();
    let signalName: NodeJS.Signals | undefined;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.on(sig, () => {
            if (signalName) process.exit(sig === "SIGINT" ? 130 : 143);
            signalName = sig;
            console.log(`${sig}: stopping within seconds, leaving the weight as it is (again to quit now)`);
            controller.abort();
        });
    }
    const { stack, region, control, log } = await withStack(args.stack, controller.signal);
    const raw = await stack.rawConfig();
    if (raw.trafficBackend === "appmesh") {
        console.error(`refused: ${args.stack} is on App Mesh. ${APP_MESH_ENDED}`);
        return EXIT_CODES.refused;
    }
    const schedule = parseOrThrow(rolloutSection, raw.rollout, "rollout.");
    checkSteps(args, schedule);
    const outputs = await stack.outputs();
    const plan = planRollout(schedule, await stack.deployed(), await stack.intended(), args);
    /** The last line: the outcome and what is deployed, the same for every way a run ends. */
    const last = (outcome: string, weight = outputs.canaryWeight) => console.log(`${outcome}: canaryWeight ${weight} deployed on ${args.stack}`);
    console.log(`stack ${args.stack}: canaryWeight ${outputs.canaryWeight} deployed; plan: ${plan.kind === "run" ? plan.summary : plan.reason}`);
    if (plan.kind !== "run") {
        last(plan.kind === "refuse" ? "refused" : "nothing-to-do");
        return plan.kind === "refuse" ? EXIT_CODES.refused : 0;
    }
    const slow: SlowRequests = { thresholdMs: schedule.slowRequestSeconds * 1000, metric: schedule.latencyMetric === "firstByte" ? "firstByteMs" : "latencyMs" };
    const metrics = new CloudWatchMetrics(
        new CloudWatchClient({ region }),
        outputs.versionMetrics,
        [outputs.canaryErrorRateAlarmName, outputs.canaryLatencyAlarmName, ...(outputs.canaryServerAlarmNames ?? [])],
        slow,
    );
    if (args.dryRun) {
        try {
            const traffic = args.traffic ?? (await lastHour(metrics));
            if (traffic) console.log(powerReport(schedule, traffic, args.traffic ? "given" : "the last hour").join("\n"));
            else console.log("power: no traffic in the last hour; pass --requests-per-second, --error-rate and --slow-share to see what this schedule can tell");
        } catch (e) {
            console.log(`power: the last hour's traffic is unreadable (${describeError(e as Error)}); pass --requests-per-second, --error-rate and --slow-share`);
        }
        return 0;
    }
    if (!args.yes) {
        if (!process.stdin.isTTY) throw new CliError("not a terminal: pass --yes to run without a prompt");
        if (!(await confirm("Proceed? [y/N] "))) return 0;
    }

    try {
        await control.acquire(args.breakStaleLease);
    } catch (e) {
        if (!(e instanceof LeaseHeld)) throw e;
        const stale = e.lease.expiresAt < clock.now() ? " (expired: pass --break-stale-lease if that runner is gone)" : "";
        console.error(`${e.message}${stale}; nothing was changed`);
        last("refused");
        return EXIT_CODES.refused;
    }
    const image = (version: "stable" | "canary") => String((JSON.parse(raw[version] ?? "{}") as { image?: string }).image ?? "?");
    const context: ReportContext = { owner: owner(), images: { stable: image("stable"), canary: image("canary") }, dashboardUrl: outputs.dashboardUrl };
    let result: RolloutResult;
    try {
        result = await runRollout(
            {
                schedule,
                stack,
                services: new EcsServices(new ECSClient({ region }), outputs, clock),
                traffic: trafficLayer(outputs, region),
                metrics,
                control,
                clock,
                log,
                notify: webhook(args.stack, log),
                ...(outputs.weightMetric ? { weights: new WeightMetric(new CloudWatchClient({ region }), outputs.weightMetric) } : {}),
                signal: controller.signal,
            },
            args,
        );
        // What `status` shows from now on: the outcome, not the last step's progress (a runner that lost its lease publishes nothing).
        await control.heartbeat(finalStatus(result, context)).catch(() => undefined);
    } finally {
        await control.release();
    }
    const callers = await callersHint(args.stack, raw, result, region, slow, log);
    if (callers) context.callers = callers;
    writeReports(args.reportDir, `${args.stack}-${new Date(result.startedAt).toISOString().replace(/[:.]/g, "-")}`, result, args.stack, context);
    last(result.outcome, result.finalWeight);
    return result.outcome === "interrupted" && signalName === "SIGTERM" ? 143 : result.exitCode;
}

/** On a platform, its callers' 5xx over the rollout, for the report and the console: reading them never changes the outcome. */
async function callersHint(stack: string, raw: Record<string, string>, result: RolloutResult, region: string | undefined, slow: SlowRequests, log: (line: string) => void): Promise<CallersHint | undefined> {
    if (!raw.platform) return undefined;
    const workDir = process.cwd();
    const cloudwatch = new CloudWatchClient({ region });
    try {
        const hint = await readCallers({ platform: raw.platform, service: serviceNameOf(raw), stack }, result, {
            stackConfigs: () => stackFileConfigs(workDir),
            metricsOf: async (caller) => new CloudWatchMetrics(cloudwatch, (await outputsOf(workDir, caller)).versionMetrics, [], slow),
        });
        for (const line of callerLines(hint)) log(line);
        return hint;
    } catch (e) {
        log(`callers: not read (${describeError(e as Error)}); the report leaves them out`);
        return undefined;
    }
}

async function status(name: string): Promise<number> {
    const { stack, control } = await withStack(name);
    const outputs = await stack.outputs();
    // What the stack says is printed before SSM is asked: an unreachable AWS leaves it on screen.
    console.log(`stack ${name}: canaryWeight ${outputs.canaryWeight} deployed (${outputs.trafficBackend})`);
    console.log(`  stable ${outputs.versions.stable.fingerprint}, canary ${outputs.versions.canary.fingerprint}${outputs.versions.stable.fingerprint === outputs.versions.canary.fingerprint ? " (the same)" : ""}`);
    if (outputs.dashboardUrl) console.log(`  dashboard: ${outputs.dashboardUrl}`);
    const lease = await control.lease();
    const last = await control.status();
    console.log(lease ? `  lease: held by ${lease.owner} until ${new Date(lease.expiresAt).toISOString()}` : "  lease: free (no rollout running)");
    if (last) console.log(`  last status, ${new Date(last.at).toISOString()} by ${last.owner}:\n    ${last.status.split("\n").join("\n    ")}`);
    return 0;
}

async function abort(name: string): Promise<number> {
    const { control } = await withStack(name);
    const lease = await control.lease();
    if (!lease) {
        console.log(`no rollout holds ${name}; nothing to abort`);
        return 0;
    }
    await control.requestAbort(owner());
    console.log(`abort requested: the rollout held by ${lease.owner} rolls back at its next sample`);
    return 0;
}

/**
 * For a deploy job: refuses while a rollout holds the stack, and refuses a config that
 * would move the deployed weight or stable, or change the canary while it serves traffic
 * (a stale branch would undo a rollout). A new canary at weight 0 passes.
 */
/**
 * What a deploy of this config would move away from what a rollout left deployed: the
 * weight, stable's definition, the canary's definition while it serves traffic, and the
 * minimum task count the rollout raised for a version while that version serves traffic.
 */
export function undeployedMoves(deployed: DeployedState, intended: IntendedState): string[] {
    const moves: string[] = [];
    if (intended.canaryWeight !== deployed.canaryWeight) moves.push(`canaryWeight ${deployed.canaryWeight} -> ${intended.canaryWeight}`);
    if (intended.fingerprints.stable !== deployed.versions.stable.fingerprint) moves.push("stable's definition");
    if (deployed.canaryWeight > 0 && intended.fingerprints.canary !== deployed.versions.canary.fingerprint) moves.push(`the canary's definition while it serves ${deployed.canaryWeight}%`);
    const share = { stable: 100 - deployed.canaryWeight, canary: deployed.canaryWeight };
    for (const version of ["stable", "canary"] as const) {
        const raised = deployed.scaling?.[version].minCount ?? 0;
        const intendedMin = intended.minCounts?.[version];
        if (share[version] > 0 && intendedMin !== undefined && intendedMin < raised) {
            moves.push(`the ${version}'s minimum task count ${raised} -> ${intendedMin} while it serves ${share[version]}%`);
        }
    }
    return moves;
}

/** Validates a stack file (and the platform file a service names) as the program would; exit 1 on any problem. */
function check(args: Extract<CliArgs, { command: "check" }>): number {
    const projectDir = serviceProjectDir(process.cwd());
    if (!projectDir) throw new CliError("run it from the project's directory (where Pulumi.yaml is), or its platform/");
    const results = args.stack !== undefined ? checkServiceStack(projectDir, args.stack) : [checkPlatformStack(projectDir, args.platform)];
    for (const { file, problems, warnings } of results) {
        if (problems.length > 0) console.log(`${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}; the program would deploy nothing from it:\n${problemLines(problems)}`);
        else console.log(`${file}: valid${warnings.length > 0 ? "" : ", as the program will read it"}`);
        if (warnings.length > 0) console.log(`  values left from the examples (warnings; replace them before deploying):\n${warnings.map((w) => `    - ${w}`).join("\n")}`);
    }
    return results.some((r) => r.problems.length > 0) ? 1 : 0;
}

/** A platform's deploy waits for every rollout on it: none of its services may see its network change mid-judgement. */
async function guardPlatform(name: string): Promise<number> {
    const log = (line: string) => console.log(line);
    const stack = await PulumiStack.select(name, process.cwd(), log);
    const held = await platformLeases(new SSMClient({ region: await stack.region() }), name, clock.now());
    if (held.length > 0) {
        console.error(`refused: rollouts are running on platform ${name}: ${held.map((l) => `${l.stack} (held by ${l.owner})`).join(", ")}`);
        return EXIT_CODES.refused;
    }
    console.log(`guard: no rollout is running on platform ${name}; it may be deployed`);
    return 0;
}

async function guard(name: string): Promise<number> {
    const { stack, control } = await withStack(name);
    const lease = await control.lease();
    if (lease) {
        console.error(`refused: a rollout held by ${lease.owner} is running on ${name}`);
        return EXIT_CODES.refused;
    }
    const moves = undeployedMoves(await stack.deployed(), await stack.intended());
    if (moves.length > 0) {
        const last = await control.status();
        const by = last ? ` (last rollout: ${last.owner}, ${new Date(last.at).toISOString()})` : "";
        console.error(`refused: this config would change ${moves.join(" and ")} away from what is deployed${by}; commit the stack file the rollout left, or run a rollout`);
        return EXIT_CODES.refused;
    }
    console.log(`guard: ${name} may be deployed from this config`);
    return 0;
}

export async function main(argv: string[]): Promise<number> {
    try {
        const args = parseArgs(argv);
        switch (args.command) {
            case "help":
                console.log(args.about ? commandHelp(args.about) : USAGE);
                return 0;
            case "simulate":
                return await runSimulations(args);
            case "run":
                return await runRealRollout(args);
            case "status":
                return await status(args.stack);
            case "abort":
                return await abort(args.stack);
            case "guard":
                return await guard(args.stack);
            case "guard-platform":
                return await guardPlatform(args.platform);
            case "check":
                return check(args);
        }
    } catch (e) {
        console.error(e instanceof CliError ? `error: ${e.message}\n${USAGE}` : `error: ${describeError(e as Error)}`);
        return 2;
    }
}

/** One command's help: what it does, its options, examples. */
function commandHelp(command: string): string {
    const { does, examples } = COMMAND_HELP[command];
    const usage = USAGE.split("\n").filter((line, i, lines) => line.startsWith(`  ${command} `) || (lines[i - 1]?.startsWith(`  ${command} `) && line.startsWith("      ")));
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

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
