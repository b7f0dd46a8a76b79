/**
 * Runs the real program (`index.ts`) under the engine-like mocks with a given stack
 * config, and returns every registered resource once all registrations have settled.
 * The program is the function `index.ts` exports, which Pulumi calls; the harness calls
 * it the same way, so each run costs only its registrations, not a reload of the SDK.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { EngineLikeMocks, Registered } from "./mocks";
import { PLATFORM_PROJECT, PROJECT } from "../../contract/outputs";
import { stackConfig } from "./stacks";
import program = require("../../index");
import platformProgram = require("../../platform/index");

const STACK = "test";
/** The organization the committed service stacks name their platform in (the default of a self-managed backend). */
const ORGANIZATION = "organization";

/**
 * The mock monitor's URNs carry only the parent's own type; the engine's carry the whole
 * chain of parent types (`a:A$b:B$aws:x:Y::name`), which is what `pulumi up` compares
 * and what a resource's `urn` output holds. This monitor answers with the engine's URN.
 */
class EngineUrnMonitor extends MockMonitor {
    constructor(
        mocks: EngineLikeMocks,
        private readonly stack: string,
        private readonly project: string,
    ) {
        super(mocks);
    }

    /** URN to its qualified type (the parent chain and the type). */
    private readonly qualified = new Map<string, string>();
    /** The engine's URN to the mock's, under which the mock keeps the resource. */
    private readonly mockUrns = new Map<string, string>();
    readonly urns: string[] = [];
    /** Every registration with its parent, as the engine's events report them. */
    readonly registrations: Registration[] = [];

    override async registerResource(req: any, callback: (err: any, response: any) => void): Promise<void> {
        const parent = this.qualified.get(req.getParent());
        const type = parent ? `${parent}$${req.getType()}` : req.getType();
        const urn = `urn:pulumi:${this.stack}::${this.project}::${type}::${req.getName()}`;
        return super.registerResource(req, (err, response) => {
            if (response) {
                this.qualified.set(urn, type);
                this.mockUrns.set(urn, response.getUrn());
                this.urns.push(urn);
                this.registrations.push({ urn, parent: req.getParent() || undefined, type: req.getType(), name: req.getName(), custom: req.getCustom() });
                response.setUrn(urn);
            }
            callback(err, response);
        });
    }

    override registerResourceOutputs(req: any, callback: (err: any, response: any) => void): void {
        req.setUrn(this.mockUrns.get(req.getUrn()) ?? req.getUrn());
        super.registerResourceOutputs(req, callback);
    }
}

export interface Registration {
    urn: string;
    parent?: string;
    type: string;
    name: string;
    custom: boolean;
}

export interface Graph {
    resources: Registered[];
    /** Every resource and component in registration order, with its engine URN and parent. */
    registrations: Registration[];
    /** The engine's URN of every resource and component, sorted. */
    urns: string[];
    /** The program's stack outputs, resolved (empty in a preview, where they are unknown). */
    outputs: Record<string, unknown>;
    /** Data-source calls the program made. */
    calls: { token: string; inputs: Record<string, any> }[];
    /** What the program told the user with `pulumi.log.warn`, as `pulumi preview` prints it. */
    warnings: string[];
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

/** Resolves every output inside `declared`; undefined when any is unknown (a preview). */
function resolve<T>(declared: T): Promise<pulumi.Unwrap<T> | undefined> {
    const output = pulumi.output(declared);
    return new Promise((done) => {
        // `apply` never runs on an unknown value, so unknowns are found first.
        (output as unknown as { isKnown: Promise<boolean> }).isKnown.then((known) => (known ? output.apply(done) : done(undefined)));
    });
}

export interface ProgramRun {
    graph: Graph;
    /** What the program threw at start, if anything. */
    error?: Error;
}

export interface RunOptions {
    /** Run as `pulumi preview` of a new stack: ids, ARNs and computed outputs are unknown. */
    preview?: boolean;
    /** What to run in place of `index.ts` (the platform's program, with `project`). */
    program?: () => unknown;
    /** The Pulumi project the program is run as (default the service program's). */
    project?: string;
    /** What each `StackReference` answers, by name: the referenced stack's outputs. */
    stackReferences?: Record<string, Record<string, unknown>>;
    /** The stack's name (default "test"): it appears in URNs and in names the program derives from it. */
    stack?: string;
    /** Keys set with `pulumi config set --secret`. */
    secretKeys?: string[];
}

/**
 * Runs `index.ts` with `config` (keys without the project prefix, values as `pulumi config set` stores them).
 * A program under mocks renders the same graph for the same config every time, so a test
 * file renders each config once; tests read the graphs they are handed, never change them.
 */
export function runProgram(config: Record<string, string>, options: RunOptions = {}): Promise<ProgramRun> {
    const program = options.program === platformProgram ? "platform" : options.program ? String(options.program) : "service";
    const key = JSON.stringify([config, { ...options, program }]);
    let rendered = renders.get(key);
    if (!rendered) renders.set(key, (rendered = render(config, options)));
    return rendered;
}
const renders = new Map<string, Promise<ProgramRun>>();

async function render(config: Record<string, string>, options: RunOptions): Promise<ProgramRun> {
    // The SDK captures a stack trace for every promise and resource (for the engine's source
    // positions, which the mocks ignore), and under jest each is source-mapped: that was most
    // of a run's time. None is needed while the program runs; tests' own traces keep theirs.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
        return await run(config, options);
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
    }
}

