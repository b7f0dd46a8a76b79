/**
 * How a rollout ends when something fails: what each failure means for the canary's traffic,
 * decided from the failure and where the rollout stands, as plain data the engine carries out.
 */
import { ConcurrentUpdate, LeaseLost, UpdateRefused } from "./ports";
import { Outcome } from "./result";

/** Someone asked the rollout to stop (a signal) or to roll back (`abort`). */
export class Stop extends Error {
    constructor(readonly abortRequestedBy?: string) {
        super(abortRequestedBy ? `aborted by ${abortRequestedBy}` : "interrupted");
    }
}

export type Ending = { kind: "rollback"; reason: string } | { kind: "finish"; outcome: Outcome; reason: string };

/** `aborted`: a signal arrived; `promoting`: stable may be half-updated; `weight`: the canary's, as deployed (unknown before the stack was read). */
export function endingOf(e: Error, at: { aborted: boolean; promoting: boolean; weight?: number }): Ending {
    const finish = (outcome: Outcome, reason: string): Ending => ({ kind: "finish", outcome, reason });
    if (e instanceof Stop && e.abortRequestedBy && !at.promoting) return { kind: "rollback", reason: e.message };
    // SIGINT also reaches the `pulumi` child, which cancels its update: that failure is the interrupt.
    if (at.aborted || e instanceof Stop) return finish("interrupted", `interrupted at ${at.weight ?? "?"}%; the stack holds the state, so rerunning resumes`);
    if (e instanceof UpdateRefused) return finish("refused", e.message);
    if (e instanceof LeaseLost) return finish("failed", `${e.message}; stopped without changing anything more, at ${at.weight}%`);
    if (e instanceof ConcurrentUpdate) {
        return finish("failed", `another update is running on this stack, so this run stopped without retrying (${e.message}). Rerun when it finishes.`);
    }
    // Rolling back now would send traffic to a stable version that may be half-updated.
    if (at.promoting)
        return finish("failed", `promotion did not finish: ${e.message}; traffic stays on the canary at ${at.weight}%. Rerun to finish the promotion.`);
    if (at.weight === undefined) return finish("failed", `could not read the stack: ${e.message}`);
    if (at.weight === 0) return finish("failed", e.message);
    return { kind: "rollback", reason: e.message };
}
