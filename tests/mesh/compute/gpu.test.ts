/**
 * GPU versions, under the same engine-like mocks: the committed GPU stack
 * (`Pulumi.gpu.yaml`), a stack whose canary alone moves to GPUs, and the capacity step
 * the rollout makes. (Every committed stack's task scaling is checked in stacks.test.ts.)
 */
import { changedBetween, deploy, Graph } from "../../harness/program";
import { BASE_CONFIG, stackConfig } from "../../harness/stacks";
import { Registered } from "../../harness/mocks";
import { GPU_AMI_PARAMETER } from "../../../mesh/compute/gpuCapacity";
import { modelHealthTiming } from "../../../mesh/compute/containers";
import { collectorConfig, collectorContainer } from "../../../mesh/compute/serverMetrics";

const T = {
    launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
    group: "aws:autoscaling/group:Group",
    provider: "aws:ecs/capacityProvider:CapacityProvider",
    association: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    cluster: "aws:ecs/cluster:Cluster",
    service: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    role: "aws:iam/role:Role",
    profile: "aws:iam/instanceProfile:InstanceProfile",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    target: "aws:appautoscaling/target:Target",
    policy: "aws:appautoscaling/policy:Policy",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    vpc: "awsx:ec2:Vpc",
};
const VERSIONS = ["stable", "canary"] as const;
const model = (g: Graph, version: string) => JSON.parse(g.one(T.taskDef, `-${version}`).inputs.containerDefinitions).find((c: any) => c.name === "model");
const statements = (p: Registered): any[] => JSON.parse(p.inputs.policy).Statement;

