/** The Application Load Balancer: the weights of its listener's forward action, as `DescribeListeners` reports them. */
import { DescribeListenersCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { StackOutputs } from "../../../contract/outputs";
import { TrafficPort } from "../../core/ports";
import { Send } from "../send";
import { percent } from "./percent";

export class AlbListener implements TrafficPort {
    constructor(
        private readonly elb: Send<ElasticLoadBalancingV2Client>,
        private readonly outputs: Extract<StackOutputs, { trafficBackend: "alb" }>,
    ) {}

    /** The weights of the listener's default forward action (ELB API, `DescribeListeners`: `ForwardConfig.TargetGroups`). */
    async canaryWeight(): Promise<number> {
        const { Listeners } = await this.elb.send(new DescribeListenersCommand({ ListenerArns: [this.outputs.listenerArn] }));
        const forward = Listeners?.[0]?.DefaultActions?.find((a) => a.Type === "forward");
        const groups = forward?.ForwardConfig?.TargetGroups ?? (forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
        const total = groups.reduce((n, g) => n + (g.Weight ?? 1), 0);
        return percent(groups.find((g) => g.TargetGroupArn === this.outputs.canaryTargetGroupArn)?.Weight ?? 0, total);
    }
}
