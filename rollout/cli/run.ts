/** `rollout run`: a progressive rollout of the stack's canary, or with `--dry-run` its plan and power. */
import { checkSteps, CliArgs, CliError, describeError } from "./args";
import { clock, owner, withStack } from "./session";
import { writeReports } from "./reportFiles";
import * as readline from "readline";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ECSClient } from "@aws-sdk/client-ecs";
import { parseOrThrow } from "../../mesh/config/errors";
import { runRollout } from "../core/engine";
import { EXIT_CODES, RolloutResult } from "../core/result";
import { planRollout } from "../core/plan";
import { CloudWatchMetrics, SlowRequests, stablePercentile, WeightMetric } from "../adapters/cloudwatch";
import { withSlowThreshold } from "../core/threshold";
import { callerLines, CallersHint, readCallers, serviceNameOf } from "../core/callers";
import { EcsServices } from "../adapters/ecs";
import { LeaseHeld } from "../adapters/ssm";
import { trafficLayer } from "../adapters/weights";
import { outputsOf } from "../adapters/pulumiStack";
import { stackFileConfigs } from "../adapters/stackFiles";
import { APP_MESH_ENDED } from "../../contract/outputs";
import { finalStatus, ReportContext } from "../core/report";
import { rolloutSection, RolloutSchedule } from "../../contract/schedule";
import { StackOutputs } from "../../contract/outputs";
import { fromJsonText } from "../../contract/fields";
import { gatesOf } from "../../contract/gates";
import { powerReport, Traffic, trafficOf } from "../core/power";
import { preflight } from "../core/preflight";
import { goldenShare, Judge } from "../core/judge";
import { S3Client } from "@aws-sdk/client-s3";
import { LambdaRunner, readGoldenSet, runnerClient } from "../adapters/golden";
import { GoldenComparison, goldenPowerLines } from "../core/golden";
import { PairedStream, runnerCounting, streamLine, streamProblems, streamSettings } from "../core/stream";
import { parseGoldenSet, Scorer } from "../../contract/golden";
import { BedrockRuntimeClient } from "@aws-sdk/client-bedrock-runtime";
import { BedrockJudge } from "../adapters/bedrock";
import type { RolloutDeps } from "../core/deps";

/** Both versions' traffic over the last hour of complete minutes, from CloudWatch. */
async function lastHour(metrics: CloudWatchMetrics): Promise<Traffic | undefined> {
    const end = Math.floor(clock.now() / 60_000) * 60_000 - 5 * 60_000;
    return trafficOf(await metrics.minutes({ start: end - 60 * 60_000, end }));
}

async function confirm(question: string): Promise<boolean> {
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    rl.close();
    return /^y(es)?$/i.test(answer.trim());
}

/** Posts an event to a Slack-compatible webhook, if one is set; a failed post is logged, never fatal. */
function webhook(stack: string, log: (line: string) => void): ((event: string) => void) | undefined {
    const url = process.env.ROLLOUT_WEBHOOK_URL;
    if (!url) return undefined;
    return (event) => {
        fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ text: `rollout of ${stack}: ${event}` }),
            signal: AbortSignal.timeout(5000),
        })
            .then((r) => r.ok || log(`webhook answered ${r.status}`))
            .catch((e) => log(`webhook failed: ${(e as Error).message}`));
    };
}

type RunArgs = Extract<CliArgs, { command: "run" }>;
type Session = Awaited<ReturnType<typeof withStack>>;

/**
 * `rollout run`, in named steps: read the stack and plan (refusing App Mesh and a plan that
 * cannot run), print the dry run's power and stop there, or confirm, take the stack's lease,
 * run the engine, and write the reports. The last line is the same for every way it ends.
 */
