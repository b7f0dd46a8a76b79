/**
 * One end-to-end world per test: a project directory with the stack file, the stand-in
 * `pulumi` first on PATH, the stand-in AWS endpoint, a state directory both share, and
 * a clock run `SCALE` times faster for the CLI and both stand-ins alike.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { AwsStandIn, startAwsStandIn } from "./standins/aws";
import { Faults, readStack, StackState, Traffic, weightAt, writeStack } from "./standins/world";
import { PROJECT } from "../../contract/outputs";

export const ROOT = path.join(__dirname, "..", "..");
const BUILD = path.join(ROOT, ".e2e-build");

/** Virtual seconds per real second: a 2-minute bake takes one real second. */
export const SCALE = 120;

export const STACK = "e2e";
export const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server";
/** A rollout of the test stack, without a prompt. */
export const RUN = ["run", "--stack", STACK, "--yes"];

/** A dev-sized Lattice stack with a short schedule: stable 1.4.0 serving, canary 1.5.0 deployed at weight 0. */
export const BASE_STACK: Record<string, unknown> = {
    "aws:region": "us-west-2",
    [`${PROJECT}:trafficBackend`]: "lattice",
    [`${PROJECT}:canaryWeight`]: "0",
    [`${PROJECT}:stable`]: { image: `${ECR}:1.4.0`, cpu: 4096, memory: 16384, scaling: { minCount: 2 }, environment: { MODEL_ID: "llama-3.2-1b" } },
    [`${PROJECT}:canary`]: { image: `${ECR}:1.5.0`, cpu: 4096, memory: 16384, scaling: { minCount: 1 }, environment: { MODEL_ID: "llama-3.2-1b" } },
    [`${PROJECT}:rollout`]: { steps: [10, 50, 100], bakeSeconds: 120, sampleSeconds: 60, minRequests: 5, trafficWaitSeconds: 120 },
};

export interface CliRun {
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
    /** The CLI's last line: what it says the outcome is. */
    lastLine: string;
}

export class World {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-e2e-"));
    readonly project = path.join(this.dir, "project");
    readonly state = path.join(this.dir, "state");
    private readonly bin = path.join(this.dir, "bin");
    aws!: AwsStandIn;
    readonly env: NodeJS.ProcessEnv;

