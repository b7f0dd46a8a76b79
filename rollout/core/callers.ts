/**
 * A callee's rollout shows its callers: the 5xx of every service on the same platform
 * whose `calls` names this one, in the hour before the rollout and during each step,
 * beside the callee's own figures in the report. A hint for the person on call, never a
 * gate: a caller's 5xx have causes besides this callee, and its calls to a bad canary fail
 * only in the canary's share of them.
 */
import type { MetricsSource, MetricsWindow, MinuteSample } from "./ports";
import type { RolloutResult } from "./result";
import { MINUTE_MS, minuteOf } from "./minutes";
import { DEFAULT_SERVICE_NAME } from "../../contract/outputs";

/** A stack file's config as the program reads it: keys without the project prefix, structured values as JSON. */
export type RawConfig = Record<string, string>;

/** A span of whole minutes the report gives callers' 5xx for. */
export interface CallerWindow extends MetricsWindow {
    label: string;
}

/** A caller's requests and 5xx in one window, both of its versions together. */
export interface CallerCounts {
    requests: number;
    errors: number;
}

export interface CallerRow {
    stack: string;
    service: string;
    /** One per window; undefined where CloudWatch had no data. */
    counts: (CallerCounts | undefined)[];
}

export interface CallersHint {
    service: string;
    windows: CallerWindow[];
    callers: CallerRow[];
    /** Callers whose metrics could not be read, each with why. */
    unreadable: string[];
}

/** What finding and reading the callers needs from the world. */
export interface CallersPort {
    /** Every stack file of the project beside this one, by stack name. */
    stackConfigs(): Record<string, RawConfig>;
    /** A stack's metrics, from its outputs' `versionMetrics`. */
    metricsOf(stack: string): Promise<MetricsSource>;
}

const HOUR_MS = 60 * MINUTE_MS;

/** A list value as the program reads it: a JSON array of names, or nothing. */
function listOf(value: string | undefined): string[] {
    if (value === undefined) return [];
    try {
        const parsed: unknown = JSON.parse(value);
        return Array.isArray(parsed) ? parsed.map(String) : [];
    } catch {
        return [];
    }
}

/** The serviceName a stack's config gives (the schema's default when unset). */
export const serviceNameOf = (config: RawConfig) => config.serviceName ?? DEFAULT_SERVICE_NAME;

/** The stacks on `platform` whose `calls` name `service`, by stack name, with their own service names. */
export function callersOf(platform: string, service: string, stacks: Record<string, RawConfig>): { stack: string; service: string }[] {
    return Object.entries(stacks)
        .filter(([, config]) => config.platform === platform && listOf(config.calls).includes(service))
        .map(([stack, config]) => ({ stack, service: serviceNameOf(config) }))
        .sort((a, b) => a.stack.localeCompare(b.stack));
}

/**
 * The hour before the rollout, then each step: whole minutes, each counted in the window
 * it began in, so no minute is counted twice and a step shorter than a minute has none.
 */
export function callerWindows(result: Pick<RolloutResult, "startedAt" | "endedAt" | "steps">): CallerWindow[] {
    const start = minuteOf(result.startedAt);
    return [
        { label: "the hour before", start: start - HOUR_MS, end: start },
        ...result.steps.map((step) => ({
            label: `step ${step.index || "resumed"} (${step.weight}%)`,
            start: minuteOf(step.startedAt),
            end: minuteOf(step.endedAt ?? result.endedAt),
        })),
    ];
}

/** Both versions' requests and 5xx summed over each window's minutes; undefined for a window without data. */
export function countWindows(minutes: MinuteSample[], windows: MetricsWindow[]): (CallerCounts | undefined)[] {
    return windows.map((w) => {
        const within = minutes.filter((m) => m.start >= w.start && m.start < w.end);
        const buckets = within.flatMap((m) => [m.versions.stable, m.versions.canary]).filter((v) => v !== undefined);
        if (buckets.length === 0) return undefined;
        return { requests: buckets.reduce((n, v) => n + v.requests, 0), errors: buckets.reduce((n, v) => n + v.errors, 0) };
    });
}

/** Finds this service's callers on its platform and reads their 5xx over the rollout; a caller that cannot be read is named, never fatal. */
export async function readCallers(
    self: { platform: string; service: string; stack: string },
    result: Pick<RolloutResult, "startedAt" | "endedAt" | "steps">,
    port: CallersPort,
): Promise<CallersHint> {
    const others = Object.fromEntries(Object.entries(port.stackConfigs()).filter(([stack]) => stack !== self.stack));
    const windows = callerWindows(result);
    const span = { start: windows[0].start, end: Math.max(...windows.map((w) => w.end)) };
    const callers: CallerRow[] = [];
    const unreadable: string[] = [];
    for (const caller of callersOf(self.platform, self.service, others)) {
        try {
            const minutes = await (await port.metricsOf(caller.stack)).minutes(span);
            callers.push({ ...caller, counts: countWindows(minutes, windows) });
        } catch (e) {
            unreadable.push(`${caller.stack}: ${(e as Error).message}`);
        }
    }
    return { service: self.service, windows, callers, unreadable };
}

const rate = (c: CallerCounts) => (c.requests > 0 ? `${((100 * c.errors) / c.requests).toFixed(2)}%` : "-");

/** A caller's 5xx in a window, as the report and the console give it: "0.40% (4/1000)". */
export const callerCell = (c: CallerCounts | undefined) => (c === undefined ? "no data" : `${rate(c)} (${c.errors}/${c.requests})`);

/** The console's lines after a rollout: each caller's 5xx during it against the hour before. */
export function callerLines(hint: CallersHint): string[] {
    if (hint.callers.length === 0 && hint.unreadable.length === 0) return [`callers: no stack file here on this platform calls ${hint.service}`];
    const during = (row: CallerRow) => {
        const steps = row.counts.slice(1).filter((c) => c !== undefined);
        return steps.length === 0 ? undefined : { requests: steps.reduce((n, c) => n + c.requests, 0), errors: steps.reduce((n, c) => n + c.errors, 0) };
    };
    return [
        ...hint.callers.map(
            (row) =>
                `caller ${row.stack} (${row.service}): 5xx ${callerCell(during(row))} during the rollout, ${callerCell(row.counts[0])} the hour before (a hint, not a gate)`,
        ),
        ...hint.unreadable.map((why) => `caller ${why} (its 5xx are left out of the report)`),
    ];
}
