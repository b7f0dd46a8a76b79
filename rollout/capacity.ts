/**
 * Capacity follows weight: before the canary's share of traffic grows, its minimum task
 * count is raised to what that share of the current load needs, so a step to 50% does not
 * send half the traffic to a canary sized for 5% (and judge it on the overload). Service
 * Auto Scaling keeps tracking the load between the bounds; the rollout only sets the floor.
 */
import { DeployedScaling } from "./ports";

export interface CanaryCapacity {
    /** The canary's minimum task count for the step. */
    count: number;
    /** The share needed more tasks than `maxCount` allows: the step goes ahead at the maximum. */
    capped: boolean;
}

/**
 * Tasks the canary needs at `weight` percent of `requestsPerMinute` (both versions'
 * requests), never below its resting minimum nor above its maximum.
 */
export function canaryCapacity(requestsPerMinute: number, weight: number, scaling: DeployedScaling): CanaryCapacity {
    const needed = Math.ceil((requestsPerMinute * weight) / 100 / scaling.requestsPerTaskPerMinute);
    return { count: Math.min(scaling.maxCount, Math.max(scaling.restingMinCount, needed)), capped: needed > scaling.maxCount };
}
