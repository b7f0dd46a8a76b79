/** Checks of a rendered graph's tags, shared by the tests of committed stacks and of feature paths. */
import * as fs from "fs";
import * as path from "path";
import { Graph } from "./program";
import { isTaggable, LEFT_UNTAGGED } from "../../mesh/tags";

/** Whether the SDK's `<Kind>Args` for a type token declares a `tags` map. */
function sdkTakesTagMap(type: string): boolean {
    const [pkg, module, kind] = type.split(":");
    const [folder, file = kind[0].toLowerCase() + kind.slice(1)] = module.split("/");
    const text = fs.readFileSync(path.join(__dirname, "..", "..", "node_modules", "@pulumi", pkg, folder, `${file}.d.ts`), "utf8");
    const args = new RegExp(`export interface ${kind}Args \\{([\\s\\S]*?)\\n\\}`).exec(text)?.[1] ?? "";
    return /\n {4}tags\?: pulumi\.Input<\{\s*\[key: string\]: pulumi\.Input<string>;/.test(args);
}

/** Holds a graph's taggable types to the SDK's, and every taggable resource to its service's and stack's tags. */
export function expectTagged(g: Graph, service: string): void {
    const types = new Set(g.resources.map((r) => r.type).filter((t) => /^(aws|awsx):/.test(t)));
    expect([...types].filter((t) => isTaggable(t) !== (sdkTakesTagMap(t) && !LEFT_UNTAGGED.has(t)))).toEqual([]);
    const untagged = g.resources
        .filter((r) => isTaggable(r.type))
        .filter((r) => r.inputs.tags?.["ai-canary:service"] !== service || r.inputs.tags?.["ai-canary:stack"] !== "test")
        .map((r) => `${r.type}::${r.name}`);
    expect(untagged).toEqual([]);
    for (const version of ["stable", "canary"]) {
        expect(g.one("aws:ecs/service:Service", `-${version}`).inputs.tags).toMatchObject({ "ai-canary:version": version });
    }
}
