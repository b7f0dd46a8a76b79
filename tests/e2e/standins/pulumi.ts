/**
 * A stand-in `pulumi` CLI for end-to-end tests of the rollout: it answers exactly the
 * subcommands the Automation API runs (`version`, `stack select`, `config ...` with
 * Pulumi's own path syntax and value typing (`pulumiConfig.ts`),
 * `preview`, `up`, `stack output`, `stack history`), edits `Pulumi.<stack>.yaml` in the
 * work dir as the real CLI does, and computes what an update deploys by running the real
 * program (`index.ts`) under the test mocks, diffing against what it deployed before.
 * It holds a stack lock during `up` (a second update fails as Pulumi Cloud answers:
 * 409), streams engine events to the Automation API's gRPC event server, cancels on
 * SIGINT between resource operations, and fails where `faults.json` says.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import type * as grpc from "@grpc/grpc-js";
import { clock, DeployedResource, readFaults, readStack, stateDir, StackState, writeStack } from "./world";
import { ConfigCommandError, ConfigDoc, removeConfigValue, setAllConfigJson, setConfigValue } from "./pulumiConfig";

/** The CLI version the pinned SDK expects; above 3.205 the engine events go to a gRPC server. */
const VERSION = "3.276.0";

function out(text: string): void {
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}
function fail(message: string, code = 255): never {
    process.stderr.write(`error: ${message}\n`);
    process.exit(code);
}

/** Splits argv into positionals and `--flag value` / `--flag` options, with everything after `--` positional. */
function parse(argv: string[]) {
    const positional: string[] = [];
    const flags = new Map<string, string | true>();
    const valued = new Set(["--stack", "--exec-kind", "--event-log", "--page-size", "--page", "--color", "--client", "--target"]);
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") {
            positional.push(...argv.slice(i + 1));
            break;
        }
        if (arg.startsWith("--")) {
            const [name, inline] = arg.split(/=(.*)/s);
            if (inline !== undefined) flags.set(name, inline);
            else if (valued.has(name)) flags.set(name, argv[++i]);
            else flags.set(name, true);
        } else positional.push(arg);
    }
    return { positional, flags };
}

const stackFile = (stack: string) => path.join(process.cwd(), `Pulumi.${stack}.yaml`);

function readStackFile(stack: string): { config: Record<string, unknown> } {
    const file = stackFile(stack);
    const doc = fs.existsSync(file) ? (yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined) : undefined;
    return { ...doc, config: doc?.config ?? {} };
}

function writeStackFile(stack: string, doc: { config: Record<string, unknown> }): void {
    fs.writeFileSync(stackFile(stack), yaml.dump(doc, { lineWidth: 200 }));
}

/** Runs one config edit on the stack file as the CLI would, or fails as it would. */
function editConfig(stack: string, edit: (config: ConfigDoc) => ConfigDoc): void {
    const doc = readStackFile(stack);
    try {
        doc.config = edit(doc.config);
    } catch (e) {
        if (e instanceof ConfigCommandError) fail(e.message);
        throw e;
    }
    writeStackFile(stack, doc);
}

/** Config as the program reads it: structured values as JSON text. */
function programConfig(stack: string): Record<string, string> {
    const config = readStackFile(stack).config ?? {};
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]));
}

/** Sends engine events to the Automation API's event server, in order. */
class Events {
    private sequence = 0;
    private call?: grpc.ClientWritableStream<unknown>;
    private done?: Promise<void>;

