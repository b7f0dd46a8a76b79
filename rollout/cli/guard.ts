/** `rollout guard`: for a deploy job, refuse while a rollout runs, or a config that would undo one. */
import { clock, withStack } from "./session";
import { SSMClient } from "@aws-sdk/client-ssm";
import { EXIT_CODES } from "../core/result";
import { platformLeases } from "../adapters/ssm";
import { undeployedMoves } from "../core/plan";
import { PulumiStack } from "../adapters/pulumiStack";

/** A platform's deploy waits for every rollout on it: none of its services may see its network change mid-judgement. */
export async function guardPlatform(name: string): Promise<number> {
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

export async function guard(name: string): Promise<number> {
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
        console.error(
            `refused: this config would change ${moves.join(" and ")} away from what is deployed${by}; commit the stack file the rollout left, or run a rollout`,
        );
        return EXIT_CODES.refused;
    }
    console.log(`guard: ${name} may be deployed from this config`);
    return 0;
}
