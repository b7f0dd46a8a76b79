/**
 * An App Mesh stack's ingress gateway, its per-version metrics and the canary alarms.
 */
import { changedBetween, deploy, Graph } from "../../../harness/program";
import { BASE_CONFIG } from "../../../harness/stacks";
import { errorRateExpression } from "../../../../mesh/canary/observability";

describe("the ingress gateway, the per-version metrics and the canary alarms", () => {
    const T = {
        gateway: "aws:appmesh/virtualGateway:VirtualGateway",
        gatewayRoute: "aws:appmesh/gatewayRoute:GatewayRoute",
        virtualService: "aws:appmesh/virtualService:VirtualService",
        mesh: "aws:appmesh/mesh:Mesh",
        lb: "aws:lb/loadBalancer:LoadBalancer",
        tg: "aws:lb/targetGroup:TargetGroup",
        listener: "aws:lb/listener:Listener",
        sg: "aws:ec2/securityGroup:SecurityGroup",
        taskDef: "aws:ecs/taskDefinition:TaskDefinition",
        service: "aws:ecs/service:Service",
        rolePolicy: "aws:iam/rolePolicy:RolePolicy",
        logGroup: "aws:cloudwatch/logGroup:LogGroup",
        filter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
        dashboard: "aws:cloudwatch/dashboard:Dashboard",
        vpc: "awsx:ec2:Vpc",
    };
    const ON_CALL = "arn:aws:sns:us-west-2:123456789012:ai-on-call";
    const WITH_INGRESS = { ...BASE_CONFIG, appmesh: JSON.stringify({ ingress: { enabled: true, allowedCidrs: ["203.0.113.0/24"] } }) };

    describe("ingress gateway", () => {
        let g: Graph;
        beforeAll(async () => {
            g = await deploy(WITH_INGRESS);
        });

        test("a gateway route sends everything to the virtual service, by its real name", () => {
            const gateway = g.one(T.gateway);
            expect(gateway.inputs.meshName).toBe(g.one(T.mesh).state.name);
            expect(gateway.inputs.spec.listeners).toEqual([{ portMapping: { port: 8088, protocol: "http" } }]);
            const route = g.one(T.gatewayRoute);
            expect(route.inputs.virtualGatewayName).toBe(gateway.state.name);
            expect(route.inputs.spec.httpRoute).toEqual({
                match: { prefix: "/" },
                action: { target: { virtualService: { virtualServiceName: g.one(T.virtualService).state.name } } },
            });
        });

        test("the gateway's Envoy points at the gateway and may read only the gateway's config", () => {
            const [envoy] = JSON.parse(g.one(T.taskDef, "-ingress-envoy").inputs.containerDefinitions);
            expect(envoy.environment).toEqual([{ name: "APPMESH_RESOURCE_ARN", value: g.one(T.gateway).state.arn }]);
            expect(envoy.portMappings).toEqual([{ containerPort: 8088, protocol: "tcp" }]);
            const [statement] = JSON.parse(g.one(T.rolePolicy, "-ingress-envoy-task").inputs.policy).Statement;
            expect(statement.Resource).toBe(g.one(T.gateway).state.arn);
        });

        test("a public NLB forwards to the gateway tasks, with idle timeouts for long requests", () => {
            const lb = g.one(T.lb);
            expect(lb.inputs).toMatchObject({ loadBalancerType: "network", internal: false, subnets: g.one(T.vpc).state.publicSubnetIds });
            const tg = g.one(T.tg);
            expect(tg.inputs).toMatchObject({ targetType: "ip", protocol: "TCP", port: 8088 });
            expect(g.one(T.listener).inputs).toMatchObject({ port: 80, protocol: "TCP", tcpIdleTimeoutSeconds: 300 });
            expect(g.one(T.listener).inputs.defaultActions).toEqual([{ type: "forward", targetGroupArn: tg.state.arn }]);
            const service = g.one(T.service, "-ingress-envoy");
            expect(service.inputs.loadBalancers).toEqual([{ targetGroupArn: tg.state.arn, containerName: "envoy", containerPort: 8088 }]);
            expect(service.inputs.networkConfiguration.subnets).toEqual(g.one(T.vpc).state.privateSubnetIds);
        });

        test("only the load balancer listener is open, and only to the allowed CIDRs", () => {
            const lbGroup = g.one(T.sg, "-ingress-lb");
            expect(lbGroup.inputs.ingress).toEqual([expect.objectContaining({ fromPort: 80, toPort: 80, cidrBlocks: ["203.0.113.0/24"] })]);
            const gatewayGroup = g.one(T.sg, "-ingress-tasks");
            expect(gatewayGroup.inputs.ingress).toEqual([expect.objectContaining({ fromPort: 8088, securityGroups: [lbGroup.id] })]);
            expect(g.one(T.lb).inputs.securityGroups).toEqual([lbGroup.id]);
            for (const group of g.ofType(T.sg)) {
                if (group === lbGroup) continue;
                for (const rule of group.inputs.ingress) expect(rule.cidrBlocks ?? []).not.toContain("0.0.0.0/0");
            }
        });

        test("its URL is a stack output", () => {
            expect(g.one(T.lb).state.dnsName).toMatch(/\.elb\./);
            expect(g.outputs.ingressUrl).toBe(`http://${g.one(T.lb).state.dnsName}:80`);
        });

        test("changing canaryWeight still touches only the weighted route", async () => {
            const after = await deploy({ ...WITH_INGRESS, canaryWeight: "50" });
            expect(changedBetween(g, after)).toEqual(["aws:appmesh/route:Route::inference-appmesh-weighted"]);
        });
    });

    describe("per-version metrics and canary alarms", () => {
        let g: Graph;
        beforeAll(async () => {
            g = await deploy({ ...BASE_CONFIG, alarms: JSON.stringify({ errorRatePercent: 2, p99LatencySeconds: 45, minRequests: 20, actions: [ON_CALL] }) });
        });

        test("alarms.actions: every canary alarm tells the topics when it fires and when it clears; without it, nobody", async () => {
            for (const alarm of g.ofType("aws:cloudwatch/metricAlarm:MetricAlarm"))
                expect(alarm.inputs).toMatchObject({ alarmActions: [ON_CALL], okActions: [ON_CALL] });
            const quiet = await deploy(BASE_CONFIG);
            for (const alarm of quiet.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")) expect(alarm.inputs.alarmActions).toBeUndefined();
        });

        test("the ingress gateway is off unless asked for", () => {
            for (const type of [T.gateway, T.gatewayRoute, T.lb]) expect(g.ofType(type)).toEqual([]);
        });

        test("each version's log group feeds request, 5xx and latency metrics for that version only", () => {
            for (const version of ["stable", "canary"]) {
                const logGroup = g.one(T.logGroup, `-${version}`);
                const filters = g.ofType(T.filter).filter((f) => f.name.includes(`-${version}-`));
                expect(filters.map((f) => f.inputs.metricTransformation.name)).toEqual(["Requests", "Errors5xx", "RequestTime", "TimeToFirstByte"]);
                for (const f of filters) {
                    expect(f.inputs.logGroupName).toBe(logGroup.state.name);
                    expect(f.inputs.pattern).toContain(`$.version = "${version}"`);
                    expect(f.inputs.metricTransformation).toMatchObject({ namespace: "AICanary/test-inference", dimensions: { Version: "$.version" } });
                }
                expect(filters[0].inputs.pattern).toBe(`{ $.version = "${version}" }`);
                expect(filters[1].inputs.pattern).toBe(`{ ($.version = "${version}") && (($.code >= 500) || ($.code = "5*")) }`);
                expect(filters[2].inputs.metricTransformation).toMatchObject({ value: "$.duration", unit: "Milliseconds" });
                expect(filters[3].inputs.metricTransformation).toMatchObject({ value: "$.response_duration", unit: "Milliseconds" });
            }
        });

        test("the error-rate alarm reads the canary's own requests and errors, judged only with enough traffic", () => {
            const alarm = g.one(T.alarm, "-canary-errors");
            expect(alarm.inputs).toMatchObject({ threshold: 2, comparisonOperator: "GreaterThanThreshold", treatMissingData: "notBreaching" });
            const [requests, errors, rate] = alarm.inputs.metricQueries;
            expect(requests.metric).toMatchObject({ metricName: "Requests", dimensions: { Version: "canary" }, stat: "Sum" });
            expect(errors.metric).toMatchObject({ metricName: "Errors5xx", dimensions: { Version: "canary" }, stat: "Sum" });
            expect(rate).toMatchObject({ expression: errorRateExpression(20), returnData: true });
            expect(rate.expression).toContain("requests >= 20");
        });

        test("the latency alarm reads the canary's p99 request time", () => {
            expect(g.one(T.alarm, "-canary-latency").inputs).toMatchObject({
                metricName: "RequestTime",
                dimensions: { Version: "canary" },
                extendedStatistic: "p99",
                threshold: 45000,
            });
        });

        test("the dashboard compares the versions as rates of their own requests, every axis with its unit, beside task counts and the alarms' states", () => {
            const body = JSON.parse(g.one(T.dashboard).inputs.dashboardBody);
            const byTitle = Object.fromEntries(body.widgets.map((w: any) => [w.properties.title, w]));
            expect(Object.keys(byTitle)).toEqual([
                "Canary weight (as the rollout verified it)",
                "Requests",
                "5xx rate",
                "Slow requests (over 10 s)",
                "p99 request time",
                "p99 time to first byte",
                "Running tasks",
                "Canary alarms",
            ]);
            // The weight the rollout publishes, from the stack's own namespace (the outputs tell the rollout where).
            expect(byTitle["Canary weight (as the rollout verified it)"].properties.metrics).toEqual([
                ["AICanary/test-inference", "CanaryWeight", { stat: "Maximum", period: 60, label: "canary weight" }],
            ]);
            expect(g.outputs.weightMetric).toEqual({ namespace: "AICanary/test-inference", metricName: "CanaryWeight", dimensions: {} });
            for (const w of body.widgets.filter((w: any) => w.type === "metric"))
                expect(w.properties.yAxis.left).toMatchObject({ label: expect.any(String), showUnits: false });
            expect(byTitle["5xx rate"].properties.yAxis.left.label).toBe("% of the version's requests");
            // Each version's 5xx over its own requests: the visible lines are the two expressions.
            const visible = byTitle["5xx rate"].properties.metrics.filter((m: any[]) => m.at(-1).visible !== false);
            expect(visible).toEqual([
                [{ expression: "100 * (FILL(e0_stable, 0)) / r_stable", label: "stable", id: "p_stable" }],
                [{ expression: "100 * (FILL(e0_canary, 0)) / r_canary", label: "canary", id: "p_canary" }],
            ]);
            const hidden = byTitle["Slow requests (over 10 s)"].properties.metrics.filter((m: any[]) => m.at(-1).visible === false).map((m: any[]) => m.at(-1));
            expect(hidden).toEqual(expect.arrayContaining([expect.objectContaining({ id: "e0_canary", stat: "TC(10000:)" })]));
            expect(byTitle["Running tasks"].properties.metrics.map((m: any[]) => [m[1], m[5], m.at(-1).label])).toEqual([
                ["RunningTaskCount", g.one("aws:ecs/service:Service", "-stable").state.name, "stable"],
                ["RunningTaskCount", g.one("aws:ecs/service:Service", "-canary").state.name, "canary"],
            ]);
            const alarmArns = g.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.state.arn);
            expect([...byTitle["Canary alarms"].properties.alarms].sort()).toEqual([...alarmArns].sort());
        });
    });
});
