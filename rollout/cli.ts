/**
 * `npm run rollout -- --stack <name>`: a progressive rollout of the stack's canary.
 * `npm run rollout -- --simulate <scenario|all>`: the same engine on synthetic data.
 */
import * as fs from "fs";
import * as path from "path";
import * as readline from "readline";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { parseOrThrow } from "../mesh/config/errors";
import { parseStackOutputs, PROJECT } from "../mesh/contract";
import { EXIT_CODES, planRollout, RolloutOptions, runRollout } from "./engine";
import { CloudWatchMetrics } from "./cloudwatch";
import { systemClock } from "./ports";
import { PulumiStack } from "./pulumiStack";
import { renderJson, renderMarkdown } from "./report";
import { rolloutSection, RolloutSchedule } from "./schedule";
import { SCENARIOS, simulate, summaryLine } from "./simulate";

const USAGE = `usage:
  npm run rollout -- --stack <name> [--dry-run] [--yes] [--from-step N] [--to-step N]
                     [--rollback-on-interrupt] [--report-dir DIR]
  npm run rollout -- --simulate <${SCENARIOS.map((s) => s.name).join("|")}|all> [--report-dir DIR]`;

export type CliArgs =
    | ({ mode: "rollout"; stack: string; dryRun: boolean; yes: boolean; reportDir: string } & RolloutOptions)
    | { mode: "simulate"; scenarios: string[]; reportDir?: string }
    | { mode: "help" };

export class CliError extends Error {}

/** Parses the command line; throws `CliError` with what is wrong, before anything runs. */
export function parseArgs(argv: string[]): CliArgs {
    const flags = new Map<string, string | true>();
    const withValue = new Set(["--stack", "--simulate", "--from-step", "--to-step", "--report-dir"]);
    const bare = new Set(["--dry-run", "--yes", "--rollback-on-interrupt", "--help"]);
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (withValue.has(arg)) {
            const value = argv[++i];
            if (value === undefined || value.startsWith("--")) throw new CliError(`${arg} needs a value`);
            flags.set(arg, value);
        } else if (bare.has(arg)) {
            flags.set(arg, true);
        } else {
            throw new CliError(`unknown argument ${JSON.stringify(arg)}`);
        }
    }
    if (flags.has("--help")) return { mode: "help" };

    const simulateArg = flags.get("--simulate") as string | undefined;
    const stack = flags.get("--stack") as string | undefined;
    if (simulateArg !== undefined && stack !== undefined) throw new CliError("--simulate runs without a stack; drop --stack");
    if (simulateArg !== undefined) {
        for (const only of ["--dry-run", "--yes", "--from-step", "--to-step", "--rollback-on-interrupt"]) {
            if (flags.has(only)) throw new CliError(`${only} is for a real rollout, not --simulate`);
        }
        const names = SCENARIOS.map((s) => s.name);
        if (simulateArg !== "all" && !names.includes(simulateArg)) {
            throw new CliError(`unknown scenario ${JSON.stringify(simulateArg)}; one of ${names.join(", ")}, or all`);
        }
        return { mode: "simulate", scenarios: simulateArg === "all" ? names : [simulateArg], reportDir: flags.get("--report-dir") as string | undefined };
    }
    if (stack === undefined) throw new CliError("--stack <name> is required (or --simulate <scenario>)");

    const step = (flag: string) => {
        const raw = flags.get(flag) as string | undefined;
        if (raw === undefined) return undefined;
        if (!/^[1-9]\d*$/.test(raw)) throw new CliError(`${flag} takes a step number from 1, got ${JSON.stringify(raw)}`);
        return Number(raw);
    };
    const fromStep = step("--from-step");
    const toStep = step("--to-step");
    if (fromStep !== undefined && toStep !== undefined && fromStep > toStep) {
        throw new CliError(`--from-step ${fromStep} comes after --to-step ${toStep}`);
    }
    return {
        mode: "rollout",
        stack,
        dryRun: flags.has("--dry-run"),
        yes: flags.has("--yes"),
        fromStep,
        toStep,
        rollbackOnInterrupt: flags.has("--rollback-on-interrupt"),
        reportDir: (flags.get("--report-dir") as string | undefined) ?? "rollout-reports",
    };
}