export async function runRealRollout(args: RunArgs): Promise<number> {
    const controller = new AbortController();
    const stopSignal = stopOnSignals(controller);
    const session = await withStack(args.stack, controller.signal);
    const read = await readForRun(session, args);
    if (read.kind === "stop") return read.exitCode;
    const { raw, schedule, outputs } = read;
    const last = (outcome: string, weight = outputs.canaryWeight) => console.log(`${outcome}: canaryWeight ${weight} deployed on ${args.stack}`);
    const cloudwatch = new CloudWatchClient({ region: session.region });
    const latencyMetric = schedule.latencyMetric === "firstByte" ? "firstByteMs" : "latencyMs";
    const latency = outputs.versionMetrics.stable[latencyMetric];
    // Before anything moves: where slow requests start (as pinned, or stable's recent 95th percentile), each dispersion the schedule leaves unset, and with a budget the promises it can keep.
    const threshold = await withSlowThreshold(schedule, latency ? stablePercentile(cloudwatch, latency) : async () => undefined, clock.now());
    const slow: SlowRequests = { thresholdMs: threshold.schedule.slowRequestSeconds * 1000, metric: latencyMetric };
    const alarms = [outputs.canaryErrorRateAlarmName, outputs.canaryLatencyAlarmName, ...(outputs.canaryServerAlarmNames ?? [])];
    const metrics = new CloudWatchMetrics(cloudwatch, outputs.versionMetrics, alarms, slow, gatesOf(schedule.gates));
    const golden = await goldenSet(outputs, session.region, threshold.schedule);
    const pairedAnswers = golden.stream?.settings.answers;
    const before = await preflight(threshold.schedule, metrics, clock.now(), {
        goldenSet: golden.deps !== undefined,
        ...(pairedAnswers ? { pairedAnswers } : {}),
    });
    const said = [threshold.line, ...before.lines, ...golden.lines];
    const refusal = golden.refusal ?? before.refusal;
    for (const line of [...said, ...(refusal ? [refusal] : [])]) console.log(line);
    if (args.dryRun) {
        if (golden.deps) for (const line of golden.power()) console.log(line);
        return printPower(before.schedule, metrics, args, before);
    }
    if (refusal) {
        last("refused");
        return EXIT_CODES.refused;
    }
    if (!(await confirmed(args))) return 0;
    if (!(await leaseTaken(session.control, args))) {
        last("refused");
        return EXIT_CODES.refused;
    }
    const context: ReportContext = { owner: owner(), images: imagesOf(raw), dashboardUrl: outputs.dashboardUrl, preflight: said, promises: before.promises };
    const result = await runUnderLease(
        session,
        args,
        { schedule: before.schedule, outputs, metrics, controller, judge: before.judge, golden: golden.deps, stream: golden.stream },
        context,
    );
    if (golden.deps) context.goldenLost = golden.deps.comparison.lost;
    const callers = await callersHint(args.stack, raw, result, session.region, slow, session.log);
    if (callers) context.callers = callers;
    writeReports(args.reportDir, `${args.stack}-${new Date(result.startedAt).toISOString().replace(/[:.]/g, "-")}`, result, args.stack, context);
    last(result.outcome, result.finalWeight);
    return result.outcome === "interrupted" && stopSignal() === "SIGTERM" ? 143 : result.exitCode;
}

/** The first SIGINT or SIGTERM stops the rollout within seconds, leaving the weight as it is; a second quits at once. Returns which signal came. */
function stopOnSignals(controller: AbortController): () => NodeJS.Signals | undefined {
    let signalName: NodeJS.Signals | undefined;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.on(sig, () => {
            if (signalName) process.exit(sig === "SIGINT" ? 130 : 143);
            signalName = sig;
            console.log(`${sig}: stopping within seconds, leaving the weight as it is (again to quit now)`);
            controller.abort();
        });
    }
    return () => signalName;
}

/** The stack's config (read once), schedule, outputs and plan, printed; or the exit code when there is nothing to run. */
async function readForRun(session: Session, args: RunArgs) {
    const raw = await session.stack.rawConfig();
    if (raw.trafficBackend === "appmesh") {
        console.error(`refused: ${args.stack} is on App Mesh. ${APP_MESH_ENDED}`);
        return { kind: "stop" as const, exitCode: EXIT_CODES.refused };
    }
    const schedule = parseOrThrow(rolloutSection, raw.rollout, "rollout.");
    checkSteps(args, schedule);
    const outputs = await session.stack.outputs();
    // Shown before the prompt and the lease; the engine plans again under the lease (see runRollout).
    const plan = planRollout(schedule, await session.stack.deployed(), await session.stack.intended(), args);
    console.log(`stack ${args.stack}: canaryWeight ${outputs.canaryWeight} deployed; plan: ${plan.kind === "run" ? plan.summary : plan.reason}`);
    if (plan.kind !== "run") {
        console.log(`${plan.kind === "refuse" ? "refused" : "nothing-to-do"}: canaryWeight ${outputs.canaryWeight} deployed on ${args.stack}`);
        return { kind: "stop" as const, exitCode: plan.kind === "refuse" ? EXIT_CODES.refused : 0 };
    }
    return { kind: "run" as const, raw, schedule, outputs };
}

/** `--dry-run`: what this schedule can tell at the given traffic, or the traffic a budget was planned at (stable's 3 hours), or the last hour's. */
async function printPower(
    schedule: RolloutSchedule,
    metrics: CloudWatchMetrics,
    args: RunArgs,
    planned: { traffic?: Traffic; lastStep?: Record<string, number> },
): Promise<number> {
    try {
        const traffic = args.traffic ?? planned.traffic ?? (await lastHour(metrics));
        const source = args.traffic ? "given" : planned.traffic ? "stable's last 3 hours, as the budget was planned" : "the last hour";
        if (traffic) console.log(powerReport(schedule, traffic, source, planned.lastStep).join("\n"));
        else console.log("power: no traffic in the last hour; pass --requests-per-second, --error-rate and --slow-share to see what this schedule can tell");
    } catch (e) {
        console.log(`power: the last hour's traffic is unreadable (${describeError(e as Error)}); pass --requests-per-second, --error-rate and --slow-share`);
    }
    return 0;
}