    constructor(address: string | undefined) {
        if (!address) return;
        // Loaded here, as the program below: only an update or a preview needs them, and they take a second to load.
        const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
        const { EventsClient } = require("@pulumi/pulumi/proto/events_grpc_pb");
        const target = address.replace(/^tcp:\/\//, "");
        const client = new EventsClient(target, grpc.credentials.createInsecure());
        this.done = new Promise((resolve) => {
            this.call = client.streamEvents(() => resolve());
        });
    }

    send(event: Record<string, unknown>): void {
        if (!this.call) return;
        const { EventRequest } = require("@pulumi/pulumi/proto/events_pb");
        const request = new EventRequest();
        request.setEvent(JSON.stringify({ sequence: this.sequence++, timestamp: Math.floor(Date.now() / 1000), ...event }));
        this.call.write(request);
    }

    async close(): Promise<void> {
        if (!this.call) return;
        this.call.end();
        await this.done;
    }
}

/** AWS replaces a task definition on any change; everything else here updates in place. */
const REPLACED_ON_CHANGE = new Set(["aws:ecs/taskDefinition:TaskDefinition"]);

interface Step {
    op: "same" | "create" | "update" | "replace" | "delete";
    resource: DeployedResource;
    /** The top-level inputs that differ, as the engine's `diffs`. */
    diffs?: string[];
}

/**
 * How the program of the project in the work dir runs: the platform's, in `platform/`; a
 * service's `StackReference` to its platform answered, as Pulumi does, with that stack's
 * outputs where this backend has deployed it (else the harness renders the committed one).
 */
function programOptions(stack: string, config: Record<string, string>) {
    const { PLATFORM_PROJECT, PROJECT } = require("../../../contract/outputs") as typeof import("../../../contract/outputs");
    const project = (yaml.load(fs.readFileSync(path.join(process.cwd(), "Pulumi.yaml"), "utf8")) as { name: string }).name;
    if (project === PLATFORM_PROJECT) return { stack, project, program: require("../../../platform/index") as () => unknown };
    const reference = config[`${PROJECT}:platform`];
    const platform = reference ? readStack(reference.split("/").pop()!) : undefined;
    return { stack, ...(platform?.outputs && Object.keys(platform.outputs).length > 0 ? { stackReferences: { [reference]: platform.outputs } } : {}) };
}

/** Runs the program with the stack's config and lists each resource's operation against what is deployed. */
async function plan(stack: string): Promise<{ steps: Step[]; outputs: Record<string, unknown>; resources: DeployedResource[] } | { error: string }> {
    const { runProgram } = require("../../harness/program") as typeof import("../../harness/program");
    const config = programConfig(stack);
    const run = await runProgram(config, programOptions(stack, config));
    if (run.error) return { error: run.error.message };
    const previous = new Map((readStack(stack)?.resources ?? []).map((r) => [r.urn, r]));
    const registered = new Map(run.graph.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const resources: DeployedResource[] = run.graph.registrations.map((reg) => {
        const r = registered.get(`${reg.type}::${reg.name}`);
        return {
            urn: reg.urn,
            parent: reg.parent,
            type: reg.type,
            name: reg.name,
            custom: reg.custom,
            id: r?.id,
            inputs: r?.inputs ?? {},
            state: r?.state ?? {},
        };
    });
    const steps: Step[] = resources.map((resource) => {
        const before = previous.get(resource.urn);
        if (!before) return { op: "create", resource };
        if (JSON.stringify(before.inputs) === JSON.stringify(resource.inputs)) return { op: "same", resource };
        const keys = [...new Set([...Object.keys(before.inputs), ...Object.keys(resource.inputs)])];
        const diffs = keys.filter((k) => JSON.stringify(before.inputs[k]) !== JSON.stringify(resource.inputs[k]));
        // Tags update in place, on a task definition too (TagResource).
        const replaced = REPLACED_ON_CHANGE.has(resource.type) && diffs.some((k) => k !== "tags");
        return { op: replaced ? "replace" : "update", resource, diffs };
    });
    const urns = new Set(resources.map((r) => r.urn));
    for (const old of previous.values()) if (!urns.has(old.urn)) steps.push({ op: "delete", resource: old });
    return { steps, outputs: run.graph.outputs, resources };
}

const metadata = (step: Step) => ({
    op: step.op,
    urn: step.resource.urn,
    type: step.resource.type,
    ...(step.diffs ? { diffs: step.diffs } : {}),
    new: { type: step.resource.type, urn: step.resource.urn, parent: step.resource.parent ?? "", id: "", custom: step.resource.custom },
});

const summary = (steps: Step[]) => {
    const counts: Record<string, number> = {};
    for (const s of steps) counts[s.op] = (counts[s.op] ?? 0) + 1;
    return counts;
};

async function preview(stack: string, events: Events): Promise<void> {
    events.send({ preludeEvent: { config: {} } });
    const result = await plan(stack);
    if ("error" in result) {
        events.send({ diagnosticEvent: { message: result.error, color: "never", severity: "error" } });
        await events.close();
        fail(`the program failed: ${result.error}`);
    }
    for (const step of result.steps) events.send({ resourcePreEvent: { metadata: metadata(step), planning: true } });
    events.send({ summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: summary(result.steps), policyPacks: {} } });
    await events.close();
    out(
        `Previewing update (${stack}):\n${result.steps
            .filter((s) => s.op !== "same")
            .map((s) => `  ${s.op} ${s.resource.urn}`)
            .join("\n")}`,
    );
}

const lockFile = (stack: string) => path.join(stateDir(), `stack-${stack}.lock`);

/** Applies the plan resource by resource: the traffic layer and ECS see each change as it lands. */
async function up(stack: string, events: Events): Promise<void> {
    let lock: number;
    try {
        lock = fs.openSync(lockFile(stack), "wx");
    } catch {
        await events.close();
        fail("[409] Conflict: Another update is currently in progress.");
    }
    let canceled = false;
    process.on("SIGINT", () => {
        canceled = true;
        out("^C received; cancelling the update after the operation in flight");
    });
    const release = () => {
        fs.closeSync(lock);
        fs.rmSync(lockFile(stack), { force: true });
    };
    const now = clock().now;
    const startTime = new Date(now()).toISOString();
    events.send({ preludeEvent: { config: {} } });
    out(`Updating (${stack}):`);
    const result = await plan(stack);
    if ("error" in result) {
        events.send({ diagnosticEvent: { message: `the program failed: ${result.error}`, color: "never", severity: "error" } });
        release();
        await events.close();
        fail(`the program failed: ${result.error}`);
    }
    const faults = readFaults();
    const state: StackState = readStack(stack) ?? { outputs: {}, resources: [], split: [], deployments: {}, history: [] };
    const applied = new Map(state.resources.map((r) => [r.urn, r]));
    let failure: string | undefined;
    for (const step of result.steps) {
        events.send({ resourcePreEvent: { metadata: metadata(step) } });
        if (step.op === "same") continue;
        if (faults.applyDelayMs) await new Promise((resolve) => setTimeout(resolve, faults.applyDelayMs));
        if (canceled) break;
        const fault = faults.failUpdateOf;
        if (fault && step.resource.name === fault.resource && (fault.whenWeight === undefined || result.outputs.canaryWeight === fault.whenWeight)) {
            failure = `${step.op === "update" ? "updating" : "creating"} urn ${step.resource.urn}: ${fault.message}`;
            events.send({ diagnosticEvent: { urn: step.resource.urn, message: failure, color: "never", severity: "error" } });
            events.send({ resOpFailedEvent: { metadata: metadata(step), status: 1, steps: 1 } });
            break;
        }
        if (step.op === "delete") applied.delete(step.resource.urn);
        else applied.set(step.resource.urn, step.resource);
        observe(state, applied, step.resource, now());
        events.send({ resOutputsEvent: { metadata: metadata(step) } });
    }
    state.resources = [...applied.values()];
    const succeeded = !canceled && failure === undefined;
    // As in Pulumi: the stack's outputs change only when the whole update succeeds.
    if (succeeded) state.outputs = result.outputs;
    state.history.push({
        version: state.history.length + 1,
        kind: "update",
        result: succeeded ? "succeeded" : "failed",
        startTime,
        endTime: new Date(now()).toISOString(),
        resourceChanges: summary(result.steps),
    });
    writeStack(stack, state);
    events.send({ summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges: summary(result.steps), policyPacks: {} } });
    if (canceled) events.send({ cancelEvent: {} });
    release();
    await events.close();
    if (canceled) fail("update canceled");
    if (failure) fail(`update failed: ${failure}`);
    out(
        `Resources: ${Object.entries(summary(result.steps))
            .map(([op, n]) => `${n} ${op}`)
            .join(", ")}`,
    );
}

