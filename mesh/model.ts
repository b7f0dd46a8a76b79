/**
 * The canary as plain data, independent of the traffic backend that renders it:
 * which versions exist, how traffic splits between them, and the DNS name clients call.
 */
import { CanaryConfig, Version, VERSIONS } from "./config";

export interface VersionModel {
    version: Version;
    /** Percent of unpinned requests this version receives. */
    weight: number;
}

export interface CanaryModel {
    config: CanaryConfig;
    /** Fully qualified name clients call: `<serviceName>.<namespace>`. */
    serviceDnsName: string;
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

export function canaryModel(config: CanaryConfig): CanaryModel {
    const weights = splitWeights(config.canaryWeight);
    return {
        config,
        serviceDnsName: `${config.serviceName}.${config.namespace}`,
        versions: VERSIONS.map((version) => ({ version, weight: weights[version] })),
    };
}
