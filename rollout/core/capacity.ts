/**
 * Capacity follows weight: before a version's share of traffic grows, its minimum task
 * count is raised to what that share of the current load needs, so a step to 50% does not
 * send half the traffic to a canary sized for 5% (and judge it on the overload), and the
 * return to a promoted stable does not land on a stable that scaled in while the canary
 * served everything. Service Auto Scaling keeps tracking the load between the bounds; the
 * rollout only sets the floor.
 */
import { DeployedScaling } from "./ports";

interface Capacity {
    /** The version's minimum task count for its new share. */
    count: number;
    /** The share needed more tasks than `maxCount` allows: the step goes ahead at the maximum. */
    capped: boolean;
}

/**
 * Tasks a version needs for `share` percent of `requestsPerMinute` (both versions'
 * requests), and `pinnedPerMinute` sent to it whatever the weight (a paired stream's), never
 * below its resting minimum nor above its maximum, and at least one for any share: a version
 * that rests at zero tasks gets one before it gets traffic.
 */
export function capacityFor(requestsPerMinute: number, share: number, scaling: DeployedScaling, pinnedPerMinute = 0): Capacity {
    const load = (requestsPerMinute * share) / 100 + pinnedPerMinute;
    const needed = Math.max(share > 0 ? 1 : 0, Math.ceil(load / scaling.requestsPerTaskPerMinute));
    return { count: Math.min(scaling.maxCount, Math.max(scaling.restingMinCount, needed)), capped: needed > scaling.maxCount };
}
