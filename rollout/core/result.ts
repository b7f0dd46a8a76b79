/**
 * What a rollout ends with, as plain data: its outcome and exit code, each step and sample
 * with the evidence then, and its events. The engine writes it; reports and the CLI read it.
 */
import type { MetricsSample } from "./ports";
import type { Evidence, Verdict } from "./judge";

export type Outcome = "promoted" | "paused" | "nothing-to-do" | "rolled-back" | "held" | "interrupted" | "refused" | "failed";

/** Exit codes, as docs/rollout.md documents them. */
export const EXIT_CODES: Record<Outcome, number> = {
    promoted: 0,
    paused: 0,
    "nothing-to-do": 0,
    "rolled-back": 1,
    failed: 2,
    refused: 4,
    held: 3,
    interrupted: 130,
};

export interface SampleRecord {
    at: number;
    step: number;
    weight: number;
    sample: MetricsSample;
    verdict: Verdict;
    /** Each test's evidence against its threshold after this sample. */
    evidence: Evidence[];
    /** Minutes of this sample judged at `metricsMaxLagSeconds` with what had arrived. */
    late?: number;
    /** The paired stream's counts in the same minutes, where there is one (`sample` is then live traffic less them). */
    paired?: MetricsSample;
}

export interface StepRecord {
    index: number;
    weight: number;
    startedAt: number;
    /** When its bake was done: everything served before this was judged before the step ended. */
    bakedAt?: number;
    endedAt?: number;
    verdict?: Verdict;
}

export interface RolloutResult {
    outcome: Outcome;
    reason: string;
    exitCode: number;
    startedAt: number;
    endedAt: number;
    /** The weight deployed when the rollout ended, as the stack's outputs report it. */
    finalWeight?: number;
    steps: StepRecord[];
    samples: SampleRecord[];
    events: { at: number; message: string }[];
}
