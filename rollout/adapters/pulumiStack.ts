/**
 * The stack port on a real stack, through the Pulumi Automation API over the program
 * on disk, so a rollout deploys exactly what CI deploys. Every update is guarded: a
 * preview first lists what would change, and the update runs only when nothing but
 * what it is for would (the split for a weight step, the canary's scalable target for a
 * capacity step, one version's service and GPU capacity for a version update);
 * otherwise it refuses, naming the rest.
 */
import { RAISED_MIN_KEY } from "../../mesh/config/shared";
import { ConcurrentUpdateError, EngineEvent, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { loadConfig, minCount } from "../../mesh/config/schema";
import { Version } from "../../contract/versions";
import { projectKeys } from "../../mesh/config/stackConfig";
import { parseStackOutputs, PROJECT, StackOutputs } from "../../contract/outputs";
import { definitionOf, fingerprint, promotedStable } from "../../contract/identity";
import { ConcurrentUpdate, DeployedState, IntendedState, StackPort, UpdateFailed, UpdateRefused } from "../core/ports";

/**
 * One config key set to a whole structured value, as `pulumi config set-all --json` takes it
 * (the shape `pulumi config --json` prints). Unlike `config set --path` leaf by leaf, it
 * round-trips every field's type (`--path` turns "8000" into a number and reads `.0` as a
 * map key, not an index) and replaces the key in one write, so no stale field survives and
 * no crash leaves the value half-written.
 */
export function wholeValueJson(key: string, value: object): string {
    return JSON.stringify({ [key]: { value: JSON.stringify(value), objectValue: value, secret: false } });
}

/** The parts of an Automation API stack this adapter uses. */
export type AutomationStack = Pick<Stack, "name" | "getAllConfig" | "setConfig" | "setAllConfigJson" | "removeConfig" | "preview" | "up" | "outputs">;

/** What an update may change, given each resource's URN and its parents' (from the preview's events). */
type Allowed = (urn: string, ancestors: string[]) => boolean;

/** A missing CLI or login surfaces as a spawn or backend error; say what to install or set instead. */
export function explainStartupError(e: unknown, stack?: string): Error {
    const text = String((e as Error)?.message ?? e);
    if (/ENOENT/.test(text) && /pulumi/.test(text)) {
        return new Error("the Pulumi CLI is not on PATH: install it (curl -fsSL https://get.pulumi.com | sh) and try again");
    }
    if (/PULUMI_ACCESS_TOKEN|pulumi login|not logged in|no credentials/i.test(text)) {
        return new Error("the Pulumi CLI is not logged in: run `pulumi login` (or set PULUMI_ACCESS_TOKEN) and try again");
    }
    if (/no stack named|stack .* not found/i.test(text)) {
        // The Automation API wraps the CLI's words in its own ("code: -2 ..."): keep the line that says what is missing.
        const said =
            text
                .split("\n")
                .find((line) => /no stack named|stack .* not found/i.test(line))
                ?.replace(/^\s*(stderr:\s*)?(error:\s*)?/, "") ?? text;
        return new Error(
            `stack ${stack ?? "?"} does not exist here (${said.trim()}): check the name and \`pulumi whoami\`'s organization, or create it with \`pulumi stack init\` and \`pulumi up\``,
        );
    }
    return e instanceof Error ? e : new Error(text);
}

/** Another stack's outputs, read without selecting it (the running rollout keeps its own stack selected). */
export async function outputsOf(workDir: string, stackName: string): Promise<StackOutputs> {
    try {
        const outputs = await (await LocalWorkspace.create({ workDir })).stackOutputs(stackName);
        return parseStackOutputs(Object.fromEntries(Object.entries(outputs).map(([key, v]) => [key, v.value])), stackName);
    } catch (e) {
        throw explainStartupError(e, stackName);
    }
}

export class PulumiStack implements StackPort {
    constructor(
        private readonly stack: AutomationStack,
        private readonly log: (line: string) => void,
        /** Where the CLI's own output goes while an update runs. */
        private readonly stream: (text: string) => void = (text) => process.stdout.write(text),
        private readonly signal?: AbortSignal,
    ) {}

    static async select(stackName: string, workDir: string, log: (line: string) => void, signal?: AbortSignal): Promise<PulumiStack> {
        try {
            return new PulumiStack(await LocalWorkspace.selectStack({ stackName, workDir }), log, undefined, signal);
        } catch (e) {
            throw explainStartupError(e, stackName);
        }
    }

    /** The project's config as the program would read it: keys without the `<project>:` prefix. */
    async rawConfig(): Promise<Record<string, string>> {
        return projectKeys(Object.fromEntries(Object.entries(await this.stack.getAllConfig()).map(([key, v]) => [key, v.value])), PROJECT);
    }

    async region(): Promise<string | undefined> {
        return (await this.stack.getAllConfig())["aws:region"]?.value;
    }

    async outputs(): Promise<StackOutputs> {
        const outputs = await this.stack.outputs();
        return parseStackOutputs(Object.fromEntries(Object.entries(outputs).map(([key, v]) => [key, v.value])), this.stack.name);
    }

    async deployed(): Promise<DeployedState> {
        const { canaryWeight, versions, evaluation } = await this.outputs();
        const bounds = (v: Version) => {
            const { minCount, restingMinCount, maxCount, requestsPerTaskPerMinute } = versions[v].scaling;
            return { minCount, restingMinCount, maxCount, requestsPerTaskPerMinute };
        };
        return {
            canaryWeight,
            versions,
            ...(evaluation ? { evaluations: evaluation.when ?? ["beforeTraffic"] } : {}),
            scaling: { stable: bounds("stable"), canary: bounds("canary") },
        };
    }

    async intended(): Promise<IntendedState> {
        const config = loadConfig(await this.rawConfig());
        const print = (v: Version) => fingerprint(definitionOf(config.versions[v]));
        return {
            canaryWeight: config.canaryWeight,
            fingerprints: { stable: print("stable"), canary: print("canary") },
            minCounts: { stable: minCount(config, "stable"), canary: minCount(config, "canary") },
        };
    }

    async setWeight(weight: number): Promise<DeployedState> {
        const { trafficResourceUrn } = await this.outputs();
        await this.stack.setConfig(`${PROJECT}:canaryWeight`, { value: String(weight) });
        await this.guardedUp(`canaryWeight ${weight}`, "the resource that carries the split", (urn) => urn === trafficResourceUrn);
        return this.deployed();
    }

    async setMinCount(version: Version, count: number | undefined): Promise<DeployedState> {
        const { versions } = await this.outputs();
        const key = `${PROJECT}:${RAISED_MIN_KEY[version]}`;
        if (count === undefined) await this.stack.removeConfig(key);
        else await this.stack.setConfig(key, { value: String(count) });
        const what =
            count === undefined ? `return the ${version}'s minimum task count to its resting value` : `raise the ${version}'s minimum task count to ${count}`;
        await this.guardedUp(what, `the ${version}'s scalable target`, (urn) => urn === versions[version].scaling.targetUrn);
        return this.deployed();
    }

    async deployCanary(): Promise<DeployedState> {
        return this.deployVersion("canary", "deploy the canary's settings");
    }

    async promote(): Promise<DeployedState> {
        const raw = await this.rawConfig();
        const config = loadConfig(raw);
        const stable = JSON.parse(raw.stable) as Record<string, unknown>;
        const promoted = promotedStable(stable, config.versions.canary);
        await this.stack.setAllConfigJson(wholeValueJson(`${PROJECT}:stable`, promoted));
        return this.deployVersion("stable", "promote the canary's definition to stable");
    }

    private async deployVersion(version: Version, what: string): Promise<DeployedState> {
        const { versions, capacityProvidersUrn } = await this.outputs();
        const own = [versions[version].serviceUrn, versions[version].capacityUrn];
        await this.guardedUp(
            what,
            `the ${version} service and its GPU capacity`,
            (urn, ancestors) => urn === capacityProvidersUrn || ancestors.some((a) => own.includes(a)),
        );
        return this.deployed();
    }

    /** Previews, refuses if anything outside `allowed` would change, then updates, reporting the engine's diagnostics on failure. */
    private async guardedUp(what: string, allowedText: string, allowed: Allowed): Promise<void> {
        const parents = new Map<string, string>();
        const changed: string[] = [];
        await this.run(`pulumi preview (${what})`, () =>
            this.stack.preview({
                signal: this.signal,
                onEvent: (event: EngineEvent) => {
                    const m = event.resourcePreEvent?.metadata;
                    if (!m) return;
                    const parent = m.new?.parent ?? m.old?.parent;
                    if (parent) parents.set(m.urn, parent);
                    if (m.op === "same" || m.op === "read" || m.type === "pulumi:pulumi:Stack" || onlyTags(m.op, m.diffs)) return;
                    changed.push(`${m.op} ${m.urn}`);
                },
            }),
        );
        const ancestors = (urn: string): string[] => {
            const parent = parents.get(urn);
            return parent ? [parent, ...ancestors(parent)] : [];
        };
        const outside = changed.filter((entry) => {
            const urn = entry.slice(entry.indexOf(" ") + 1);
            return !allowed(urn, ancestors(urn));
        });
        if (outside.length > 0) {
            throw new UpdateRefused(`refused to ${what}: besides ${allowedText}, the update would ${outside.join(", ")}; nothing was deployed`);
        }
        const failures: string[] = [];
        await this.run(
            `pulumi up (${what})`,
            () => this.stack.up({ signal: this.signal, onOutput: this.stream, onEvent: (e) => collectFailures(e, failures) }),
            failures,
        );
    }

    /** Runs a CLI command; a failure names its cause from the engine's diagnostics when there are any. */
    private async run<T>(what: string, command: () => Promise<T>, failures: string[] = []): Promise<T> {
        this.log(what);
        try {
            return await command();
        } catch (e) {
            if (e instanceof ConcurrentUpdateError) throw new ConcurrentUpdate((e as Error).message.split("\n")[0]);
            const cause = failures.length > 0 ? failures.join("; ") : (e as Error).message.split("\n").slice(0, 3).join(" ");
            throw new UpdateFailed(`${what} failed: ${cause}`);
        }
    }
}

/** Properties that say what a resource serves, not what it does: an update of these alone is admitted in any step. */
const TAG_PROPERTIES = ["tags", "tagsAll"];

/** An in-place update that changes nothing but tags (the engine's `diffs`: the top-level properties that differ). */
const onlyTags = (op: string, diffs?: string[]) => op === "update" && !!diffs?.length && diffs.every((d) => TAG_PROPERTIES.includes(d));

/** The failing resource and the provider's error, from the engine's events: the thrown error carries little. */
function collectFailures(event: EngineEvent, failures: string[]): void {
    const d = event.diagnosticEvent;
    if (d?.severity === "error") failures.push(`${d.urn ? `${d.urn.split("::").pop()}: ` : ""}${d.message.trim()}`);
    const failed = event.resOpFailedEvent?.metadata;
    if (failed && !failures.some((f) => f.startsWith(`${failed.urn.split("::").pop()}:`))) failures.push(`${failed.op} of ${failed.urn} failed`);
}
