/**
 * The rollout engine against a simulated stack and synthetic metrics on a virtual clock:
 * no AWS, no Pulumi CLI, and an hour of rollout in milliseconds. It is the demo of the
 * engine and its benchmark: how fast each kind of bad canary is caught, and how many
 * requests the canary served while bad.
 */
import { runRollout, RolloutResult } from "./engine";
import { Clock, DeployedState, IntendedState, MetricsSample, MetricsSource, MetricsWindow, ServicesPort, StackPort, TrafficPort, UpdateFailed } from "./ports";
import { DEFAULT_SCHEDULE, RolloutSchedule } from "./schedule";

/** How one version behaves: 5xx fraction and p99, given the canary weight at the time. */
interface Behaviour {
    errorRate: number;
    p99Ms: number;
}

export interface Scenario {
    name: string;
    description: string;
    /** Requests per second across both versions. */
    totalRps: number;
    /** The canary's behaviour at a weight; stable always behaves like `STABLE`. */
    canary: (weight: number) => Behaviour;
    /** `pulumi up` to this weight fails. */
    failUpAt?: number;
    /** The outcome the scenario is meant to end in. */
    expected: RolloutResult["outcome"];
}

const STABLE: Behaviour = { errorRate: 0.002, p99Ms: 8000 };
const HEALTHY: Behaviour = { errorRate: 0.003, p99Ms: 8500 };

export const SCENARIOS: Scenario[] = [
    { name: "healthy", description: "a good canary: promoted", totalRps: 20, canary: () => HEALTHY, expected: "promoted" },
    {
        name: "error-spike",
        description: "the canary fails 15% of requests from 25% weight on (load-dependent bug)",
        totalRps: 20,
        canary: (w) => (w >= 25 ? { errorRate: 0.15, p99Ms: 8500 } : HEALTHY),
        expected: "rolled-back",
    },
    {
        name: "latency-regression",
        description: "the canary answers correctly but 70% slower",
        totalRps: 20,
        canary: () => ({ errorRate: 0.002, p99Ms: 13600 }),
        expected: "rolled-back",
    },
    {
        name: "low-traffic",
        description: "almost no traffic: the engine waits, then holds (rollout.onLowTraffic)",
        totalRps: 0.02,
        canary: () => HEALTHY,
        expected: "held",
    },
    { name: "failed-up", description: "`pulumi up` fails at the 25% step", totalRps: 20, canary: () => HEALTHY, failUpAt: 25, expected: "rolled-back" },
];

/** The simulation runs the default schedule, so what it shows is what a stack gets unless it says otherwise. */
export const SIMULATION_SCHEDULE: RolloutSchedule = DEFAULT_SCHEDULE;

/** Time only moves when the engine sleeps (or a simulated update takes time). */
export class VirtualClock implements Clock {
    constructor(private t = Date.UTC(2026, 10, 26, 9, 0, 0)) {}
    now(): number {
        return this.t;
    }
    async sleep(ms: number, signal?: AbortSignal): Promise<void> {
        if (!signal?.aborted) this.t += ms;
    }
}

/**
 * An in-memory stack, its services and its traffic layer: the weight timeline is what
 * the metrics are drawn from. Updates take time, as real ones do.
 */
export class SimulatedStack implements StackPort, ServicesPort, TrafficPort {
    /** [time, weight] from the start; the weight in force at t is the last entry at or before t. */
    readonly weights: [number, number][];
    private state: DeployedState;
    private revision = 1;

    constructor(private readonly clock: VirtualClock, private readonly scenario: Scenario) {
        const version = (fingerprint: string) => ({ fingerprint, taskDefinitionArn: `arn:aws:ecs:::task-definition/sim:${this.revision++}` });
        this.state = { canaryWeight: 0, versions: { stable: version("llm:1.4.0"), canary: version("llm:1.5.0") } };
        this.weights = [[clock.now(), 0]];
    }

    async deployed(): Promise<DeployedState> {
        return structuredClone(this.state);
    }

    async intended(): Promise<IntendedState> {
        const { stable, canary } = this.state.versions;
        return { canaryWeight: this.state.canaryWeight, fingerprints: { stable: stable.fingerprint, canary: canary.fingerprint } };
    }

    async setWeight(weight: number): Promise<DeployedState> {
        await this.clock.sleep(45_000); // a weight-only update touches one resource
        if (weight === this.scenario.failUpAt) throw new UpdateFailed(`simulated: updating the route to ${weight}% failed`);
        this.state.canaryWeight = weight;
        this.weights.push([this.clock.now(), weight]);
        return this.deployed();
    }

