/**
 * Each traffic backend's weight reader (Argo Rollouts' `VerifyWeight`), one file per backend
 * as `mesh/traffic/` has one folder per backend, keyed by the same names (a test holds both).
 */
import { AppMeshClient } from "@aws-sdk/client-app-mesh";
import { VPCLatticeClient } from "@aws-sdk/client-vpc-lattice";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { StackOutputs } from "../../../contract/outputs";
import { TrafficBackendName } from "../../../contract/backends";
import { TrafficPort } from "../../core/ports";
import { AppMeshRoute } from "./appmesh";
import { LatticeListener } from "./lattice";
import { AlbListener } from "./alb";

type OutputsOf<B extends TrafficBackendName> = Extract<StackOutputs, { trafficBackend: B }>;

/** How to read the weight each backend applies, from the stack's outputs. */
export const WEIGHT_READERS: { [B in TrafficBackendName]: (outputs: OutputsOf<B>, region: string | undefined) => TrafficPort } = {
    appmesh: (outputs, region) => new AppMeshRoute(new AppMeshClient({ region }), outputs),
    lattice: (outputs, region) => new LatticeListener(new VPCLatticeClient({ region }), outputs),
    alb: (outputs, region) => new AlbListener(new ElasticLoadBalancingV2Client({ region }), outputs),
};

/** The canary's share as the stack's traffic layer applies it. */
export function trafficLayer(outputs: StackOutputs, region: string | undefined): TrafficPort {
    return (WEIGHT_READERS[outputs.trafficBackend] as (outputs: StackOutputs, region: string | undefined) => TrafficPort)(outputs, region);
}
