/**
 * The one place that asks which traffic backend a stack uses: everything else talks to
 * the `TrafficBackendKind` it returns.
 */
import { CanaryConfig } from "../config/schema";
import { TrafficBackendKind } from "./backend";
import { appMeshBackend } from "./appmesh/traffic";
import { latticeBackend } from "./lattice/traffic";
import { albBackend } from "./alb/traffic";

export function trafficBackendFor(config: CanaryConfig): TrafficBackendKind {
    switch (config.trafficBackend) {
        case "appmesh":
            return appMeshBackend(config);
        case "lattice":
            return latticeBackend(config);
        case "alb":
            return albBackend(config);
    }
}
