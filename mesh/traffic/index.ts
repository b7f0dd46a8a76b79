/**
 * The one place that lists the traffic backends the program declares, keyed by the names in
 * `contract/backends.ts` (the rollout's weight readers are keyed by the same): everything
 * else talks to the `TrafficBackendKind` it returns. Adding a backend is a folder here, a
 * reader there, and a line in each list.
 */
import { CanaryConfig } from "../config/schema";
import { TrafficBackendName } from "../../contract/backends";
import { TrafficBackendKind } from "./backend";
import { appMeshBackend } from "./appmesh/traffic";
import { latticeBackend } from "./lattice/traffic";
import { albBackend } from "./alb/traffic";

export const TRAFFIC_BACKEND_KINDS: { [B in TrafficBackendName]: (config: Extract<CanaryConfig, { trafficBackend: B }>) => TrafficBackendKind } = {
    appmesh: appMeshBackend,
    lattice: latticeBackend,
    alb: albBackend,
};

export function trafficBackendFor(config: CanaryConfig): TrafficBackendKind {
    return (TRAFFIC_BACKEND_KINDS[config.trafficBackend] as (config: CanaryConfig) => TrafficBackendKind)(config);
}
