/**
 * The one place that lists the traffic backends' resources, keyed by the names in
 * `contract/backends.ts`: everything else talks to the `TrafficBackendKind` it returns. Their
 * config is listed in `mesh/config/backends.ts` (kept apart so that reading a stack's config
 * loads no Pulumi provider) and the rollout's weight readers in `rollout/adapters/weights/`;
 * a test holds the three lists to the same names. Adding a backend is a folder here (its
 * `config.ts` and `traffic.ts`), its outputs in `contract/outputs.ts`, a reader there, and a
 * line in each list.
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
