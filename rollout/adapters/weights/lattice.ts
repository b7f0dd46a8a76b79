/** VPC Lattice: the weights of the listener's default forward action, as `GetListener` reports them. */
import { GetListenerCommand, VPCLatticeClient } from "@aws-sdk/client-vpc-lattice";
import { StackOutputs } from "../../../contract/outputs";
import { TrafficPort } from "../../core/ports";
import { Send } from "../send";
import { percent } from "./percent";

export class LatticeListener implements TrafficPort {
    constructor(
        private readonly lattice: Send<VPCLatticeClient>,
        private readonly outputs: Extract<StackOutputs, { trafficBackend: "lattice" }>,
    ) {}

    async canaryWeight(): Promise<number> {
        const listener = await this.lattice.send(
            new GetListenerCommand({ serviceIdentifier: this.outputs.latticeServiceArn, listenerIdentifier: this.outputs.listenerArn }),
        );
        const groups = listener.defaultAction?.forward?.targetGroups ?? [];
        // The listener may name a target group by id or by ARN; the ARN ends with the id.
        const isCanary = (identifier?: string) => !!identifier && this.outputs.canaryTargetGroupArn.endsWith(identifier.split("/").pop()!);
        const total = groups.reduce((n, g) => n + (g.weight ?? 0), 0);
        return percent(groups.find((g) => isCanary(g.targetGroupIdentifier))?.weight ?? 0, total);
    }
}
