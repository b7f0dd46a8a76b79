/**
 * The Application Load Balancer backend's graph, under the same engine-like mocks as the
 * other backends: what it declares, that a weight step touches only the listener that
 * carries the split, and that nothing is open beyond `alb.allowedCidrs`.
 */
import { changedBetween, deploy, Graph, runProgram } from "../../../harness/program";
import { BASE_CONFIG } from "../../../harness/stacks";
import { loadConfig } from "../../../../mesh/config/schema";
import { weightedForward } from "../../../../mesh/traffic/alb/specs";
import { canaryModel } from "../../../../mesh/canary/model";

const T = {
    lb: "aws:lb/loadBalancer:LoadBalancer",
    listener: "aws:lb/listener:Listener",
    rule: "aws:lb/listenerRule:ListenerRule",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ecsService: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    bucket: "aws:s3/bucket:Bucket",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    vpc: "awsx:ec2:Vpc",
};
const CERT = "arn:aws:acm:us-west-2:123456789012:certificate/0e0a3f2c-1d1a-4c1b-9e5c-2f7a1b2c3d4e";
const ALB = { ...BASE_CONFIG, trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["203.0.113.0/24"] }) };
const withAlb = (alb: object, rest: Record<string, string> = {}) => ({ ...ALB, ...rest, alb: JSON.stringify({ allowedCidrs: ["203.0.113.0/24"], ...alb }) });
const forwardOf = (g: Graph) => g.one(T.listener, "-alb-listener").inputs.defaultActions[0].forward;

