/** What the commands that touch a deployed stack share: who runs them, the clock, the stack and its lease, reports, and errors in words a person can act on. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SSMClient } from "@aws-sdk/client-ssm";
import { SsmControl } from "../adapters/ssm";
import { systemClock } from "../core/ports";
import { PulumiStack } from "../adapters/pulumiStack";
import { CliError } from "./args";

/** Who runs this rollout, as the lease and notifications name it. */
export const owner = () => process.env.ROLLOUT_OWNER ?? `${os.userInfo().username}@${os.hostname()} pid ${process.pid}`;

/** `ROLLOUT_TIME_SCALE` runs time faster from `ROLLOUT_TIME_ORIGIN` (epoch ms): only end-to-end tests set them. */
export const clock = systemClock(Number(process.env.ROLLOUT_TIME_SCALE ?? 1), Number(process.env.ROLLOUT_TIME_ORIGIN ?? Date.now()));

/** The stack of the Pulumi project in the current directory. */
export async function withStack(name: string, signal?: AbortSignal) {
    const log = (line: string) => console.log(`[${new Date(clock.now()).toISOString().slice(11, 19)}] ${line}`);
    if (!fs.existsSync(path.join(process.cwd(), "Pulumi.yaml"))) throw new CliError("run it from the project's directory (where Pulumi.yaml is)");
    const stack = await PulumiStack.select(name, process.cwd(), log, signal);
    const region = await stack.region();
    const control = new SsmControl(new SSMClient({ region }), name, owner(), clock, undefined, (await stack.rawConfig()).platform);
    return { stack, region, control, log };
}