async function confirmed(args: RunArgs): Promise<boolean> {
    if (args.yes) return true;
    if (!process.stdin.isTTY) throw new CliError("not a terminal: pass --yes to run without a prompt");
    return confirm("Proceed? [y/N] ");
}

/** One rollout per stack: false, with why, when another runner holds the lease. */
async function leaseTaken(control: Session["control"], args: RunArgs): Promise<boolean> {
    try {
        await control.acquire(args.breakStaleLease);
        return true;
    } catch (e) {
        if (!(e instanceof LeaseHeld)) throw e;
        const stale = e.lease.expiresAt < clock.now() ? " (expired: pass --break-stale-lease if that runner is gone)" : "";
        console.error(`${e.message}${stale}; nothing was changed`);
        return false;
    }
}

const imagesOf = (raw: Record<string, string>) => {
    const image = (version: "stable" | "canary") => String((fromJsonText(raw[version] ?? "{}") as { image?: string }).image ?? "?");
    return { stable: image("stable"), canary: image("canary") };
};

/**
 * The golden set, when the stack declares one: read from S3 and checked before anything moves
 * (a set missing, empty, or with a bad line refuses the rollout, naming each line and field),
 * then compared through the runner at each evaluation moment.
 */
async function goldenSet(
    outputs: StackOutputs,
    region: string | undefined,
    schedule: RolloutSchedule,
): Promise<{ deps?: RolloutDeps["golden"]; stream?: PairedStream; lines: string[]; refusal?: string; power: () => string[] }> {
    const settings = outputs.evaluation?.goldenSet;
    const none = () => [];
    if (!settings) return { lines: [], power: none };
    const read = await readGoldenSet(new S3Client({ region }), settings.object);
    const parsed = "text" in read ? parseGoldenSet(read.text) : { problems: [read.problem] };
    if ("problems" in parsed) {
        const shown = parsed.problems.slice(0, 10);
        const more = parsed.problems.length > shown.length ? `; and ${parsed.problems.length - shown.length} more` : "";
        return { lines: [], refusal: `refused: the golden set ${settings.object} cannot be used: ${shown.join("; ")}${more}`, power: none };
    }
    const alpha = goldenShare(schedule);
    const scorer = settings.scorer as Scorer;
    const judge = scorer.kind === "judge" ? new BedrockJudge(new BedrockRuntimeClient({ region }), scorer.model!, scorer.criteria) : undefined;
    const comparison = new GoldenComparison(parsed.items, settings, { alpha, missRate: schedule.missRate }, judge);
    const runner = new LambdaRunner(runnerClient(region), settings);
    const paired = streamSettings(settings, schedule);
    const unfit = paired ? streamProblems(parsed.items, paired.gates) : [];
    if (unfit.length) {
        const more = unfit.length > 10 ? `; and ${unfit.length - 10} more` : "";
        return {
            lines: [],
            refusal: `refused: the golden set ${settings.object} cannot serve the paired stream: ${unfit.slice(0, 10).join("; ")}${more}`,
            power: none,
        };
    }
    return {
        power: () => goldenPowerLines(parsed.items.length, settings, { alpha, missRate: schedule.missRate }),
        deps: { comparison, runner, counting: runnerCounting(schedule, settings.firstTokenBoundSeconds) },
        ...(paired ? { stream: new PairedStream(new LambdaRunner(runnerClient(region, 1), settings), parsed.items, paired, console.log) } : {}),
        lines: [
            ...(paired ? [streamLine(paired)] : []),
            `golden set: ${parsed.items.length} items from ${settings.object}, scored by "${String(settings.scorer.kind)}"; the canary is rolled back if shown to lose more than ${settings.toleratedLossPercent} points of pass rate ` +
                `(at most ${(100 * alpha).toFixed(2)}% of the time when it does not), and shown not worse once within ${settings.detectLossPercent} points (docs/evaluation.md)`,
        ],
    };
}

/** The engine over the real adapters; the lease is released however it ends, after the outcome is published for `status`. */
async function runUnderLease(
    { stack, region, control, log }: Session,
    args: RunArgs,
    {
        schedule,
        outputs,
        metrics,
        controller,
        judge,
        golden,
        stream,
    }: {
        schedule: RolloutSchedule;
        outputs: StackOutputs;
        metrics: CloudWatchMetrics;
        controller: AbortController;
        judge?: Judge;
        golden?: RolloutDeps["golden"];
        stream?: PairedStream;
    },
    context: ReportContext,
): Promise<RolloutResult> {
    try {
        const result = await runRollout(
            {
                schedule,
                ...(judge ? { judge } : {}),
                ...(golden ? { golden } : {}),
                ...(stream ? { stream } : {}),
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
        return result;
    } finally {
        await control.release();
    }
}

/** On a platform, its callers' 5xx over the rollout, for the report and the console: reading them never changes the outcome. */
async function callersHint(
    stack: string,
    raw: Record<string, string>,
    result: RolloutResult,
    region: string | undefined,
    slow: SlowRequests,
    log: (line: string) => void,
): Promise<CallersHint | undefined> {
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
