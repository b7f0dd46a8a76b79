/**
 * Runs the real program (`index.ts`) under the engine-like mocks with a given stack
 * config, and returns every registered resource once all registrations have settled.
 */
import * as pulumi from "@pulumi/pulumi";
import { EngineLikeMocks, Registered } from "./mocks";
import { loadConfig } from "../../mesh/config";
import { InferenceCanary } from "../../mesh/canary";

// The engine waits for this queue before it ends a run; the SDK marks it internal, so it
// has no typings, but nothing else tells a test that every registration has landed.
const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

export const PROJECT = "ai-inference-canary";

export interface Graph {
    resources: Registered[];
    /** The program's stack outputs, resolved. */
    outputs: Record<string, unknown>;
    /** Data-source calls the program made. */
    calls: { token: string; inputs: Record<string, any> }[];
    /** Resources of one type (custom resources only), in registration order. */
    ofType(type: string): Registered[];
    /** The single resource of `type`, optionally narrowed by a logical-name suffix; throws unless exactly one matches. */
    one(type: string, nameEndsWith?: string): Registered;
}

/**
 * `type::name` of every resource whose inputs differ between two runs of the program,
 * as `pulumi preview` would list the updates. Throws if a resource appears or vanishes.
 */
export function changedBetween(before: Graph, after: Graph): string[] {
    const key = (r: Registered) => `${r.type}::${r.name}`;
    const earlier = new Map(before.resources.map((r) => [key(r), r]));
    const keys = after.resources.map(key);
    if (keys.length !== earlier.size || keys.some((k) => !earlier.has(k))) {
        throw new Error(`the set of resources changed:\n${[...earlier.keys()].sort().join("\n")}\n---\n${[...keys].sort().join("\n")}`);
    }
    return after.resources
        .filter((r) => JSON.stringify(r.inputs) !== JSON.stringify(earlier.get(key(r))!.inputs))
        .map(key)
        .sort();
}

/** Minimal valid config: everything else takes its default. */
export const BASE_CONFIG: Record<string, string> = {
    canaryWeight: "10",
    stable: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.4.0" }),
    canary: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.5.0" }),
};

function graphOf(mocks: EngineLikeMocks, outputs: Record<string, unknown>): Graph {
    const resources = mocks.registered;
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    return {
        resources,
        outputs,
        calls: mocks.calls,
        ofType,
        one(type, nameEndsWith = "") {
            const found = ofType(type).filter((r) => r.name.endsWith(nameEndsWith));
            if (found.length !== 1) {
                throw new Error(`expected one ${type} named *${nameEndsWith}, found ${found.map((r) => r.name).join(", ") || "none"}`);
            }
            return found[0];
        },
    };
}

/** An output's value, or undefined when it is unknown (a preview), since `apply` never runs then. */
async function resolve<T>(value: pulumi.Output<T> | T): Promise<T | undefined> {
    if (!pulumi.Output.isInstance(value)) return value as T;
    const output = value as pulumi.Output<T> & { isKnown: Promise<boolean> };
    if (!(await output.isKnown)) return undefined;
    return new Promise((done) => output.apply(done));
}

export interface ProgramRun {
    graph: Graph;
    /** What the program threw at start, if anything. */
    error?: Error;
}

/** Runs `index.ts` with `config` (keys without the project prefix, values as `pulumi config set` stores them). */
export async function runProgram(config: Record<string, string>, options: { preview?: boolean } = {}): Promise<ProgramRun> {
    const mocks = new EngineLikeMocks(options.preview);
    await pulumi.runtime.setMocks(mocks, PROJECT, "test", options.preview);
    // Each run reloads the program's modules, and each load of the SDK adds process listeners.
    process.setMaxListeners(0);
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${PROJECT}:${k}`, v])),
    );
    let exported: Record<string, unknown> = {};
    let error: Error | undefined;
    jest.isolateModules(() => {
        try {
            exported = require("../../index");
        } catch (e) {
            error = e as Error;
        }
    });
    await waitForRPCs();
    const outputs: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(exported)) outputs[key] = await resolve(value as pulumi.Output<unknown>);
    await waitForRPCs();
    return { graph: graphOf(mocks, outputs), error };
}

/** Runs the program and fails the test with the program's own message if it threw. */
export async function deploy(config: Record<string, string>): Promise<Graph> {
    const run = await runProgram(config);
    if (run.error) throw run.error;
    return run.graph;
}

/**
 * Declares the same `InferenceCanary` that `index.ts` declares, from the same config
 * loader, without reloading the program's modules: the fast path for the many graph
 * tests that do not look at stack outputs.
 */
export async function declareCanary(config: Record<string, string>): Promise<Graph> {
    const mocks = new EngineLikeMocks();
    await pulumi.runtime.setMocks(mocks, PROJECT, "test", false);
    new InferenceCanary("inference", { config: loadConfig((key) => config[key]) });
    await waitForRPCs();
    return graphOf(mocks, {});
}