    constructor() {
        for (const d of [this.project, this.state, this.bin]) fs.mkdirSync(d);
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(this.project, "Pulumi.yaml"));
        const pulumi = path.join(this.bin, "pulumi");
        fs.writeFileSync(pulumi, `#!/bin/sh\nexec node "${path.join(BUILD, "tests/e2e/standins/pulumi.js")}" "$@"\n`);
        fs.chmodSync(pulumi, 0o755);
        this.env = {
            ...process.env,
            PATH: `${this.bin}:${process.env.PATH}`,
            STANDIN_STATE_DIR: this.state,
            ROLLOUT_TIME_SCALE: String(SCALE),
            ROLLOUT_TIME_ORIGIN: String(Date.now()),
            AWS_ACCESS_KEY_ID: "stand-in",
            AWS_SECRET_ACCESS_KEY: "stand-in",
            AWS_EC2_METADATA_DISABLED: "true",
            PULUMI_SKIP_UPDATE_CHECK: "true",
            ROLLOUT_OWNER: "e2e-runner",
        };
    }

    /** Starts the AWS stand-in and deploys `config` with the stand-in `pulumi up`, its ECS revisions long since running. */
    async start(config: Record<string, unknown> = BASE_STACK, traffic?: Partial<Traffic>): Promise<this> {
        // The stand-in AWS endpoint runs in this process and reads the same variables.
        Object.assign(process.env, {
            STANDIN_STATE_DIR: this.state,
            ROLLOUT_TIME_SCALE: this.env.ROLLOUT_TIME_SCALE,
            ROLLOUT_TIME_ORIGIN: this.env.ROLLOUT_TIME_ORIGIN,
        });
        this.aws = await startAwsStandIn();
        Object.assign(this.env, {
            AWS_ENDPOINT_URL: this.aws.url,
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME: this.aws.bedrockUrl,
            ROLLOUT_WEBHOOK_URL: `${this.aws.url}/webhook`,
        });
        if (traffic) this.traffic(traffic);
        this.seed(STACK, config);
        return this;
    }

    /** Deploys `config` as `stack` with the stand-in `pulumi up`, its ECS revisions long since running. */
    seed(stack: string, config: Record<string, unknown>): void {
        fs.writeFileSync(path.join(this.project, `Pulumi.${stack}.yaml`), yaml.dump({ config }));
        const seeded = spawnSync("pulumi", ["up", "--yes", "--skip-preview", "--stack", stack], { cwd: this.project, env: this.env, encoding: "utf8" });
        if (seeded.status !== 0) throw new Error(`seeding the stack failed: ${seeded.stderr}`);
        const state = readStack(stack)!;
        for (const list of Object.values(state.deployments)) for (const d of list) d.at -= 3_600_000;
        for (const change of state.split) change.at -= 3_600_000;
        writeStack(stack, state);
    }

    writeConfig(config: Record<string, unknown>): void {
        fs.writeFileSync(path.join(this.project, `Pulumi.${STACK}.yaml`), yaml.dump({ config }));
    }

    /** Starts the AWS stand-in and deploys each of `stacks` (by name), as `start` does one. */
    async startMany(stacks: Record<string, Record<string, unknown>>): Promise<this> {
        Object.assign(process.env, {
            STANDIN_STATE_DIR: this.state,
            ROLLOUT_TIME_SCALE: this.env.ROLLOUT_TIME_SCALE,
            ROLLOUT_TIME_ORIGIN: this.env.ROLLOUT_TIME_ORIGIN,
        });
        this.aws = await startAwsStandIn();
        Object.assign(this.env, {
            AWS_ENDPOINT_URL: this.aws.url,
            AWS_ENDPOINT_URL_BEDROCK_RUNTIME: this.aws.bedrockUrl,
            ROLLOUT_WEBHOOK_URL: `${this.aws.url}/webhook`,
        });
        for (const [stack, config] of Object.entries(stacks)) this.seed(stack, config);
        return this;
    }

    readConfig(): Record<string, unknown> {
        return this.readConfigOf(STACK);
    }

    readConfigOf(stack: string): Record<string, unknown> {
        return (yaml.load(fs.readFileSync(path.join(this.project, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> }).config;
    }

    faults(faults: Faults): void {
        fs.writeFileSync(path.join(this.state, "faults.json"), JSON.stringify(faults));
    }

    traffic(traffic: Partial<Traffic>): void {
        const base: Traffic = {
            requestsPerSecond: 20,
            delaySeconds: 60,
            stable: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01 },
            canary: { errorRate: 0.002, p99Ms: 8200, slowRate: 0.01 },
        };
        fs.writeFileSync(path.join(this.state, "traffic.json"), JSON.stringify({ ...base, ...traffic }));
    }

    stackState(): StackState {
        return readStack(STACK)!;
    }

    /** What is deployed: the outputs' weight and versions, and the weight the traffic layer applies now. */
    deployed(stack = STACK) {
        const state = readStack(stack)!;
        const outputs = state.outputs as { canaryWeight: number; versions: Record<string, { fingerprint: string; taskDefinitionArn: string }> };
        const image = (version: string) => {
            const service = String((state.outputs as Record<string, unknown>)[`${version}ServiceName`]);
            return state.deployments[service].at(-1)!.image;
        };
        return {
            canaryWeight: outputs.canaryWeight,
            trafficWeight: weightAt(state, Number.MAX_SAFE_INTEGER),
            stableImage: image("stable"),
            canaryImage: image("canary"),
            sameDefinition: outputs.versions.stable.fingerprint === outputs.versions.canary.fingerprint,
        };
    }

    /** Runs the CLI to its end; `during` may act on it once its output matches `when` (e.g. send a signal). */
    cli(args: string[], during?: { when: RegExp; act: (child: ChildProcess) => void }, env: NodeJS.ProcessEnv = {}, cwd = this.project): Promise<CliRun> {
        return new Promise((resolve, reject) => {
            const child = spawn("node", [path.join(BUILD, "rollout/cli/main.js"), ...args], { cwd, env: { ...this.env, ...env } });
            let output = "";
            let acted = false;
            const onData = (chunk: Buffer) => {
                output += chunk.toString();
                if (during && !acted && during.when.test(output)) {
                    acted = true;
                    during.act(child);
                }
            };
            child.stdout.on("data", onData);
            child.stderr.on("data", onData);
            const timer = setTimeout(() => {
                child.kill("SIGKILL");
                reject(new Error(`the CLI did not finish within 150 s:\n${output}`));
            }, 150_000);
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                const lines = output.trim().split("\n");
                resolve({ code, signal, output, lastLine: lines.at(-1) ?? "" });
            });
        });
    }

    /** Runs a command to its end in `cwd` (the project by default), with the world's environment. */
    run(command: string, args: string[], cwd = this.project): { status: number | null; output: string } {
        const result = spawnSync(command, args, { cwd, env: this.env, encoding: "utf8" });
        return { status: result.status, output: `${result.stdout}${result.stderr}` };
    }

    async close(): Promise<void> {
        await this.aws?.close();
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