    async deployCanary(): Promise<DeployedState> {
        return this.deployed();
    }

    async promote(): Promise<DeployedState> {
        await this.clock.sleep(60_000);
        this.state.versions.stable = { fingerprint: this.state.versions.canary.fingerprint, taskDefinitionArn: `arn:aws:ecs:::task-definition/sim:${this.revision++}` };
        return this.deployed();
    }

    async waitRunning(): Promise<void> {
        await this.clock.sleep(300_000); // model load
    }

    async canaryWeight(): Promise<number> {
        return this.state.canaryWeight;
    }

    weightAt(t: number): number {
        let w = this.weights[0][1];
        for (const [at, weight] of this.weights) if (at <= t) w = weight;
        return w;
    }
}

/** Deterministic synthetic metrics: each version's share of traffic times its behaviour. */
export class SyntheticMetrics implements MetricsSource {
    constructor(private readonly stack: SimulatedStack, private readonly scenario: Scenario) {}

    async sample(window: MetricsWindow): Promise<MetricsSample> {
        const totals = { stable: { requests: 0, errors: 0, p99: 0 }, canary: { requests: 0, errors: 0, p99: 0 } };
        // Integrate second by second, since the weight may change inside the window.
        for (let t = window.start; t < window.end; t += 1000) {
            const w = this.stack.weightAt(t);
            for (const [version, share, b] of [
                ["stable", (100 - w) / 100, STABLE],
                ["canary", w / 100, this.scenario.canary(w)],
            ] as const) {
                const requests = this.scenario.totalRps * share;
                totals[version].requests += requests;
                totals[version].errors += requests * b.errorRate;
                if (requests > 0) totals[version].p99 = Math.max(totals[version].p99, b.p99Ms);
            }
        }
        const version = (v: { requests: number; errors: number; p99: number }) => ({
            requests: Math.floor(v.requests),
            errors: Math.floor(v.errors),
            p99Ms: v.requests >= 1 ? v.p99 : undefined,
        });
        return { window, versions: { stable: version(totals.stable), canary: version(totals.canary) }, firingAlarms: [] };
    }
}

export interface SimulationResult {
    scenario: Scenario;
    result: RolloutResult;
    /** From the start of the rollout to its outcome, in virtual time. */
    timeToDecisionMs: number;
    /** Requests the canary served while it was misbehaving. */
    badCanaryRequests: number;
    /** From the first bad request to traffic leaving the canary, or undefined if it never went bad. */
    exposureMs?: number;
}

const isBad = (b: Behaviour) => b.errorRate > HEALTHY.errorRate * 2 || b.p99Ms > HEALTHY.p99Ms * 1.2;

export async function simulate(scenario: Scenario, schedule: RolloutSchedule = SIMULATION_SCHEDULE, log: (line: string) => void = () => {}): Promise<SimulationResult> {
    const clock = new VirtualClock();
    const stack = new SimulatedStack(clock, scenario);
    const result = await runRollout({ schedule, stack, services: stack, traffic: stack, metrics: new SyntheticMetrics(stack, scenario), clock, log });

    let badCanaryRequests = 0;
    let badSince: number | undefined;
    let exposureEnd: number | undefined;
    for (let t = result.startedAt; t < result.endedAt; t += 1000) {
        const w = stack.weightAt(t);
        if (w > 0 && isBad(scenario.canary(w))) {
            badCanaryRequests += (scenario.totalRps * w) / 100;
            badSince ??= t;
            exposureEnd = t + 1000;
        }
    }
    return {
        scenario,
        result,
        timeToDecisionMs: result.endedAt - result.startedAt,
        badCanaryRequests: Math.round(badCanaryRequests),
        exposureMs: badSince !== undefined ? exposureEnd! - badSince : undefined,
    };
}

export function summaryLine(s: SimulationResult): string {
    const min = (ms: number) => `${(ms / 60000).toFixed(1)} min`;
    return (
        `${s.scenario.name.padEnd(19)} ${s.result.outcome.padEnd(12)} decided after ${min(s.timeToDecisionMs).padStart(9)}; ` +
        `bad canary served ${String(s.badCanaryRequests).padStart(5)} requests` +
        (s.exposureMs !== undefined ? ` over ${min(s.exposureMs)}` : "") +
        ` | ${s.result.reason}`
    );
}
