/**
 * The one list of the traffic backends' config, keyed by the names in `contract/backends.ts`:
 * each backend's own section and the rules across its keys. The schema's members, its
 * transform and the configuration reference are built from it; the backends' resources are
 * listed in `mesh/traffic/index.ts`, and a test holds both lists and the rollout's weight
 * readers to the same names.
 */
import { TrafficBackendName } from "../../contract/backends";
import { appMeshConfig } from "../traffic/appmesh/config";
import { latticeConfig } from "../traffic/lattice/config";
import { albConfig } from "../traffic/alb/config";

export const BACKEND_CONFIGS = {
    appmesh: appMeshConfig,
    lattice: latticeConfig,
    alb: albConfig,
} satisfies Record<TrafficBackendName, unknown>;
