/**
 * Where a rollout stands and what is left, from what is deployed (the stack's outputs)
 * and what the local config says. Pure: every case is a row in a table test.
 *
 * The deployed state wins. A config *behind* the deployment (another machine's rollout,
 * a stale checkout) is refused, naming the difference; a config *ahead* by a pending
 * weight step (an interrupted update) deploys that step and bakes it before anything
 * else. The phase needs no record of its own: each phase ends with an update whose
 * outputs say it happened.
 */
import { RolloutSchedule } from "../../contract/schedule";
import { DeployedState, IntendedState } from "./ports";
import type { EvaluationMoment } from "../../contract/outputs";

export interface RolloutOptions {
    /** Start at this step (1-based) instead of where the stack stands. */
    fromStep?: number;
    /** Stop after this step (1-based), leaving the weight there. */
    toStep?: number;
}

export type Phase =
    /** Deploy the canary's new settings at weight 0 (only the canary's service changes). */
    | { kind: "deploy-canary" }
    /** Wait until ECS runs the canary's deployed revision: a step judges the canary the stack says it runs. */
    | { kind: "wait-canary" }
    /**
     * Run the stack's evaluation task against the canary (pinned): before traffic a failure
     * stops the rollout at weight 0; after a step, or before the promotion, it rolls back.
     */
    | { kind: "evaluate"; moment: EvaluationMoment }
    /** Set the weight (unless deployed already), verify it at the traffic layer, bake and judge. `index` 0: a resumed weight. */
    | { kind: "step"; index: number; weight: number }
    /** Check the traffic layer really sends everything to the canary before stable changes. */
    | { kind: "verify-canary-full" }
    /** Stable takes the canary's definition, in an update that changes only stable's service. */
    | { kind: "promote" }
    /** Wait until ECS runs stable's new revision in a COMPLETED PRIMARY deployment. */
    | { kind: "wait-stable" }
    /** Weight 0, verified: the promoted stable serves everything. */
    | { kind: "return-to-stable" };

export type Plan = { kind: "run"; phases: Phase[]; summary: string } | { kind: "nothing"; reason: string } | { kind: "refuse"; reason: string };

/** Phases from the promotion on, once the canary serves 100%. */
const PROMOTION: Phase[] = [{ kind: "verify-canary-full" }, { kind: "promote" }, { kind: "wait-stable" }, { kind: "return-to-stable" }];

function stepsFrom(schedule: RolloutSchedule, weight: number, options: RolloutOptions): { phases: Phase[]; promote: boolean } {
    const indexed = schedule.steps.map((w, i) => ({ kind: "step" as const, index: i + 1, weight: w }));
    let steps = options.fromStep !== undefined ? indexed.slice(options.fromStep - 1) : indexed.filter((s) => s.weight >= weight);
    // A weight between steps (an earlier run stopped there) is baked again before going on.
    if (options.fromStep === undefined && weight > 0 && !schedule.steps.includes(weight)) steps.unshift({ kind: "step", index: 0, weight });
    if (options.toStep !== undefined) steps = steps.filter((s) => s.index <= options.toStep!);
    const promote = steps.at(-1)?.weight === 100 && (options.toStep ?? schedule.steps.length) >= schedule.steps.length;
    return { phases: steps, promote };
}

function describe(phases: Phase[]): string {
    return phases.map((p) => (p.kind === "step" ? `${p.weight}%${p.index === 0 ? " (resumed)" : ""}` : p.kind)).join(" -> ");
}

export function planRollout(schedule: RolloutSchedule, deployed: DeployedState, intended: IntendedState, options: RolloutOptions = {}): Plan {
    const w = deployed.canaryWeight;
    const d = { stable: deployed.versions.stable.fingerprint, canary: deployed.versions.canary.fingerprint };
    const i = intended.fingerprints;
    const run = (phases: Phase[]): Plan => ({ kind: "run", phases, summary: describe(phases) });

    // Stable runs the canary's definition: a promotion that has not returned the weight yet, or nothing.
    if (d.stable === d.canary) {
        if (i.stable !== d.stable)
            return {
                kind: "refuse",
                reason: `stable in the config (${i.stable}) differs from the deployed stable (${d.stable}); deploy stable with \`pulumi up\`, not with a rollout`,
            };
        if (i.canary === d.canary) {
            if (w === 0) {
                if (intended.canaryWeight !== 0)
                    return { kind: "refuse", reason: `the config says canaryWeight ${intended.canaryWeight}, but nothing is rolling out and 0 is deployed` };
                return { kind: "nothing", reason: "the canary runs what stable runs, at weight 0: nothing to roll out" };
            }
            return run([{ kind: "wait-stable" }, { kind: "return-to-stable" }]);
        }
        if (w !== 0)
            return {
                kind: "refuse",
                reason: `the canary in the config differs from the deployed canary while it serves ${w}%; finish or roll back the deployed rollout first`,
            };
        return planSteps(schedule, deployed, intended, [{ kind: "deploy-canary" }], options, run);
    }

    if (i.canary !== d.canary) {
        if (w === 0 && i.stable === d.stable) return planSteps(schedule, deployed, intended, [{ kind: "deploy-canary" }], options, run);
        return {
            kind: "refuse",
            reason: `the canary in the config (${i.canary}) differs from the deployed canary (${d.canary}) at weight ${w}: a change made mid-rollout is not deployed unjudged; restore it, or roll back first`,
        };
    }
    // The config began a promotion (stable takes the canary's definition) that did not deploy.
    if (i.stable === i.canary) {
        if (w !== 100) return { kind: "refuse", reason: `the config gives stable the canary's definition, but the canary serves ${w}%, not 100%` };
        return run(PROMOTION);
    }
    if (i.stable !== d.stable)
        return { kind: "refuse", reason: `stable in the config (${i.stable}) differs from the deployed stable (${d.stable}) mid-rollout` };
    return planSteps(schedule, deployed, intended, [], options, run);
}

function planSteps(
    schedule: RolloutSchedule,
    deployed: DeployedState,
    intended: IntendedState,
    before: Phase[],
    options: RolloutOptions,
    run: (phases: Phase[]) => Plan,
): Plan {
    const w = deployed.canaryWeight;
    if (intended.canaryWeight < w) {
        return {
            kind: "refuse",
            reason: `the config says canaryWeight ${intended.canaryWeight}, but ${w} is deployed: this checkout is behind the deployment (another machine's rollout, or a stale stack file); update it first`,
        };
    }
    // The config is ahead: an update to that weight was interrupted. Deploy and bake it first.
    const { phases, promote } = stepsFrom(schedule, Math.max(intended.canaryWeight, w), options);
    const at = (moment: EvaluationMoment): Phase[] => (deployed.evaluations?.includes(moment) ? [{ kind: "evaluate", moment }] : []);
    // Before any traffic only: a rollout resumed mid-way is past that.
    const beforeTraffic = w === 0 ? at("beforeTraffic") : [];
    const stepped = phases.flatMap((p) => [p, ...at("eachStep")]);
    // After the last step's own evaluation, the canary has just been evaluated before the promotion.
    const beforePromotion = stepped.at(-1)?.kind === "evaluate" ? [] : at("beforePromotion");
    return run([...before, { kind: "wait-canary" }, ...beforeTraffic, ...stepped, ...(promote ? [...beforePromotion, ...PROMOTION] : [])]);
}

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
