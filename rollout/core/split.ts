/**
 * The split as the rollout moved it: which weights may have been in force when (both while an
 * update moves the split, one once the traffic layer reports it), so a minute is judged only
 * for a version that may have served in it; and the check that the traffic layer applies a
 * weight just deployed (Argo Rollouts' `VerifyWeight`).
 */
import { Clock, TrafficPort } from "./ports";
import { MINUTE_MS } from "./minutes";
import { Version } from "../../contract/versions";

/** How long the traffic layer may take to report a weight it was given. */
const VERIFY_ATTEMPTS = 10;
const VERIFY_INTERVAL_MS = 3_000;

/** The weights that may have been in force from `at` on. */
type WeightChange = { at: number; weights: number[] };

export class WeightHistory {
    private readonly changes: WeightChange[] = [];

    /** `weight` is in force from `at` on (as deployed at the start, or as verified). */
    inForce(at: number, weight: number): void {
        this.changes.push({ at, weights: [weight] });
    }

    /** An update moves the split from `from` to `to`: either may be in force until it is verified. */
    moving(at: number, from: number, to: number): void {
        this.changes.push({ at, weights: [from, to] });
    }

    /** Whether a version may have served traffic in the minute starting at `start`. */
    hasShare(version: Version, start: number): boolean {
        const end = start + MINUTE_MS;
        return this.changes.some((change, i) => {
            const until = this.changes[i + 1]?.at ?? Infinity;
            if (change.at >= end || until <= start) return false;
            return change.weights.some((w) => (version === "canary" ? w > 0 : w < 100));
        });
    }
}

/** Waits until the traffic layer reports `weight`, a few seconds at most; throws with what it reports instead. */
export async function verifyWeight(traffic: TrafficPort, clock: Clock, weight: number, signal?: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
        const seen = await traffic.canaryWeight();
        if (seen === weight) return;
        if (attempt === VERIFY_ATTEMPTS) throw new Error(`the traffic layer sends ${seen}% to the canary, not the ${weight}% just deployed`);
        // No checkpoint here: a rollback verifies its weight too, and must not stop halfway.
        await clock.sleep(VERIFY_INTERVAL_MS, signal);
    }
}
