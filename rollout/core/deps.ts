/** What the engine runs on: the schedule, every port, the gates, and where it reports. */
import { RolloutSchedule } from "../../contract/schedule";
import { Clock, ControlPort, MetricsSample, MetricsSource, RunnerPort, ServicesPort, StackPort, TrafficPort } from "./ports";
import type { GoldenComparison } from "./golden";
import type { PairedStream, RunnerCounting } from "./stream";
import { Evidence, PairedMinutes, StepRole, Verdict } from "./judge";

export interface RolloutDeps {
    schedule: RolloutSchedule;
    stack: StackPort;
    services: ServicesPort;
    traffic: TrafficPort;
    metrics: MetricsSource;
    control?: ControlPort;
    clock: Clock;
    /** Every line: events and per-sample progress. */
    log: (line: string) => void;
    /** Events only (a step starts, passes, a rollback, the promotion, the outcome): for notifications. */
    notify?: (event: string) => void;
    /** Aborted on SIGINT or SIGTERM: the rollout stops within seconds, leaving the weight as it is. */
    signal?: AbortSignal;
    /** The gates, when not the sequential tests (the benchmark compares them with earlier gates). */
    judge?: JudgeLike;
    /** The golden set compared on both versions at each evaluation moment, when the stack declares one. */
    golden?: { comparison: GoldenComparison; runner: RunnerPort; counting: RunnerCounting };
    /** The runner's paired stream during the steps, when the stack asks for one (`evaluation.requestsPerSecond`). */
    stream?: PairedStream;
    /** Where each weight verified at the traffic layer is published (the dashboard's weight graph). */
    weights?: { publish(weight: number): Promise<void> };
}

/** What the engine asks of its gates. */
export interface JudgeLike {
    /** Judges a window, with the paired stream's minutes where there is one; one in a step's warm-up only by the absolute limit. */
    observe(sample: MetricsSample, warmup?: boolean, paired?: PairedMinutes): Verdict;
    newStep(role: StepRole): void;
    standing(): Evidence[];
    /** Whether the canary has shown it is within tolerance: what the last step before 100% needs to pass. */
    acceptance(): { accepted: boolean; reason: string };
}
