/**
 * The stack port on a real stack, through the Pulumi Automation API over the program
 * on disk, so a rollout deploys exactly what CI deploys. Thin on purpose: the decisions
 * are the engine's.
 */
import { ConcurrentUpdateError, LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { DescribeServicesCommand, ECSClient } from "@aws-sdk/client-ecs";
import { Version, VERSIONS } from "../mesh/config/schema";
import { parseStackOutputs, PROJECT } from "../mesh/contract";
import { Clock, ConcurrentUpdate, StackPort, StackState, UpdateFailed } from "./ports";

/** Config keys of one version that promotion copies; the stable version keeps its own task count. */
const KEPT_BY_STABLE = ["desiredCount"];

/** Leaf paths of a config object, as `pulumi config set --path` spells them. */
export function configPaths(prefix: string, value: unknown): [string, string][] {
    if (typeof value !== "object" || value === null) return [[prefix, String(value)]];
    return Object.entries(value).flatMap(([k, v]) => configPaths(`${prefix}.${k}`, v));
}

/** The parts of an Automation API stack this adapter uses. */
export type AutomationStack = Pick<Stack, "name" | "getAllConfig" | "setConfig" | "removeConfig" | "up" | "outputs">;

export class PulumiStack implements StackPort {
    constructor(
        private readonly stack: AutomationStack,
        private readonly ecs: Pick<ECSClient, "send">,
        private readonly clock: Clock,
        private readonly log: (line: string) => void,
    ) {}

    static async select(stackName: string, workDir: string, clock: Clock, log: (line: string) => void): Promise<PulumiStack> {
        const stack = await LocalWorkspace.selectStack({ stackName, workDir });
        const region = (await stack.getAllConfig())["aws:region"]?.value;
        return new PulumiStack(stack, new ECSClient({ region }), clock, log);
    }

    /** The stack's config as plain strings, keyed `<namespace>:<key>`, as the program sees it. */
    async rawConfig(): Promise<Record<string, string>> {
        const config = await this.stack.getAllConfig();
        return Object.fromEntries(Object.entries(config).map(([key, v]) => [key, v.value]));
    }

    async outputs(): Promise<Record<string, unknown>> {
        const outputs = await this.stack.outputs();
        return Object.fromEntries(Object.entries(outputs).map(([key, v]) => [key, v.value]));
    }

    async read(): Promise<StackState> {
        const config = await this.stack.getAllConfig();
        const value = (key: string) => config[`${PROJECT}:${key}`]?.value;
        const versions = {} as Record<Version, Record<string, unknown>>;
        for (const v of VERSIONS) versions[v] = JSON.parse(value(v) ?? "{}");
        return { canaryWeight: Number(value("canaryWeight") ?? 0), versions };
    }

    async setWeight(weight: number): Promise<void> {
        await this.stack.setConfig(`${PROJECT}:canaryWeight`, { value: String(weight) });
        await this.up(`canaryWeight ${weight}`);
    }

    async promoteCanarySettings(): Promise<void> {
        const { versions } = await this.read();
        const promoted: Record<string, unknown> = { ...versions.canary };
        for (const key of KEPT_BY_STABLE) {
            if (key in versions.stable) promoted[key] = versions.stable[key];
            else delete promoted[key];
        }
        // Set the new values first and only then drop stale keys, so a crash never leaves stable without an image.
        const next = configPaths(`${PROJECT}:stable`, promoted);
        for (const [path, value] of next) await this.stack.setConfig(path, { value }, true);
        const kept = new Set(next.map(([path]) => path));
        for (const [path] of configPaths(`${PROJECT}:stable`, versions.stable)) {
            if (!kept.has(path)) await this.stack.removeConfig(path, true);
        }
        await this.up("promote the canary's settings to stable");
    }

    async waitHealthy(version: Version): Promise<void> {
        const outputs = parseStackOutputs(await this.outputs(), this.stack.name);
        const cluster = outputs.clusterName;
        const service = outputs[`${version}ServiceName`];
        const deadline = this.clock.now() + 30 * 60_000;
        while (this.clock.now() < deadline) {
            const { services } = await this.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
            const primary = services?.[0]?.deployments?.find((d) => d.status === "PRIMARY");
            if (primary?.rolloutState === "COMPLETED" && (primary.runningCount ?? 0) >= (primary.desiredCount ?? 1)) return;
            if (primary?.rolloutState === "FAILED") throw new UpdateFailed(`the ${version} service's deployment failed: ${primary.rolloutStateReason}`);
            await this.clock.sleep(15_000);
        }
        throw new UpdateFailed(`the ${version} service was not healthy within 30 minutes`);
    }

    private async up(what: string): Promise<void> {
        this.log(`pulumi up (${what})`);
        try {
            await this.stack.up({ onOutput: (out) => process.stdout.write(out) });
        } catch (e) {
            if (e instanceof ConcurrentUpdateError) throw new ConcurrentUpdate((e as Error).message.split("\n")[0]);
            throw new UpdateFailed(`pulumi up (${what}) failed: ${(e as Error).message.split("\n").slice(0, 5).join(" ")}`);
        }
    }
}