/**
 * What a service's `StackReference` to its platform answers: the committed platform stack
 * (`platform/Pulumi.<stack>.yaml`) rendered as `pulumi up` would deploy it.
 */
export async function platformReferences(reference: string): Promise<Record<string, Record<string, unknown>>> {
    const stack = reference.split("/").pop()!;
    const run = await runProgram(stackConfig(stack, PLATFORM_PROJECT), { program: platformProgram, project: PLATFORM_PROJECT, stack });
    if (run.error) throw run.error;
    return { [reference]: run.graph.outputs };
}

async function run(config: Record<string, string>, options: RunOptions): Promise<ProgramRun> {
    const platform = config.platform ?? config[`${PROJECT}:platform`];
    const stackReferences = options.stackReferences ?? (platform ? await platformReferences(platform) : undefined);
    const mocks = new EngineLikeMocks(options.preview, stackReferences);
    const stack = options.stack ?? STACK;
    const project = options.project ?? PROJECT;
    await pulumi.runtime.setMocks(mocks, project, stack, options.preview, ORGANIZATION);
    const monitor = new EngineUrnMonitor(mocks, stack, project);
    pulumi.runtime.setMockOptions(monitor, project, stack, options.preview, ORGANIZATION);
    const qualified = (k: string) => (k.includes(":") ? k : `${project}:${k}`);
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [qualified(k), v])), (options.secretKeys ?? []).map(qualified));
    let declared: unknown;
    let error: Error | undefined;
    // Without an engine the SDK prints warnings to the console; the graph keeps them for the tests to read.
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as { warn: typeof warn }).warn = async (message) => void warnings.push(message);
    try {
        declared = await (options.program ?? program)();
    } catch (e) {
        error = e as Error;
    } finally {
        (pulumi.log as { warn: typeof warn }).warn = warn;
    }
    const outputs = declared ? ((await resolve(declared)) ?? {}) : {};
    // Waits for every outstanding registration, then lets go of the monitor.
    await pulumi.runtime.disconnect();
    const resources = mocks.registered;
    const ofType = (type: string) => resources.filter((r) => r.type === type);
    const graph: Graph = {
        resources,
        registrations: monitor.registrations,
        urns: [...monitor.urns].sort(),
        outputs: outputs as Record<string, unknown>,
        calls: mocks.calls,
        warnings,
        ofType,
        one(type, nameEndsWith = "") {
            const found = ofType(type).filter((r) => r.name.endsWith(nameEndsWith));
            if (found.length !== 1) {
                throw new Error(`expected one ${type} named *${nameEndsWith}, found ${found.map((r) => r.name).join(", ") || "none"}`);
            }
            return found[0];
        },
    };
    return { graph, error };
}

/** Runs the program and fails the test with the program's own message if it threw. */
export async function deploy(config: Record<string, string>, options: RunOptions = {}): Promise<Graph> {
    const run = await runProgram(config, options);
    if (run.error) throw run.error;
    return run.graph;
}

/** Every security group's and rule's description a graph declares, as EC2 would receive them. */
export function securityGroupDescriptions(g: Graph): string[] {
    return g
        .ofType("aws:ec2/securityGroup:SecurityGroup")
        .flatMap((sg) => [
            sg.inputs.description,
            ...[...(sg.inputs.ingress ?? []), ...(sg.inputs.egress ?? [])].map((r: { description?: string }) => r.description),
        ])
        .filter((text): text is string => text !== undefined);
}
