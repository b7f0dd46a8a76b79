/** Reads a committed stack file the way Pulumi hands it to the program. */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PROJECT } from "../../contract/outputs";

/** The repository. */
export const ROOT = path.join(__dirname, "..", "..");

/** Every committed stack file of the service program, found rather than listed (the rag-* ones are on the `rag` platform). */
export const STACKS = fs.readdirSync(ROOT).flatMap((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? []);
/** The standalone ones, whose resources must never move. */
export const STANDALONE_STACKS = STACKS.filter((stack) => stackConfig(stack).platform === undefined);

/**
 * The `<project>:` keys of `Pulumi.<stack>.yaml`, without the prefix. Pulumi passes plain
 * values as strings and structured values as JSON text, so this does the same. A platform
 * stack's file is in `platform/`, under its own project's keys.
 */
export function stackConfig(stack: string, project = PROJECT): Record<string, string> {
    const file = path.join(ROOT, ...(project === PROJECT ? [] : ["platform"]), `Pulumi.${stack}.yaml`);
    const doc = yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config)) {
        if (!key.startsWith(`${project}:`)) continue;
        out[key.slice(project.length + 1)] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    return out;
}

/** Minimal valid config: everything else takes its default (on App Mesh, the backend most graph tests were written on). */
export const BASE_CONFIG: Record<string, string> = {
    trafficBackend: "appmesh",
    canaryWeight: "10",
    stable: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.4.0" }),
    canary: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.5.0" }),
};
