/** Loading a stack's config in a test: the fewest keys the program requires, and what a refusal names. */
import { ConfigError } from "../../mesh/config/errors";
import { CanaryConfig, loadConfig } from "../../mesh/config/schema";

const IMAGES = { trafficBackend: "appmesh", stable: { image: "repo/llm:1.0" }, canary: { image: "repo/llm:1.1" } };

/** `raw` on top of the required backend and images; a key set to undefined is removed. */
export const load = (raw: Record<string, unknown>): CanaryConfig => {
    const config: Record<string, unknown> = { ...IMAGES, ...raw };
    for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
    return loadConfig(config);
};

/** The refusal of `raw`; fails the test when it was accepted. */
export function refusal(raw: Record<string, unknown>): ConfigError {
    try {
        load(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error(`config was accepted: ${JSON.stringify(raw)}`);
}
