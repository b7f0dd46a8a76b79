/**
 * The stand-ins' shared world, in files under `STANDIN_STATE_DIR`: what the stand-in
 * `pulumi` deployed per stack (resources, outputs, history), what that means in AWS (the
 * split's timeline, each ECS service's deployments), the traffic the stand-in CloudWatch
 * reports, and the faults a test injects. Both stand-ins read the clock the CLI reads.
 */
import * as fs from "fs";
import * as path from "path";
import { systemClock } from "../../../rollout/core/ports";

export const stateDir = () => {
    const dir = process.env.STANDIN_STATE_DIR;
    if (!dir) throw new Error("STANDIN_STATE_DIR is not set");
    return dir;
};

/** The clock every process of a test shares (the CLI reads the same variables). */
export const clock = () => systemClock(Number(process.env.ROLLOUT_TIME_SCALE ?? 1), Number(process.env.ROLLOUT_TIME_ORIGIN ?? Date.now()));

export interface DeployedResource {
    urn: string;
    parent?: string;
    type: string;
    name: string;
    custom: boolean;
    /** The provider's id, as references to the resource carry it. */
    id?: string;
    inputs: Record<string, unknown>;
    state: Record<string, unknown>;
}

export interface EcsDeployment {
    taskDefinition: string;
    image: string;
    /** Virtual time the update gave the service this revision. */
    at: number;
}

export interface StackState {
    outputs: Record<string, unknown>;
    resources: DeployedResource[];
    /** Virtual times at which the canary's share changed at the traffic layer, and the ALB's stickiness then (seconds, when on). */
    split: { at: number; canaryWeight: number; stickySeconds?: number }[];
    /** Per ECS service name, the revisions it was given, oldest first. */
    deployments: Record<string, EcsDeployment[]>;
    /** Per ECS service name, the minimum task counts its scalable target was given, oldest first. */
    capacity?: Record<string, { at: number; minCount: number }[]>;
    history: { version: number; kind: string; result: string; startTime: string; endTime: string; resourceChanges: Record<string, number> }[];
}

/** One version's answers: its 5xx share, its p99, and the share of requests slower than any `TC(x:)` asks about; and its model server's, where a test looks at them. */
export interface Behaviour {
    errorRate: number;
    p99Ms: number;
    slowRate: number;
    server?: ServerBehaviour;
    /** The application's counts that are a share of its answers (an event gate's events), by metric name; any other it publishes counts the answers. */
    events?: Record<string, number>;
}

/** What a version's server does: its mean time to first token (slower from a moment on), the shares the counts above a bound and the cut-off answers read, and its tokens per answer. */
export interface ServerBehaviour {
    ttftSeconds: number;
    slowerFrom?: { at: number; ttftSeconds: number };
    /** The share of requests whose time to first token is above the stack's `countAbove` bound. */
    aboveBoundShare: number;
    /** The share of answers cut off at `max_tokens`. */
    cutOffShare: number;
    tokensPerAnswer: number;
}

/** What the stand-in CloudWatch reports, per version: traffic shares follow the split. */
export interface Traffic {
    requestsPerSecond: number;
    /** How long after a minute closes its data becomes visible, as CloudWatch's ingestion delay. */
    delaySeconds: number;
    stable: Behaviour;
    canary: Behaviour;
    /** Callers' stacks and the stacks they call: a caller's request also fails when its call does (each callee's own split and behaviour). */
    callers?: Record<string, string[]>;
    /** Virtual time at which the model server of each version's first task restarts under its running collector. */
    serverRestartAt?: number;
}

/** What a test makes go wrong. */
export interface Faults {
    /** An update fails when it would change this resource (by logical name), with AWS's message; only at `whenWeight`, if given. */
    failUpdateOf?: { resource: string; message: string; whenWeight?: number };
    /** Real milliseconds each changed resource takes to apply: room to interrupt an update. */
    applyDelayMs?: number;
    /** ECS's circuit breaker rolls back a deployment of these images. */
    failingImages?: string[];
    /** The most tasks of one service ECS can place (instances it can get); the rest wait in PROVISIONING. */
    capacityTasks?: number;
    /** Virtual seconds a new revision takes to become COMPLETED (model load). */
    loadSeconds?: number;
    /** The evaluation task's exit code (default 0), and how many virtual seconds it runs (default 300). */
    evaluationExitCode?: number;
    evaluationSeconds?: number;
}

const file = (name: string) => path.join(stateDir(), name);

export function readJson<T>(name: string, fallback: T): T {
    try {
        return JSON.parse(fs.readFileSync(file(name), "utf8")) as T;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return fallback;
        throw e;
    }
}

/** Written whole and renamed into place, so a reader never sees half a file. */
export function writeJson(name: string, value: unknown): void {
    const tmp = file(`${name}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(value, null, 1));
    fs.renameSync(tmp, file(name));
}

export const readStack = (stack: string) => readJson<StackState | undefined>(`stack-${stack}.json`, undefined);
export const writeStack = (stack: string, state: StackState) => writeJson(`stack-${stack}.json`, state);
export const readFaults = () => readJson<Faults>("faults.json", {});
export const readTraffic = () =>
    readJson<Traffic>("traffic.json", {
        requestsPerSecond: 20,
        delaySeconds: 60,
        stable: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01 },
        canary: { errorRate: 0.002, p99Ms: 8200, slowRate: 0.01 },
    });

/** The canary's share at virtual time `t`. */
export function weightAt(state: StackState, t: number): number {
    let weight = 0;
    for (const change of state.split) if (change.at <= t) weight = change.canaryWeight;
    return weight;
}

/** What a client of the stand-in load balancer keeps between requests: the `AWSALBTG` cookie, when it was given one. */
export interface AlbClient {
    cookie?: { version: "stable" | "canary"; until: number };
}

/**
 * Where the stand-in Application Load Balancer sends one request of `client` at virtual
 * time `t` (`draw` uniform in [0, 1) picks by weight). With target-group stickiness on in
 * the forward action, a request whose cookie has not expired goes to the cookie's group
 * whatever the weights, as an AWS expert's answer on re:Post says of weight 0 (the ELB
 * guide does not say otherwise; `rollout-facts.md`), and the answer sets the cookie for
 * the configured duration (ELB API, `TargetGroupStickinessConfig.DurationSeconds`). With
 * stickiness off, the cookie is ignored and requests follow the weights.
 */
export function albRoute(state: StackState, t: number, client: AlbClient, draw: number): "stable" | "canary" {
    let current: StackState["split"][number] = { at: 0, canaryWeight: 0 };
    for (const change of state.split) if (change.at <= t) current = change;
    if (current.stickySeconds === undefined) return draw * 100 < current.canaryWeight ? "canary" : "stable";
    const version = client.cookie && client.cookie.until > t ? client.cookie.version : draw * 100 < current.canaryWeight ? "canary" : "stable";
    client.cookie = { version, until: t + current.stickySeconds * 1000 };
    return version;
}

/** Every stack the stand-in pulumi deployed, by name. */
export function named(): [string, StackState][] {
    return fs
        .readdirSync(stateDir())
        .filter((f) => /^stack-.*\.json$/.test(f))
        .map((f): [string, StackState | undefined] => [f.slice(6, -5), readStack(f.slice(6, -5))])
        .filter((e): e is [string, StackState] => e[1] !== undefined);
}