describe("the GPU stack (Pulumi.gpu.yaml)", () => {
    let g: Graph;
    beforeAll(async () => {
        g = await deploy(stackConfig("gpu"));
    });

    test("each version has its own instances: the ECS GPU AMI resolved from AWS's SSM parameter at launch, IMDSv2 only, an encrypted root volume", () => {
        for (const version of VERSIONS) {
            const lt = g.one(T.launchTemplate, `-${version}-gpu`);
            expect(lt.inputs).toMatchObject({
                imageId: `resolve:ssm:${GPU_AMI_PARAMETER}`,
                instanceType: "g6.xlarge",
                metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
                blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3", encrypted: "true" } }],
            });
            const userData = Buffer.from(lt.inputs.userData, "base64").toString();
            expect(userData).toContain(`ECS_CLUSTER=${g.one(T.cluster).state.name}`);
            expect(userData).toContain("ECS_ENABLE_GPU_SUPPORT=true");
            expect(userData).toContain("ECS_AWSVPC_BLOCK_IMDS=true");
            expect(lt.inputs.iamInstanceProfile.arn).toBe(g.one(T.profile, `-${version}-gpu-instance`).state.arn);
            // The instances take no connections; tasks have their own interfaces.
            const sg = g.one(T.sg, `-${version}-gpu-instances`);
            expect(sg.inputs.ingress).toBeUndefined();
            expect(sg.inputs.egress).toEqual([expect.objectContaining({ protocol: "tcp", fromPort: 443, toPort: 443 })]);
            expect(lt.inputs.vpcSecurityGroupIds).toEqual([sg.id]);
        }
        expect(g.calls.map((c) => c.token)).not.toContain("aws:ssm/getParameter:getParameter");
    });

    test("the outputs point at each version's GPU capacity and the cluster's capacity providers by their engine URNs", () => {
        const outputs = g.outputs as any;
        for (const version of VERSIONS) expect(g.urns).toContain(outputs.versions[version].capacityUrn);
        expect(g.urns).toContain(outputs.capacityProvidersUrn);
        expect(outputs.versions.canary.capacityUrn).toMatch(/\$ai-canary:compute:GpuCapacity::inference-canary-gpu$/);
    });

    test("an Auto Scaling group per version, empty until ECS needs it, managed by a capacity provider the cluster knows", () => {
        for (const version of VERSIONS) {
            const group = g.one(T.group, `-${version}-gpu`);
            // maxCount 4, one task per g6.xlarge, and a deployment runs the new tasks beside the old (200%): 8 instances.
            expect(group.inputs).toMatchObject({ minSize: 0, maxSize: 8, protectFromScaleIn: true, vpcZoneIdentifiers: g.one(T.vpc).state.privateSubnetIds });
            expect(group.inputs.launchTemplate).toEqual({ id: g.one(T.launchTemplate, `-${version}-gpu`).id, version: "1" });
            expect(group.inputs.tags).toContainEqual({ key: "AmazonECSManaged", value: "true", propagateAtLaunch: true });
            const provider = g.one(T.provider, `-${version}-gpu`);
            expect(provider.inputs.autoScalingGroupProvider).toMatchObject({
                autoScalingGroupArn: group.state.arn,
                managedTerminationProtection: "ENABLED",
                managedScaling: { status: "ENABLED", targetCapacity: 100 },
            });
        }
        expect(g.one(T.association).inputs).toEqual({
            clusterName: g.one(T.cluster).state.name,
            capacityProviders: ["FARGATE", g.one(T.provider, "-stable-gpu").state.name, g.one(T.provider, "-canary-gpu").state.name],
        });
    });

    test("services place their tasks through their own capacity provider; tasks reserve a GPU and run vLLM's command on weights fetched first", () => {
        for (const version of VERSIONS) {
            const service = g.one(T.service, `-${version}`);
            expect(service.inputs.launchType).toBeUndefined();
            expect(service.inputs.capacityProviderStrategies).toEqual([
                { capacityProvider: g.one(T.provider, `-${version}-gpu`).state.name, weight: 1, base: 0 },
            ]);
            const td = g.one(T.taskDef, `-${version}`);
            expect(td.inputs).toMatchObject({
                requiresCompatibilities: ["EC2"],
                networkMode: "awsvpc",
                cpu: "3584",
                memory: "14336",
                volumes: [{ name: "weights" }],
            });
            // Fargate's ephemeral storage does not exist on EC2: the weights live on the instance's volume.
            expect(td.inputs.ephemeralStorage).toBeUndefined();
            const m = model(g, version);
            expect(m.resourceRequirements).toEqual([{ type: "GPU", value: "1" }]);
            expect(m.command).toEqual(expect.arrayContaining(["--model", "/models", "--port", "8000"]));
            expect(m.dependsOn).toEqual([{ containerName: "weights", condition: "SUCCESS" }]);
            // 900 s of model load: the health check allows for a new instance, the image and the weights.
            const timing = modelHealthTiming(900);
            expect(m.healthCheck).toMatchObject({ startPeriod: timing.startPeriod, interval: timing.interval, retries: timing.retries });
        }
    });

    test("the instance role may only do what the ECS agent does, on this cluster and its container instances", () => {
        const cluster = g.one(T.cluster).state.arn;
        for (const version of VERSIONS) {
            const trust = JSON.parse(g.one(T.role, `-${version}-gpu-instance`).inputs.assumeRolePolicy).Statement[0];
            expect(trust.Principal).toEqual({ Service: "ec2.amazonaws.com" });
            const s = statements(g.one(T.rolePolicy, `-${version}-gpu-instance`));
            expect(s.filter((x) => x.Resource === "*")).toEqual([expect.objectContaining({ Action: ["ecs:DiscoverPollEndpoint"] })]);
            expect(s.find((x) => x.Action.includes("ecs:RegisterContainerInstance")).Resource).toBe(cluster);
            expect(s.find((x) => x.Action.includes("ecs:Poll")).Resource).toBe(`${cluster.replace(":cluster/", ":container-instance/")}/*`);
            expect(s.flatMap((x) => x.Action).filter((a: string) => !a.startsWith("ecs:"))).toEqual([]);
        }
    });

    test("the weights come through the S3 gateway endpoint, readable by each version's task role at that prefix only", () => {
        expect(g.one(T.endpoint).inputs.vpcEndpointType).toBe("Gateway");
        for (const version of VERSIONS) {
            const s = statements(g.one(T.rolePolicy, `-${version}-read`));
            expect(s.find((x) => x.Action.includes("s3:GetObject")).Resource).toBe("arn:aws:s3:::my-model-bucket/llama-3.1-8b-instruct/*");
        }
    });

    test("vLLM's own metrics: a collector beside each model scrapes it over localhost and writes EMF to its version's log group, the only stream its role may write", () => {
        for (const version of VERSIONS) {
            const containers = JSON.parse(g.one(T.taskDef, `-${version}`).inputs.containerDefinitions);
            const collector = containers.find((c: any) => c.name === "metrics");
            expect(collector).toMatchObject({ essential: false, image: expect.stringMatching(/aws-otel-collector:v\d+\.\d+\.\d+$/) });
            expect(collector.user).toBeUndefined();
            const config = JSON.parse(collector.environment.find((e: any) => e.name === "AOT_CONFIG_CONTENT").value);
            const scrape = config.receivers.prometheus.config.scrape_configs[0];
            expect(scrape).toMatchObject({ metrics_path: "/metrics", static_configs: [{ targets: ["localhost:8000"] }] });
            expect(new RegExp(`^${scrape.metric_relabel_configs[0].regex}$`).test("vllm:time_to_first_token_seconds_sum")).toBe(true);
            expect(new RegExp(`^${scrape.metric_relabel_configs[0].regex}$`).test("vllm:cache_config_info")).toBe(false);
            expect(config.processors.metricstransform.transforms).toContainEqual({
                include: "vllm:num_requests_waiting",
                action: "update",
                new_name: "QueueDepth",
            });
            expect(config.processors.resource.attributes).toEqual([{ key: "Version", value: version, action: "insert" }]);
            const logGroup = g.one(T.logGroup, `-${version}`);
            expect(config.exporters.awsemf).toMatchObject({
                namespace: "AICanary/test-inference",
                log_group_name: logGroup.state.name,
                log_stream_name: "server-metrics",
            });
            expect(JSON.stringify(config)).not.toContain("$");
            expect(statements(g.one(T.rolePolicy, `-${version}-metrics`))).toEqual([
                { Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${logGroup.state.arn}:log-stream:server-metrics` },
            ]);
        }
    });

    test("GPU utilisation from each instance's CloudWatch agent, allowed to publish to the stack's namespace only", () => {
        for (const version of VERSIONS) {
            const userData = Buffer.from(g.one(T.launchTemplate, `-${version}-gpu`).inputs.userData, "base64").toString();
            expect(userData).toContain("dnf install -y amazon-cloudwatch-agent");
            const agent = JSON.parse(/<<'AGENT'\n(.*)\nAGENT/s.exec(userData)![1]);
            expect(agent.metrics).toMatchObject({ namespace: "AICanary/test-inference", aggregation_dimensions: [["Version"]] });
            expect(agent.metrics.metrics_collected.nvidia_gpu.append_dimensions).toEqual({ Version: version });
            expect(statements(g.one(T.rolePolicy, `-${version}-gpu-gpu-metrics`))).toEqual([
                {
                    Effect: "Allow",
                    Action: ["cloudwatch:PutMetricData"],
                    Resource: "*",
                    Condition: { StringEquals: { "cloudwatch:namespace": ["AICanary/test-inference"] } },
                },
            ]);
        }
    });

    test("the dashboard graphs the server's metrics and GPU utilisation stable against canary; the alarms the rollout reads compare the canary with stable", () => {
        const outputs = g.outputs as any;
        for (const version of VERSIONS) {
            expect(outputs.versionMetrics[version].server).toEqual({
                timeToFirstToken: { namespace: "AICanary/test-inference", metricName: "TimeToFirstToken", dimensions: { Version: version } },
                interTokenLatency: { namespace: "AICanary/test-inference", metricName: "InterTokenLatency", dimensions: { Version: version } },
                queueDepth: { namespace: "AICanary/test-inference", metricName: "QueueDepth", dimensions: { Version: version } },
                generatedTokens: { namespace: "AICanary/test-inference", metricName: "GeneratedTokens", dimensions: { Version: version } },
                requestTime: { namespace: "AICanary/test-inference", metricName: "RequestTime", dimensions: { Version: version } },
                answers: { namespace: "AICanary/test-inference", metricName: "Answers", dimensions: { Version: version } },
                answersCutOff: { namespace: "AICanary/test-inference", metricName: "Answers", dimensions: { Version: version, FinishReason: "length" } },
                answersAborted: { namespace: "AICanary/test-inference", metricName: "Answers", dimensions: { Version: version, FinishReason: "abort" } },
                timeToFirstTokenWithin: {
                    namespace: "AICanary/test-inference",
                    metricName: "TimeToFirstTokenWithin",
                    dimensions: { Version: version, Bound: "2.5" },
                },
                gpuUtilization: { namespace: "AICanary/test-inference", metricName: "nvidia_smi_utilization_gpu", dimensions: { Version: version } },
            });
        }
        const widgets = JSON.parse(g.one(T.dashboard).inputs.dashboardBody).widgets.map((w: any) => w.properties.title);
        expect(widgets).toEqual(
            expect.arrayContaining([
                "Average time to first token",
                "Requests waiting (queue depth)",
                "Generated tokens per minute",
                "GPU utilisation",
                "Answers cut off at max_tokens",
                "Answers aborted before they finished",
                "Tokens per answer",
                "Time to first token over 2.5 s (the server's)",
            ]),
        );
        const body = JSON.parse(g.one(T.dashboard).inputs.dashboardBody);
        const above = body.widgets.find((w: any) => w.properties.title === "Time to first token over 2.5 s (the server's)").properties.metrics;
        expect(above[0]).toEqual([
            "AICanary/test-inference",
            "TimeToFirstTokenWithin",
            "Version",
            "stable",
            "Bound",
            "2.5",
            expect.objectContaining({ stat: "SampleCount", id: "part_stable" }),
        ]);
        expect(above[2]).toEqual([{ expression: "100 * (whole_stable - FILL(part_stable, 0)) / whole_stable", label: "stable", id: "share_stable" }]);
        const ttft = g.one(T.alarm, "-canary-time-to-first-token");
        expect(ttft.inputs.threshold).toBe(50);
        expect(ttft.inputs.metricQueries.map((q: any) => q.id)).toEqual(["canary", "stable", "value"]);
        expect(ttft.inputs.metricQueries[2].expression).toBe("IF(stable > 0, 100 * (canary - stable) / stable, 0)");
        expect(g.one(T.alarm, "-canary-queue-depth").inputs.threshold).toBe(20);
        expect(outputs.canaryServerAlarmNames).toEqual([ttft.state.name, g.one(T.alarm, "-canary-queue-depth").state.name]);
    });

    test("a new instance type for the canary changes its launch template, not stable's instances", async () => {
        const gpu = stackConfig("gpu");
        const after = await deploy({ ...gpu, canary: JSON.stringify({ ...JSON.parse(gpu.canary), gpu: { instanceType: "g6e.xlarge" } }) });
        expect(changedBetween(g, after)).toEqual([`${T.launchTemplate}::inference-canary-gpu`]);
    });
});

describe("capacity steps and GPU canaries", () => {
    const gpuCanary = {
        image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-server:1.5.0",
        compute: "gpu",
        cpu: 4096,
        memory: 14336,
        gpu: { instanceType: "g6.xlarge" },
    };
    let base: Graph;
    beforeAll(async () => {
        base = await deploy(BASE_CONFIG);
    });

    test("the rollout's raised minimum changes the canary's scalable target and nothing else", async () => {
        const raised = await deploy({ ...BASE_CONFIG, canaryMinCount: "3" });
        expect(changedBetween(base, raised)).toEqual([`${T.target}::inference-canary-scaling`]);
        expect(raised.one(T.target, "-canary-scaling").inputs.minCapacity).toBe(3);
        // The service's count is only its count at creation; autoscaling owns it.
        expect(raised.one(T.service, "-canary").inputs.desiredCount).toBe(1);
    });

    test("a canary alone on GPUs: only it gets instances; stable stays on Fargate, untouched", async () => {
        const after = await deploy({ ...BASE_CONFIG, canary: JSON.stringify(gpuCanary) });
        expect(after.ofType(T.group).map((r) => r.name)).toEqual(["inference-canary-gpu"]);
        expect(after.one(T.service, "-stable").inputs.launchType).toBe("FARGATE");
        expect(JSON.stringify(after.one(T.taskDef, "-stable").inputs)).toBe(JSON.stringify(base.one(T.taskDef, "-stable").inputs));
    });
});

describe("the metrics collector's configuration", () => {
    const args = {
        prometheus: { server: "vllm" as const, path: "/metrics", intervalSeconds: 15, names: {}, countAbove: {} },
        modelPort: 8080,
        version: "canary",
        namespace: "AICanary/x",
        logs: { logGroupName: "g", region: "us-west-2" },
    };

    test("on App Mesh it runs as Envoy's ignored user, so it reaches CloudWatch while the mesh's egress stays shut", () => {
        expect(collectorContainer(args, "1337").user).toBe("1337");
        expect(
            collectorConfig({ ...args, prometheus: { ...args.prometheus, port: 9400 } }).receivers.prometheus.config.scrape_configs[0].static_configs,
        ).toEqual([{ targets: ["localhost:9400"] }]);
    });

    test.each([
        ["vllm", ["TimeToFirstToken", "InterTokenLatency", "RequestTime", "GeneratedTokens", "Answers"], ["QueueDepth"]],
        ["tgi", ["InterTokenLatency", "RequestTime", "GeneratedTokens", "Answers"], ["QueueDepth"]],
        ["tei", ["RequestTime", "Answers"], ["QueueDepth"]],
        ["triton", [], ["QueueDepth"]],
        ["llamacpp", ["GeneratedTokens"], ["QueueDepth"]],
    ] as const)("%s: every histogram and counter becomes per-minute deltas before the exporter; gauges stay as they are", (server, deltas, gauges) => {
        const config = collectorConfig({ ...args, prometheus: { ...args.prometheus, server } });
        expect(config.processors.cumulativetodelta).toEqual({ include: { metrics: deltas, match_type: "strict" }, initial_value: "keep" });
        for (const gauge of gauges) expect(config.processors.cumulativetodelta.include.metrics).not.toContain(gauge);
        expect(config.service.pipelines.metrics.processors).toEqual(["metricstransform", "cumulativetodelta", "resource"]);
        // Answers by finish reason only where the server has one (vLLM).
        const byReason = config.exporters.awsemf.metric_declarations.some((d) => d.dimensions[0].includes("FinishReason"));
        expect(byReason).toBe(server === "vllm");
    });

    test("text-embeddings-inference serves its metrics on their own port, 9000, unless another is set", () => {
        const tei = { ...args, prometheus: { ...args.prometheus, server: "tei" as const } };
        expect(collectorConfig(tei).receivers.prometheus.config.scrape_configs[0].static_configs).toEqual([{ targets: ["localhost:9000"] }]);
        expect(collectorConfig({ ...tei, prometheus: { ...tei.prometheus, port: 9100 } }).receivers.prometheus.config.scrape_configs[0].static_configs).toEqual(
            [{ targets: ["localhost:9100"] }],
        );
        expect(collectorConfig(args).receivers.prometheus.config.scrape_configs[0].static_configs).toEqual([{ targets: ["localhost:8080"] }]);
    });

    test("vLLM: answers by finish reason, under the Version and the reason, and under the Version alone (all reasons)", () => {
        const config = collectorConfig(args);
        expect(config.receivers.prometheus.config.scrape_configs[0].metric_relabel_configs).toContainEqual({
            source_labels: ["finished_reason"],
            regex: "(.+)",
            target_label: "FinishReason",
        });
        const declarations = config.exporters.awsemf.metric_declarations;
        expect(declarations).toContainEqual({ dimensions: [["Version", "FinishReason"]], metric_name_selectors: ["^Answers"] });
        expect(declarations[0].metric_name_selectors).toContain("^Answers");
    });

    test("a count above a bound: the bucket at the bound, scraped on its own, becomes the count of a series of its own, per-minute, by Version and Bound", () => {
        const config = collectorConfig({ ...args, prometheus: { ...args.prometheus, countAbove: { timeToFirstToken: 5, requestTime: 2.5 } } });
        const job = config.receivers["prometheus/bounds"]!.config.scrape_configs[0];
        const [ttft, request] = job.metric_relabel_configs;
        const matches = (rule: { regex?: string }, name: string, le: string) => new RegExp(`^${rule.regex}$`).test(`${name};${le}`);
        // vLLM's Python client writes 5 as "5.0"; another writer's "5" is taken too, and no other bucket.
        expect(matches(ttft, "vllm:time_to_first_token_seconds_bucket", "5.0")).toBe(true);
        expect(matches(ttft, "vllm:time_to_first_token_seconds_bucket", "5")).toBe(true);
        expect(matches(ttft, "vllm:time_to_first_token_seconds_bucket", "7.5")).toBe(false);
        expect(matches(ttft, "vllm:time_to_first_token_seconds_count", "5.0")).toBe(false);
        expect(matches(request, "vllm:e2e_request_latency_seconds_bucket", "2.5")).toBe(true);
        expect(matches(request, "vllm:e2e_request_latency_seconds_bucket", "205")).toBe(false);
        expect(ttft).toMatchObject({ target_label: "Bound", replacement: "5" });
        expect(job.metric_relabel_configs).toContainEqual({
            source_labels: ["__name__"],
            regex: "vllm:time_to_first_token_seconds_bucket",
            target_label: "__name__",
            replacement: "vllm:time_to_first_token_seconds_count",
        });
        expect(config.processors["cumulativetodelta/bounds"]).toEqual({
            include: { metrics: ["TimeToFirstTokenWithin", "RequestTimeWithin"], match_type: "strict" },
            initial_value: "keep",
        });
        expect(config.service.pipelines["metrics/bounds"]).toEqual({
            receivers: ["prometheus/bounds"],
            processors: ["metricstransform/bounds", "cumulativetodelta/bounds", "resource"],
            exporters: ["awsemf"],
        });
        expect(config.exporters.awsemf.metric_declarations).toContainEqual({
            dimensions: [["Version", "Bound"]],
            metric_name_selectors: ["^TimeToFirstTokenWithin", "^RequestTimeWithin"],
        });
        expect(JSON.stringify(config)).not.toContain("$");
        // TGI's buckets as the server writes them (0.0001 x 1.5^k, Rust's shortest text): the bound asked for, and not its neighbour.
        const tgi = collectorConfig({ ...args, prometheus: { ...args.prometheus, server: "tgi", countAbove: { requestTime: 2.5251168294042348 } } });
        const [tgiRequest] = tgi.receivers["prometheus/bounds"]!.config.scrape_configs[0].metric_relabel_configs;
        expect(matches(tgiRequest, "tgi_request_duration_bucket", "2.5251168294042348")).toBe(true);
        expect(matches(tgiRequest, "tgi_request_duration_bucket", "3.787675244106352")).toBe(false);
        // Without a bound, no second scrape.
        expect(collectorConfig(args).receivers["prometheus/bounds"]).toBeUndefined();
    });
});