/** Step numbers must exist in the schedule; checked once the schedule is known. */
export function checkSteps(args: RolloutOptions, schedule: RolloutSchedule): void {
    for (const [flag, value] of [["--from-step", args.fromStep], ["--to-step", args.toStep]] as const) {
        if (value !== undefined && value > schedule.steps.length) {
            throw new CliError(`${flag} ${value}: the schedule has ${schedule.steps.length} steps (${schedule.steps.join(", ")})`);
        }
    }
}

function writeReports(dir: string, base: string, markdown: string, json: string): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${base}.md`), markdown);
    fs.writeFileSync(path.join(dir, `${base}.json`), json);
    console.log(`report: ${path.join(dir, base)}.md (and .json)`);
}

async function runSimulations(args: Extract<CliArgs, { mode: "simulate" }>): Promise<number> {
    let unexpected = 0;
    for (const name of args.scenarios) {
        const scenario = SCENARIOS.find((s) => s.name === name)!;
        console.log(`\n== ${scenario.name}: ${scenario.description}`);
        const sim = await simulate(scenario, undefined, args.scenarios.length === 1 ? (line) => console.log(line) : () => {});
        console.log(summaryLine(sim));
        if (sim.result.outcome !== scenario.expected) unexpected++;
        if (args.reportDir) {
            writeReports(args.reportDir, `simulation-${name}`, renderMarkdown(sim.result, `simulation:${name}`), renderJson(sim.result, `simulation:${name}`));
        }
    }
    return unexpected === 0 ? 0 : 1;
}

async function confirm(question: string): Promise<boolean> {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

async function runRealRollout(args: Extract<CliArgs, { mode: "rollout" }>): Promise<number> {
    const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
    const workDir = path.join(__dirname, "..");
    const stack = await PulumiStack.select(args.stack, workDir, systemClock, log);
    const rawConfig = await stack.rawConfig();
    const schedule = parseOrThrow(rolloutSection, rawConfig[`${PROJECT}:rollout`], "rollout.");
    checkSteps(args, schedule);

    const outputs = parseStackOutputs(await stack.outputs(), args.stack);
    const metrics = outputs.versionMetrics;
    const alarms = [outputs.canaryErrorRateAlarmName, outputs.canaryLatencyAlarmName];

    const state = await stack.read();
    const plan = planRollout(schedule, state, args);
    console.log(`stack ${args.stack}: canaryWeight ${state.canaryWeight}, stable ${state.versions.stable.image}, canary ${state.versions.canary.image}`);
    console.log(
        plan.nothingToDo
            ? "plan: nothing to roll out"
            : plan.finishPromotion
              ? "plan: finish the promotion (wait for stable, then canaryWeight 0)"
              : `plan: steps ${plan.steps.map((s) => `${s.weight}%`).join(" -> ")}, ${schedule.bakeSeconds} s bake each` +
                (plan.promote ? ", then promote" : ", then stop"),
    );
    if (args.dryRun) return 0;
    if (!args.yes) {
        if (!process.stdin.isTTY) throw new CliError("not a terminal: pass --yes to run without a prompt");
        if (!(await confirm("Proceed? [y/N] "))) return 0;
    }

    const controller = new AbortController();
    process.on("SIGINT", () => {
        if (controller.signal.aborted) process.exit(EXIT_CODES.interrupted);
        log(args.rollbackOnInterrupt ? "interrupt: rolling back after the current update" : "interrupt: stopping after the current update (Ctrl-C again to quit now)");
        controller.abort();
    });
    const cloudwatch = new CloudWatchMetrics(new CloudWatchClient({ region: rawConfig["aws:region"] }), metrics, alarms);
    const result = await runRollout({ schedule, stack, metrics: cloudwatch, clock: systemClock, log, signal: controller.signal }, args);
    const base = `${args.stack}-${new Date(result.startedAt).toISOString().replace(/[:.]/g, "-")}`;
    writeReports(args.reportDir, base, renderMarkdown(result, args.stack), renderJson(result, args.stack));
    return result.exitCode;
}

export async function main(argv: string[]): Promise<number> {
    try {
        const args = parseArgs(argv);
        if (args.mode === "help") {
            console.log(USAGE);
            return 0;
        }
        return args.mode === "simulate" ? await runSimulations(args) : await runRealRollout(args);
    } catch (e) {
        console.error(e instanceof CliError ? `error: ${e.message}\n${USAGE}` : `error: ${(e as Error).message}`);
        return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