describe("the ALB graph for a dev-sized config", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy({ ...ALB, canaryWeight: "25" });
    });

    test("declares a load balancer, one listener, two target groups and a pin rule per version, and nothing of App Mesh or Lattice", () => {
        expect(g.ofType(T.lb)).toHaveLength(1);
        expect(g.ofType(T.listener)).toHaveLength(1);
        expect(g.ofType(T.targetGroup).map((t) => t.name)).toEqual(["inference-alb-stable", "inference-alb-canary"]);
        expect(g.ofType(T.rule).map((r) => r.name)).toEqual(["inference-alb-pin-stable", "inference-alb-pin"]);
        expect(g.resources.filter((r) => /^aws:(appmesh|vpclattice|servicediscovery)\//.test(r.type))).toEqual([]);
        expect(g.ofType(T.bucket)).toEqual([]);
    });

    test("the listener's forward action carries canaryWeight and the pin rules send the pin header to each version", () => {
        const [stable, canary] = g.ofType(T.targetGroup);
        expect(forwardOf(g).targetGroups).toEqual([
            { arn: stable.state.arn, weight: 75 },
            { arn: canary.state.arn, weight: 25 },
        ]);
        expect(g.one(T.rule, "-pin").inputs).toMatchObject({
            listenerArn: g.one(T.listener).state.arn,
            priority: 10,
            conditions: [{ httpHeader: { httpHeaderName: "x-canary", values: ["always"] } }],
            actions: [{ type: "forward", targetGroupArn: canary.state.arn }],
        });
        expect(g.one(T.rule, "-pin-stable").inputs).toMatchObject({
            listenerArn: g.one(T.listener).state.arn,
            priority: 11,
            conditions: [{ httpHeader: { httpHeaderName: "x-canary", values: ["stable"] } }],
            actions: [{ type: "forward", targetGroupArn: stable.state.arn }],
        });
        expect(g.one(T.listener).inputs).toMatchObject({ protocol: "HTTP", port: 80, loadBalancerArn: g.one(T.lb).state.arn });
    });

    test("each ECS service registers with its own target group and waits out the model's load before health checks count", () => {
        for (const version of ["stable", "canary"]) {
            expect(g.one(T.ecsService, `-${version}`).inputs).toMatchObject({
                loadBalancers: [{ targetGroupArn: g.one(T.targetGroup, `-alb-${version}`).state.arn, containerName: "model", containerPort: 8080 }],
                healthCheckGracePeriodSeconds: 300,
            });
        }
        const containers = JSON.parse(g.one(T.taskDef, "-canary").inputs.containerDefinitions);
        expect(containers.map((c: { name: string }) => c.name)).toEqual(["model"]);
    });

    test("the target groups drain for as long as a request may take, and check the model's health path", () => {
        for (const tg of g.ofType(T.targetGroup)) {
            expect(tg.inputs).toMatchObject({ targetType: "ip", port: 8080, protocol: "HTTP", protocolVersion: "HTTP1", deregistrationDelay: 300 });
            expect(tg.inputs.healthCheck).toMatchObject({ path: "/health", matcher: "200", interval: 10, timeout: 5 });
        }
        expect(g.one(T.lb).inputs).toMatchObject({ internal: true, idleTimeout: 300, dropInvalidHeaderFields: true });
    });

    test("nothing is open beyond alb.allowedCidrs: the load balancer admits them on its listener ports, and lets out only the model port", () => {
        const entry = g.one(T.sg, "-alb-entry").inputs;
        expect(entry.ingress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 80, toPort: 80, cidrBlocks: ["203.0.113.0/24"] })]);
        expect(entry.egress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 8080, toPort: 8080, cidrBlocks: ["10.0.0.0/16"] })]);
        expect(g.one(T.lb).inputs.securityGroups).toEqual([g.one(T.sg, "-alb-entry").id]);
        const tasks = g.one(T.sg, "-tasks").inputs.ingress;
        expect(tasks).toEqual([expect.objectContaining({ fromPort: 8080, toPort: 8080, cidrBlocks: ["10.0.0.0/16"] })]);
    });

    test("the alarms and the judge read the per-target-group metrics, with both dimensions, and TargetResponseTime in seconds", () => {
        const latency = g.one(T.alarm, "-canary-latency").inputs;
        expect(latency).toMatchObject({ namespace: "AWS/ApplicationELB", metricName: "TargetResponseTime", threshold: 60 });
        expect(latency.dimensions).toEqual({
            TargetGroup: expect.stringMatching(/^targetgroup\/inference-alb-canary-[0-9a-f]+\/[0-9a-f]+$/),
            LoadBalancer: expect.stringMatching(/^app\/inference-alb-lb-[0-9a-f]+\/[0-9a-f]+$/),
        });
        expect(`${g.one(T.lb).state.arn}`.endsWith(`:loadbalancer/${latency.dimensions.LoadBalancer}`)).toBe(true);
        expect(`${g.one(T.targetGroup, "-alb-canary").state.arn}`.endsWith(`:${latency.dimensions.TargetGroup}`)).toBe(true);
        const metrics = (g.outputs.versionMetrics as Record<string, Record<string, { metricName: string }>>).canary;
        expect(metrics.requests.metricName).toBe("RequestCount");
        expect(metrics.errors.metricName).toBe("HTTPCode_Target_5XX_Count");
        expect(metrics.connectionErrors.metricName).toBe("TargetConnectionErrorCount");
        expect(metrics.latencyMs).toMatchObject({ metricName: "TargetResponseTime", unit: "Seconds" });
        expect(g.outputs).toMatchObject({
            trafficBackend: "alb",
            endpoint: g.one(T.lb).state.dnsName,
            url: `http://${g.one(T.lb).state.dnsName}:80`,
            trafficResourceUrn: expect.stringContaining("inference-alb-listener"),
        });
    });

    test("a weight change touches only the listener that carries the split", async () => {
        const after = await deploy({ ...ALB, canaryWeight: "50" });
        expect(changedBetween(g, after)).toEqual([`${T.listener}::inference-alb-listener`]);
        expect(forwardOf(after).targetGroups.map((t: { weight: number }) => t.weight)).toEqual([50, 50]);
    });
});

describe("conversation affinity", () => {
    const model = (weight: number, durationSeconds?: number) =>
        canaryModel(
            loadConfig({ ...withAlb(durationSeconds ? { stickiness: { durationSeconds } } : {}), canaryWeight: String(weight) }) as Extract<
                ReturnType<typeof loadConfig>,
                { trafficBackend: "alb" }
            >,
        );
    const arns = { stable: "arn:stable", canary: "arn:canary" };

    test.each([
        [25, 3600, { enabled: true, duration: 3600 }],
        [100, 3600, { enabled: true, duration: 3600 }],
        [0, 3600, { enabled: false, duration: 1 }],
        [25, undefined, { enabled: false, duration: 1 }],
    ])("at weight %p with durationSeconds %p the forward action's stickiness is %p", (weight, duration, stickiness) => {
        expect(weightedForward(model(weight, duration), arns).stickiness).toEqual(stickiness);
    });

    test("a rollback to weight 0 turns stickiness off in the same listener update, and changes nothing else", async () => {
        const sticky = (weight: string) => deploy(withAlb({ stickiness: { durationSeconds: 86400 } }, { canaryWeight: weight }));
        const during = await sticky("25");
        const rolledBack = await sticky("0");
        expect(forwardOf(during).stickiness).toEqual({ enabled: true, duration: 86400 });
        expect(changedBetween(during, rolledBack)).toEqual([`${T.listener}::inference-alb-listener`]);
        expect(forwardOf(rolledBack)).toEqual({
            targetGroups: [expect.objectContaining({ weight: 100 }), expect.objectContaining({ weight: 0 })],
            stickiness: { enabled: false, duration: 1 },
        });
    });
});

