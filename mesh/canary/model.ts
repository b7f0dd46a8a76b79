/**
 * The canary as plain data, independent of the traffic backend that renders it: which
 * versions exist and how traffic splits between them.
 */
import { CanaryConfig } from "../config/schema";
import { Version, VERSIONS } from "../../contract/versions";

export interface VersionModel {
    version: Version;
    /** Percent of unpinned requests this version receives. */
    weight: number;
}

export interface CanaryModel<C extends CanaryConfig = CanaryConfig> {
    config: C;
    /** Stable first, then canary; weights always sum to 100. */
    versions: VersionModel[];
}

/** The stable version takes whatever the canary does not, so the split always totals 100. */
export function splitWeights(canaryWeight: number): Record<Version, number> {
    if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) {
        throw new RangeError(`canaryWeight must be an integer from 0 to 100, got ${canaryWeight}`);
    }
    return { stable: 100 - canaryWeight, canary: canaryWeight };
}

export function canaryModel<C extends CanaryConfig>(config: C): CanaryModel<C> {
    const weights = splitWeights(config.canaryWeight);
    return { config, versions: VERSIONS.map((version) => ({ version, weight: weights[version] })) };
}