/** What a landed change means in AWS: the split moves, a service starts a new deployment, a service's minimum task count changes. */
function observe(state: StackState, applied: Map<string, DeployedResource>, resource: DeployedResource, at: number): void {
    const inputs = resource.inputs as any;
    if (resource.type === "aws:appmesh/route:Route" && resource.name.endsWith("-weighted")) {
        const route = inputs.spec.httpRoute ?? inputs.spec.http2Route ?? inputs.spec.grpcRoute;
        state.split.push({ at, canaryWeight: route.action.weightedTargets[1].weight });
    }
    if (resource.type === "aws:vpclattice/listener:Listener") {
        state.split.push({ at, canaryWeight: inputs.defaultAction.forwards[0].targetGroups[1].weight });
    }
    const forward = resource.type === "aws:lb/listener:Listener" ? inputs.defaultActions?.[0]?.forward : undefined;
    if (forward) {
        const total = forward.targetGroups.reduce((n: number, g: { weight: number }) => n + g.weight, 0);
        const canaryWeight = Math.round((100 * forward.targetGroups[1].weight) / total);
        state.split.push({ at, canaryWeight, ...(forward.stickiness?.enabled ? { stickySeconds: forward.stickiness.duration } : {}) });
    }
    if (resource.type === "aws:appautoscaling/target:Target") {
        const service = String(inputs.resourceId).split("/").pop()!;
        const list = ((state.capacity ??= {})[service] ??= []);
        if (list.at(-1)?.minCount !== inputs.minCapacity) list.push({ at, minCount: Number(inputs.minCapacity) });
    }
    if (resource.type === "aws:ecs/service:Service") {
        const name = String(resource.state.name);
        const taskDefinition = String(inputs.taskDefinition);
        const list = (state.deployments[name] ??= []);
        if (list.at(-1)?.taskDefinition !== taskDefinition) {
            const td = [...applied.values()].find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.state.arn === taskDefinition);
            const image = td ? String(JSON.parse(String(td.inputs.containerDefinitions))[0].image) : "";
            list.push({ taskDefinition, image, at });
        }
    }
}