describe("ALB options", () => {
    test("with a certificate the service is HTTPS on 443, port 80 redirects to it, and both are admitted from allowedCidrs only", async () => {
        const g = await deploy(withAlb({ certificateArn: CERT, scheme: "internet-facing" }, { protocol: "grpc" }));
        expect(g.one(T.listener, "-alb-listener").inputs).toMatchObject({ protocol: "HTTPS", port: 443, certificateArn: CERT });
        expect(g.one(T.listener, "-alb-redirect").inputs).toMatchObject({
            protocol: "HTTP",
            port: 80,
            defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
        });
        expect(g.one(T.sg, "-alb-entry").inputs.ingress.map((r: { fromPort: number; cidrBlocks: string[] }) => [r.fromPort, r.cidrBlocks])).toEqual([
            [443, ["203.0.113.0/24"]],
            [80, ["203.0.113.0/24"]],
        ]);
        expect(g.one(T.lb).inputs).toMatchObject({ internal: false, subnets: g.one(T.vpc).state.publicSubnetIds });
        for (const tg of g.ofType(T.targetGroup)) {
            expect(tg.inputs.protocolVersion).toBe("GRPC");
            expect(tg.inputs.healthCheck).toMatchObject({ path: "/AWS.ALB/healthcheck", matcher: "12" });
        }
        expect(g.outputs.evaluation).toBeUndefined();
    });

    test.each([
        [
            "internet-facing, with a golden set: the runner is admitted from the VPC's NAT gateways",
            "internet-facing",
            true,
            [["203.0.113.0/24"], ["198.51.100.10/32", "198.51.100.11/32"]],
        ],
        ["internet-facing, without a golden set: allowedCidrs only", "internet-facing", false, [["203.0.113.0/24"]]],
        ["internal, with a golden set: the runner comes from the private subnets, allowedCidrs says whether", "internal", true, [["203.0.113.0/24"]]],
    ])("%s", async (_, scheme, golden, sources) => {
        const evaluation: Record<string, string> = golden
            ? { evaluation: JSON.stringify({ goldenSet: "s3://evals/gateway/golden.jsonl", scorer: { kind: "contains" } }) }
            : {};
        const g = await deploy(withAlb({ scheme }, evaluation));
        expect(g.one(T.sg, "-alb-entry").inputs.ingress.map((r: { fromPort: number; cidrBlocks: string[] }) => r.cidrBlocks)).toEqual(sources);
    });

    test("access logs go to a private bucket ELB may write under the prefix only", async () => {
        const g = await deploy(withAlb({ accessLogs: true }));
        const bucket = g.one(T.bucket);
        expect(g.one(T.lb).inputs.accessLogs).toEqual({ bucket: bucket.id, prefix: "alb", enabled: true });
        const [statement] = JSON.parse(g.one(T.bucketPolicy).inputs.policy).Statement;
        // us-west-2 opened before August 2022: its ELB account delivers the logs.
        expect(statement).toEqual({
            Effect: "Allow",
            Principal: { AWS: "arn:aws:iam::797873946194:root" },
            Action: "s3:PutObject",
            Resource: `${bucket.state.arn}/alb/AWSLogs/123456789012/*`,
        });
    });

    test.each([
        ["no alb section", { trafficBackend: "alb" }, "alb.allowedCidrs: got nothing"],
        ["http2 without a certificate", withAlb({}, { protocol: "http2" }), "alb.certificateArn: got nothing"],
        ["a wildcard in pinValue", withAlb({}, { pinValue: "beta*" }), 'pinValue: got "beta*"'],
        ["stickiness beyond 7 days", withAlb({ stickiness: { durationSeconds: 604801 } }), "alb.stickiness.durationSeconds: got 604801"],
        ["a CIDR that is none", withAlb({ allowedCidrs: ["10.0.0.0/33"] }), "alb.allowedCidrs"],
        ["Lattice settings", withAlb({}, { lattice: JSON.stringify({ authType: "NONE" }) }), 'lattice settings only with trafficBackend "lattice"'],
    ])("refuses %s, naming the key", async (_, config, text) => {
        const run = await runProgram({ ...BASE_CONFIG, ...config });
        expect(run.error?.message).toContain(text);
    });
});
