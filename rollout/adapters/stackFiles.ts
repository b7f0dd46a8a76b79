/**
 * Stack files (`Pulumi.<stack>.yaml`) read from disk as the Pulumi CLI would hand their
 * project config to the program, without the CLI: plain values as strings, structured ones
 * as JSON text, keys without the `<project>:` prefix.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { PROJECT } from "../../contract/outputs";
import { projectKeys } from "../../mesh/config/stackConfig";

/** A stack file's project config read from disk as the CLI would give it: structured values as JSON. */
export function stackFileConfig(file: string): Record<string, string> {
    const config = (yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | undefined)?.config ?? {};
    return projectKeys(Object.fromEntries(Object.entries(config).map(([key, v]) => [key, typeof v === "object" ? JSON.stringify(v) : String(v)])), PROJECT);
}

/** Every stack file in `workDir` (`Pulumi.<stack>.yaml`), by stack name. */
export function stackFileConfigs(workDir: string): Record<string, Record<string, string>> {
    const files = fs.readdirSync(workDir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
    return Object.fromEntries(files.map((f) => [f.slice("Pulumi.".length, -".yaml".length), stackFileConfig(path.join(workDir, f))]));
}
