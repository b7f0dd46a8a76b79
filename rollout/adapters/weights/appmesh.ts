/** App Mesh: the weights of the weighted route, as `DescribeRoute` reports them. */
import { AppMeshClient, DescribeRouteCommand } from "@aws-sdk/client-app-mesh";
import { StackOutputs } from "../../../contract/outputs";
import { TrafficPort } from "../../core/ports";
import { Send } from "../send";
import { percent } from "./percent";

export class AppMeshRoute implements TrafficPort {
    constructor(
        private readonly appmesh: Send<AppMeshClient>,
        private readonly outputs: Extract<StackOutputs, { trafficBackend: "appmesh" }>,
    ) {}

    async canaryWeight(): Promise<number> {
        const { route } = await this.appmesh.send(
            new DescribeRouteCommand({
                meshName: this.outputs.meshName,
                virtualRouterName: this.outputs.virtualRouterName,
                routeName: this.outputs.weightedRouteName,
            }),
        );
        const spec = route?.spec;
        const targets = (spec?.httpRoute ?? spec?.http2Route ?? spec?.grpcRoute)?.action?.weightedTargets ?? [];
        const total = targets.reduce((n, t) => n + (t.weight ?? 0), 0);
        return percent(targets.find((t) => t.virtualNode === this.outputs.canaryVirtualNodeName)?.weight ?? 0, total);
    }
}