async function main(argv: string[]): Promise<void> {
    const { positional, flags } = parse(argv);
    const command = positional.slice(0, 2).join(" ");
    fs.appendFileSync(path.join(stateDir(), "pulumi-calls.log"), `${new Date().toISOString()} ${argv.join(" ")}\n`);
    if (positional[0] === "version") return out(`v${VERSION}`);
    // As the CLI: `stack select NAME` (or `--stack`) remembers the stack for commands that name none.
    const selectedFile = path.join(stateDir(), "selected-stack");
    if (command === "stack select") {
        const name = positional[2] ?? (flags.get("--stack") as string);
        if (!readStack(name)) {
            if (!flags.has("--create")) fail(`no stack named '${name}' found`);
            writeStack(name, { outputs: {}, resources: [], split: [], deployments: {}, history: [] });
        }
        return fs.writeFileSync(selectedFile, name);
    }
    const stack = (flags.get("--stack") as string | undefined) ?? (fs.existsSync(selectedFile) ? fs.readFileSync(selectedFile, "utf8") : "");
    if (!stack) fail("no stack selected; run `pulumi stack select` or pass --stack");
    // As the CLI: reading a stack's config or outputs needs the stack to exist in the backend, not just its file.
    const readsStack = (positional[0] === "config" && positional.length === 1) || command === "stack output";
    if (readsStack && !readStack(stack)) fail(`no stack named '${stack}' found`);
    if (positional[0] === "config" && positional.length === 1) {
        const config = readStackFile(stack).config ?? {};
        const json = Object.fromEntries(
            Object.entries(config).map(([k, v]) => [
                k,
                typeof v === "object" ? { value: JSON.stringify(v), secret: false, objectValue: v } : { value: String(v), secret: false },
            ]),
        );
        return out(JSON.stringify(json));
    }
    const project = (yaml.load(fs.readFileSync(path.join(process.cwd(), "Pulumi.yaml"), "utf8")) as { name: string }).name;
    if (command === "config set") return editConfig(stack, (c) => setConfigValue(c, positional[2], positional[3], flags.has("--path"), project));
    if (command === "config rm") return editConfig(stack, (c) => removeConfigValue(c, positional[2], flags.has("--path"), project));
    if (command === "config set-all" && flags.has("--json")) {
        // `--json` takes the next argument here; the CLI refuses it with `--path`.
        if (flags.has("--path")) fail("--path cannot be used with --json");
        return editConfig(stack, (c) => setAllConfigJson(c, argv[argv.indexOf("--json") + 1]));
    }
    if (command === "stack output") return out(JSON.stringify(readStack(stack)?.outputs ?? {}));
    if (command === "stack history") return out(JSON.stringify([...(readStack(stack)?.history ?? [])].reverse().slice(0, 1)));
    const events = new Events(flags.get("--event-log") as string | undefined);
    if (positional[0] === "preview") return preview(stack, events);
    if (positional[0] === "up") return up(stack, events);
    fail(`the stand-in pulumi does not answer \`pulumi ${argv.join(" ")}\``, 1);
}

main(process.argv.slice(2)).catch((e) => fail(String((e as Error).stack ?? e)));
