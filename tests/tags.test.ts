/**
 * Every taggable resource says which service and stack it serves: the list of taggable
 * types is held to the provider SDK's own types, and every committed stack's resources
 * are checked for the tags.
 */
import * as fs from "fs";
import * as path from "path";
import { deploy, Graph } from "./harness/program";
import { BASE_CONFIG, stackConfig, STACKS } from "./harness/stacks";
import { isTaggable, LEFT_UNTAGGED } from "../mesh/tags";
import { loadConfig } from "../mesh/config/schema";

/** Whether the SDK's `<Kind>Args` for a type token declares a `tags` map. */
function sdkTakesTagMap(type: string): boolean {
    const [pkg, module, kind] = type.split(":");
    const [folder, file = kind[0].toLowerCase() + kind.slice(1)] = module.split("/");
    const text = fs.readFileSync(path.join(__dirname, "..", "node_modules", "@pulumi", pkg, folder, `${file}.d.ts`), "utf8");
    const args = new RegExp(`export interface ${kind}Args \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? "";
    return /\n {4}tags\?: pulumi\.Input<\{\s*\[key: string\]: pulumi\.Input<string>;/.test(args);
}

const FEATURES: Record<string, Record<string, string>> = {
    "alb with access logs": { ...BASE_CONFIG, trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["10.0.0.0/8"], accessLogs: true }) },
    "lattice with AWS_IAM": {
        ...BASE_CONFIG,
        trafficBackend: "lattice",
        lattice: JSON.stringify({ authType: "AWS_IAM", allowedPrincipals: ["arn:aws:iam::123456789012:role/caller"] }),
    },
};

/** Each stack's graph, and the service its config names. */
const graphs: [string, Graph][] = [];
beforeAll(async () => {
    const configs = [...STACKS.map((s) => stackConfig(s)), ...Object.values(FEATURES)];
    for (const config of configs) graphs.push([loadConfig(config).serviceName, await deploy(config)]);
});

test("the program's list of taggable types is the SDK's, for every type a stack declares", () => {
    const types = new Set(graphs.flatMap(([, g]) => g.resources.map((r) => r.type)).filter((t) => /^(aws|awsx):/.test(t)));
    const disagree = [...types].filter((t) => isTaggable(t) !== (sdkTakesTagMap(t) && !LEFT_UNTAGGED.has(t)));
    expect(disagree).toEqual([]);
    expect(types.size).toBeGreaterThan(40);
});

test("every taggable resource of every stack names its service and its stack; a version's own resources name the version", () => {
    for (const [service, g] of graphs) {
        const untagged = g.resources
            .filter((r) => isTaggable(r.type))
            .filter((r) => r.inputs.tags?.["ai-canary:service"] !== service || r.inputs.tags?.["ai-canary:stack"] !== "test")
            .map((r) => `${r.type}::${r.name}`);
        expect(untagged).toEqual([]);
        for (const version of ["stable", "canary"]) {
            expect(g.one("aws:ecs/service:Service", `-${version}`).inputs.tags).toMatchObject({ "ai-canary:version": version });
        }
    }
});
