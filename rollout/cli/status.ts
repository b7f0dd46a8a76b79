/** `rollout status`: what is deployed, who holds the stack, the last verdicts. */
import { withStack } from "./session";

export async function status(name: string): Promise<number> {
    const { stack, control } = await withStack(name);
    const outputs = await stack.outputs();
    // What the stack says is printed before SSM is asked: an unreachable AWS leaves it on screen.
    console.log(`stack ${name}: canaryWeight ${outputs.canaryWeight} deployed (${outputs.trafficBackend})`);
    console.log(
        `  stable ${outputs.versions.stable.fingerprint}, canary ${outputs.versions.canary.fingerprint}${outputs.versions.stable.fingerprint === outputs.versions.canary.fingerprint ? " (the same)" : ""}`,
    );
    if (outputs.dashboardUrl) console.log(`  dashboard: ${outputs.dashboardUrl}`);
    const lease = await control.lease();
    const last = await control.status();
    console.log(lease ? `  lease: held by ${lease.owner} until ${new Date(lease.expiresAt).toISOString()}` : "  lease: free (no rollout running)");
    if (last) console.log(`  last status, ${new Date(last.at).toISOString()} by ${last.owner}:\n    ${last.status.split("\n").join("\n    ")}`);
    return 0;
}
