/**
 * A service's view of its platform: the platform stack's outputs, read through a
 * `StackReference` before anything is declared and checked against the contract and
 * against the service's own config, so a service that cannot join fails with nothing
 * created, as bad config does.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/errors";
import { CanaryConfig } from "../config/schema";
import { joinProblems } from "../config/platformJoin";
import { parsePlatformOutputs, PLATFORM_OUTPUT_KEYS, PlatformOutputs } from "../../contract/outputs";

/** Reads the platform stack `org/project/stack` (it must have been deployed: its outputs are read, not planned). */
export async function readPlatform(stack: string): Promise<PlatformOutputs> {
    const reference = new pulumi.StackReference(stack, { name: stack });
    const entries = await Promise.all(PLATFORM_OUTPUT_KEYS.map(async (key) => [key, (await reference.getOutputDetails(key)).value] as const));
    return parsePlatformOutputs(Object.fromEntries(entries.filter(([, value]) => value !== undefined)), stack);
}

/** Reads the platform and throws one `ConfigError` if this service cannot join it. */
export async function joinPlatform(config: CanaryConfig & { platform: string }): Promise<PlatformOutputs> {
    const platform = await readPlatform(config.platform);
    const problems = joinProblems(config, platform);
    if (problems.length > 0) throw new ConfigError(problems);
    return platform;
}
