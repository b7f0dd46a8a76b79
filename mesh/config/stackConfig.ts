/**
 * A stack's config as Pulumi holds it, every namespace at once (`aws:region`,
 * `ai-inference-canary:port`), read the way the program reads it: the project's own keys
 * without their prefix, validated with every problem named in one error, a key under a
 * near miss of the project's namespace among them. The program and `rollout check` both
 * read a stack through here, so a stack file passes the check exactly when the program
 * would accept it.
 */
import { ConfigError } from "./errors";
import { CanaryConfig, loadConfig, namespaceProblems } from "./schema";

/** The keys of `project`'s namespace, without the `<project>:` prefix. */
export function projectKeys<T>(all: Record<string, T>, project: string): Record<string, T> {
    const prefix = `${project}:`;
    return Object.fromEntries(Object.entries(all).flatMap(([key, value]) => (key.startsWith(prefix) ? [[key.slice(prefix.length), value]] : [])));
}

/**
 * Validates a service stack's whole config; `secretKeys` are the project's keys (without
 * the prefix) set with `--secret`. Throws one `ConfigError` naming every problem.
 */
export function loadStackConfig(all: Record<string, unknown>, project: string, secretKeys: string[] = []): CanaryConfig {
    const misplaced = namespaceProblems(Object.keys(all), project);
    let config: CanaryConfig;
    try {
        config = loadConfig(projectKeys(all, project), secretKeys);
    } catch (e) {
        if (e instanceof ConfigError) throw new ConfigError([...misplaced, ...e.problems]);
        throw e;
    }
    if (misplaced.length > 0) throw new ConfigError(misplaced);
    return config;
}
