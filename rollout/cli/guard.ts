/** `rollout guard`: for a deploy job, refuse while a rollout runs, or a config that would undo one. */
import { clock, withStack } from "./session";
import { SSMClient } from "@aws-sdk/client-ssm";
import { EXIT_CODES } from "../core/result";
import { platformLeases } from "../adapters/ssm";
import { DeployedState, IntendedState } from "../core/ports";
import { PulumiStack } from "../adapters/pulumiStack";

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
    if (deployed.canaryWeight > 0 && intended.fingerprints.canary !== deployed.versions.canary.fingerprint)
        moves.push(`the canary's definition while it serves ${deployed.canaryWeight}%`);
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
