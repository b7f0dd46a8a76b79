/**
 * What the rollout reads and decides before the first step, in `run` and in the simulator
 * alike: stable's last hours (read once), each dispersion the schedule leaves unset, and, with
 * `rollout.budgetSeconds`, the promises the budget can keep at that traffic and the schedule and
 * judge that hold them, or a refusal to start.
 */
import { RolloutSchedule } from "../../contract/schedule";
import { HISTORY_MINUTES, readStableHistory, StableHistory, wantsHistory, withMeasuredDispersions } from "./dispersion";
import { planBudget, Promised } from "./budget";
import { Evaluated, Judge } from "./judge";
import { summedGates } from "./minutes";
import { GateCounts, MetricsSource } from "./ports";
import { Traffic, trafficOf } from "./power";

export interface Preflight {
    schedule: RolloutSchedule;
    /** What was measured and promised, each said with where it came from. */
    lines: string[];
    /** With a budget, each rate's promise, for the report to repeat beside what was observed. */
    promises?: Promised[];
    /** The judge that holds a budget's promises (stable's hours its prior); otherwise the engine's own. */
    judge?: Judge;
    /** Why the rollout must not start: nothing has moved. */
    refusal?: string;
    /** With a budget, the traffic it was planned at (stable's hours): what the dry run's forecast uses too. */
    traffic?: Traffic;
    /** With a budget, each rate's regression to catch on the last step's own data, by id. */
    lastStep?: Record<string, number>;
}

/** Stable's counts over its hours, by gate id (`errors`, `slow`, the gates'): the judge's prior with a budget. */
function priorOf(history: StableHistory): Record<string, GateCounts> {
    if (!("minutes" in history)) return {};
    const stable = history.minutes.flatMap((m) => (m.versions.stable ? [m.versions.stable] : []));
    const requests = stable.reduce((n, v) => n + v.requests, 0);
    return {
        errors: { events: stable.reduce((n, v) => n + v.errors, 0), requests },
        slow: { events: stable.reduce((n, v) => n + v.slow, 0), requests },
        ...summedGates(stable).gates,
    };
}

/** `evaluated`: a golden set's comparison and a paired stream's test of the answers, each taking a share of the false-rollback rate beside the live gates. */
export async function preflight(schedule: RolloutSchedule, metrics: MetricsSource, now: number, evaluated: Evaluated = {}): Promise<Preflight> {
    const budgeted = schedule.budgetSeconds !== undefined;
    if (!budgeted && !wantsHistory(schedule)) return withMeasuredDispersions(schedule, { minutes: [] });
    const history = await readStableHistory(metrics, now);
    const measured = withMeasuredDispersions(schedule, history);
    if (!budgeted) return measured;
    const traffic = "minutes" in history ? trafficOf(history.minutes) : undefined;
    if (!traffic) {
        const why =
            "unreadable" in history
                ? `unreadable (${history.unreadable})`
                : "without traffic: a service with none yet runs without a budget, judged by a paired stream (evaluation.requestsPerSecond, docs/evaluation.md)";
        return { ...measured, refusal: `refused: rollout.budgetSeconds needs stable's traffic to plan, and its last ${HISTORY_MINUTES / 60} hours are ${why}` };
    }
    const plan = planBudget(measured.schedule, traffic, `stable's last ${HISTORY_MINUTES / 60} hours`);
    return {
        schedule: plan.schedule,
        lines: [...measured.lines, ...plan.lines],
        promises: plan.promises,
        traffic,
        lastStep: plan.lastStep,
        ...(plan.refusal ? { refusal: plan.refusal } : { judge: new Judge(plan.schedule, priorOf(history), evaluated, plan.lastStep) }),
    };
}
