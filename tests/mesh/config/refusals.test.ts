/**
 * One bad value at a time, as a table: each refusal names the key, the value as written and
 * what is allowed, and says nothing was deployed.
 */
import { refusal } from "../../harness/config";

describe("loadConfig refuses a bad value", () => {
    // One bad value per row: [key, value, words the message must contain].
    const BAD: [string, unknown, string][] = [
        ["canaryWeight", undefined, "an integer from 0 to 100"],
        ["canaryWeight", "", "an integer from 0 to 100"],
        ["canaryWeight", "-1", "an integer from 0 to 100"],
        ["canaryWeight", "101", "an integer from 0 to 100"],
        ["canaryWeight", "12.5", "an integer from 0 to 100"],
        ["canaryWeight", "ten", "an integer from 0 to 100"],
        ["canaryWeight", "1e2", "an integer from 0 to 100"],
        ["serviceName", "Inference", "a DNS label"],
        ["serviceName", "my_model", "a DNS label"],
        ["protocol", "tcp", 'one of "http", "http2", "grpc"'],
        ["protocol", "https", 'one of "http", "http2", "grpc"'],
        ["port", "80", "an integer from 1025 to 65535"],
        ["port", "70000", "an integer from 1025 to 65535"],
        ["port", "15000", "a port Envoy does not use"],
        ["port", "9901", "a port Envoy does not use"],
        ["appmesh", JSON.stringify({ namespace: "local" }), "a DNS name"],
        ["appmesh", JSON.stringify({ namespace: "AI.Internal" }), "a DNS name"],
        ["requestTimeoutSeconds", "0", "an integer from 1 to 3600"],
        ["requestTimeoutSeconds", "5m", "an integer from 1 to 3600"],
        ["idleTimeoutSeconds", "60", "at least requestTimeoutSeconds (300)"],
        ["appmesh", JSON.stringify({ maxRetries: 9 }), "an integer from 0 to 5"],
        ["pinHeader", "X-Canary", "a lowercase header name"],
        ["pinHeader", "grpc-canary", "a lowercase header name"],
        ["pinValue", "two words", "visible ASCII"],
        ["healthCheck", "not json", "an object"],
        ["healthCheck", JSON.stringify({ path: "health" }), "a path starting with '/'"],
        ["healthCheck", JSON.stringify({ intervalSeconds: 2 }), "an integer from 5 to 300"],
        ["healthCheck", JSON.stringify({ timeoutSeconds: 10, intervalSeconds: 10 }), "less than intervalSeconds"],
        ["healthCheck", JSON.stringify({ unhealthyThreshold: 1 }), "an integer from 2 to 10"],
        ["appmesh", JSON.stringify({ outlierDetection: { maxServerErrors: 0 } }), "an integer from 1 to 1000"],
        ["appmesh", JSON.stringify({ outlierDetection: { maxEjectionPercent: 101 } }), "an integer from 0 to 100"],
        ["appmesh", JSON.stringify({ discoveryNames: { canary: "inference-stable" } }), "different from appmesh.discoveryNames.stable"],
        ["appmesh", JSON.stringify({ discoveryNames: { stable: "Stable" } }), "a DNS label"],
        ["stable", JSON.stringify({}), "a container image reference"],
        ["canary", JSON.stringify({ image: "r/m:1", cpu: 3000, memory: 8192 }), "a Fargate CPU size: one of 256, 512, 1024, 2048, 4096, 8192, 16384"],
        ["canary", JSON.stringify({ image: "r/m:1", cpu: 1024, memory: 512 }), "with cpu 1024, memory (MiB) one of 2048, 3072"],
        ["canary", JSON.stringify({ image: "r/m:1", scaling: { minCount: -1 } }), "an integer from 0 to 100"],
        ["canary", JSON.stringify({ image: "r/m:1", desiredCount: 2 }), "moved to scaling.minCount"],
        ["canary", JSON.stringify({ image: "r/m:1", scaling: { minCount: 5, maxCount: 4 } }), "at most maxCount (4)"],
        ["canaryMinCount", "9", "at most canary.scaling.maxCount (4)"],
        ["stableMinCount", "5", "at most stable.scaling.maxCount (4)"],
        ["canary", JSON.stringify({ image: "r/m:1", compute: "tpu" }), 'one of "fargate", "gpu"'],
        ["canary", JSON.stringify({ image: "r/m:1", compute: "gpu" }), 'a gpu section with instanceType (required with compute "gpu")'],
        ["canary", JSON.stringify({ image: "r/m:1", gpu: { instanceType: "g6.xlarge" } }), 'no gpu section unless compute is "gpu"'],
        ["canary", JSON.stringify({ image: "r/m:1", compute: "gpu", gpu: { instanceType: "g7.xlarge" } }), "g6.xlarge"],
        [
            "canary",
            JSON.stringify({ image: "r/m:1", compute: "gpu", memory: 14336, gpu: { instanceType: "g6.xlarge", gpusPerTask: 4 } }),
            "at most 1, the GPUs of one g6.xlarge",
        ],
        [
            "canary",
            JSON.stringify({ image: "r/m:1", compute: "gpu", cpu: 8192, memory: 8192, gpu: { instanceType: "g6.xlarge" } }),
            "at most 4096, the CPU units of one g6.xlarge",
        ],
        [
            "canary",
            JSON.stringify({ image: "r/m:1", compute: "gpu", cpu: 4096, memory: 16384, gpu: { instanceType: "g6.xlarge" } }),
            "at most 14336 MiB, what one g6.xlarge (16 GiB) leaves to tasks",
        ],
        ["canary", JSON.stringify({ image: "r/m:1", weights: { source: "s3://models/llama", storageGiB: 300 } }), "at most 200 on Fargate"],
        [
            "canary",
            JSON.stringify({
                image: "r/m:1",
                compute: "gpu",
                memory: 14336,
                weights: { source: "s3://models/llama", storageGiB: 180 },
                gpu: { instanceType: "g6.xlarge" },
            }),
            "at most gpu.volumeGiB - 50 (150)",
        ],
        ["canary", JSON.stringify({ image: "r/m:1", environment: { "BAD-NAME": "x" } }), "an environment variable name"],
        ["canary", JSON.stringify({ image: "r/m:1", environment: { MODEL: { nested: 1 } } }), "a string value"],
        ["canary", JSON.stringify({ image: "r/m:1", secrets: { HF_TOKEN: "hf_abc123" } }), "Secrets Manager secret or SSM parameter ARNs"],
        [
            "canary",
            JSON.stringify({ image: "r/m:1", environment: { MODEL_REPO: "x" }, secrets: { MODEL_REPO: "arn:aws:ssm:us-west-2:123456789012:parameter/t" } }),
            "a name not also in environment",
        ],
        ["metrics", JSON.stringify({ prometheus: { server: "custom" } }), 'at least one series name with server "custom"'],
        ["metrics", JSON.stringify({ prometheus: { names: { queueDepth: "queue depth" } } }), "a Prometheus metric name"],
        ["metrics", JSON.stringify({ prometheus: { server: "sglang" } }), 'one of "vllm", "tgi", "tei", "triton", "llamacpp", "custom"'],
        ["alarms", JSON.stringify({ queueDepth: 8 }), "metrics.prometheus set: the alarm reads the model server's own metrics"],
        ["evaluation", JSON.stringify({ image: "r/evals:1", when: ["afterPromotion"] }), 'moments among "beforeTraffic", "eachStep", "beforePromotion"'],
        ["requirePinnedImages", "yes", "true or false"],
        ["appmesh", JSON.stringify({ envoyImage: "envoyproxy/envoy:latest" }), "pinned -prod tag"],
        ["appmesh", JSON.stringify({ egressHosts: ["https://huggingface.co"] }), 'public DNS names, e.g. ["huggingface.co"]'],
        ["appmesh", JSON.stringify({ egressHosts: "huggingface.co" }), 'public DNS names, e.g. ["huggingface.co"]'],
        ["modelLoadSeconds", "3600", "an integer from 0 to 3300"],
        ["logRetentionDays", "10", "one of 1, 3, 5, 7, 14, 30"],
        ["network", JSON.stringify({ cidrBlock: "10.0.0.0/8" }), "an IPv4 CIDR block from /16 to /24"],
        ["network", JSON.stringify({ availabilityZones: 1 }), "an integer from 2 to 4"],
        ["network", JSON.stringify({ vpcId: "vpc-0123456789abcdef0", privateSubnetIds: ["subnet-0123456789abcdef0"] }), "a non-empty list of subnet ids"],
        [
            "network",
            JSON.stringify({ vpcId: "vpc-0123456789abcdef0", privateSubnetIds: "subnet-1", publicSubnetIds: ["subnet-0123456789abcdef0"] }),
            "a non-empty list of subnet ids",
        ],
        ["network", JSON.stringify({ privateSubnetIds: ["subnet-0123456789abcdef0"] }), "no subnet ids unless vpcId"],
        ["appmesh", JSON.stringify({ createNamespace: "maybe" }), "true or false"],
        ["alarms", JSON.stringify({ errorRatePercent: 0 }), "an integer from 1 to 100"],
        ["alarms", JSON.stringify({ periodSeconds: 90 }), "a multiple of 60"],
        ["appmesh", JSON.stringify({ ingress: { enabled: "on" } }), "true or false"],
        ["appmesh", JSON.stringify({ ingress: { allowedCidrs: ["10.0.0.0/33"] } }), "IPv4 CIDR blocks"],
        ["appmesh", JSON.stringify({ ingress: { allowedCidrs: [] } }), "a non-empty list"],
        ["appmesh", JSON.stringify({ ingress: { enabled: true } }), "who may reach the public endpoint"],
        ["rollout", JSON.stringify({ steps: [50, 10, 100] }), "strictly ascending weights ending at 100"],
        ["rollout", JSON.stringify({ bakeSecond: 300 }), 'did you mean "bakeSeconds"?'],
        ["metrics", JSON.stringify({ prometheus: { countAbove: { timeToFirstToken: 3 } } }), "one of vLLM 0.9's bucket bounds: 0.001, 0.005"],
        ["rollout", JSON.stringify({ gates: { cutoff: {} } }), 'metrics.prometheus with server "vllm": the gate reads answers by finish reason'],
        ["rollout", JSON.stringify({ gates: { ttft: {} } }), "metrics.prometheus.countAbove.timeToFirstToken set"],
        ["rollout", JSON.stringify({ gates: { aborted: {} } }), 'metrics.prometheus with server "vllm": the gate reads answers by finish reason'],
        ["rollout", JSON.stringify({ gates: { refusals: {} } }), "a known key (keys here: aborted, cutoff, events, tokens, ttft)"],
        ["rollout", JSON.stringify({ gates: { tokens: {} } }), "metrics.prometheus with the series generatedTokens and answers"],
        [
            "rollout",
            JSON.stringify({ gates: { events: { cutoff: { metric: "Cut", trials: "Answers" } } } }),
            'not one of "cutoff", "aborted", "ttft", "tokens"',
        ],
        ["rollout", JSON.stringify({ gates: { events: { refusals: { metric: "Refusals" } } } }), "a CloudWatch metric name"],
        [
            "rollout",
            JSON.stringify({ gates: { events: { refusals: { metric: "Refusals", trials: "Answers", detectFactor: 1 } } } }),
            "a number from 1.01 to 100",
        ],
        [
            "metrics",
            JSON.stringify({ prometheus: { server: "tgi", countAbove: { requestTime: 5 } } }),
            "one of TGI 3.3's bucket bounds: 0.00015000000000000001, 0.00022500000000000002, 0.0003375",
        ],
        [
            "metrics",
            JSON.stringify({ prometheus: { server: "triton", names: { requestTime: "nv_request_seconds" }, countAbove: { requestTime: 5 } } }),
            'no count above a bound with server "triton"',
        ],
    ];

    test.each(BAD)("refuses %s = %j, naming the key, the value and what is allowed", (key, value, expected) => {
        const raw: Record<string, unknown> = { canaryWeight: "10", [key]: value };
        if (value === undefined) delete raw[key];
        const error = refusal(raw);
        expect(error.problems).toHaveLength(1);
        const [problem] = error.problems;
        expect(problem.key.split(".")[0]).toBe(key);
        expect(problem.expected).toContain(expected);
        // A rule across keys reports the value as read, e.g. the number 15000 for "15000".
        if (!problem.key.includes(".")) expect(String(problem.got)).toEqual(String(value));
        expect(error.message).toContain("nothing was deployed");
        expect(error.message).toContain(`${problem.key}: got ${problem.got === undefined ? "nothing" : JSON.stringify(problem.got)}`);
        expect(error.message).toContain(problem.expected);
    });
});

describe("loadConfig refuses a bad golden set or scorer at program start", () => {
    const LATTICE = { trafficBackend: "lattice" };
    const WEIGHT = { canaryWeight: "0" };
    const ALB = { trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["203.0.113.0/24"] }) };
    const golden = (more: Record<string, unknown>) => JSON.stringify({ goldenSet: "s3://acme-evals/golden.jsonl", ...more });
    // [what is wrong, the config, the key named, words the message must contain].
    const BAD: [string, Record<string, unknown>, string, string][] = [
        [
            "neither an image nor a golden set",
            { ...LATTICE, evaluation: JSON.stringify({ when: ["beforeTraffic"] }) },
            "evaluation.image",
            "an image, or a goldenSet",
        ],
        [
            "a golden set that is not an S3 object",
            { ...LATTICE, evaluation: JSON.stringify({ goldenSet: "https://x/golden.jsonl" }) },
            "evaluation.goldenSet",
            "an S3 URI",
        ],
        [
            "a regex scorer without a pattern",
            { ...LATTICE, evaluation: golden({ scorer: { kind: "regex" } }) },
            "evaluation.scorer.pattern",
            'required by kind "regex"',
        ],
        [
            "a pattern that does not compile",
            { ...LATTICE, evaluation: golden({ scorer: { kind: "regex", pattern: "(unclosed" } }) },
            "evaluation.scorer.pattern",
            "a regular expression that compiles (Invalid regular expression",
        ],
        [
            "a JSON Schema that does not compile",
            { ...LATTICE, evaluation: golden({ scorer: { kind: "json", schema: { type: "objekt" } } }) },
            "evaluation.scorer.schema",
            "a JSON Schema that compiles",
        ],
        [
            "an unknown scorer",
            { ...LATTICE, evaluation: golden({ scorer: { kind: "bleu" } }) },
            "evaluation.scorer.kind",
            'one of "exact", "contains", "regex", "json", "number", "judge"',
        ],
        [
            "a tolerated loss at the detected one",
            { ...LATTICE, evaluation: golden({ toleratedLossPercent: 5, detectLossPercent: 5 }) },
            "evaluation.toleratedLossPercent",
            "less than detectLossPercent (5)",
        ],
        ["a golden set on App Mesh", { evaluation: golden({}) }, "evaluation.goldenSet", 'no golden set with trafficBackend "appmesh"'],
        [
            "requests longer than the runner can wait",
            { ...ALB, requestTimeoutSeconds: "900", evaluation: golden({}) },
            "requestTimeoutSeconds",
            "at most 840 with evaluation.goldenSet",
        ],
        [
            "paired evidence without a golden set",
            { ...LATTICE, evaluation: JSON.stringify({ image: "acme/evals:1", requestsPerSecond: 1 }) },
            "evaluation.requestsPerSecond",
            "set only with a goldenSet",
        ],
        [
            "paired evidence faster than a runner's answers fit",
            { ...LATTICE, evaluation: golden({ requestsPerSecond: 4 }) },
            "evaluation.requestsPerSecond",
            "a number from 0.05 to 3",
        ],
        [
            "paired evidence with requests longer than a paced invocation can wait",
            { ...ALB, requestTimeoutSeconds: "800", evaluation: golden({ requestsPerSecond: 1 }) },
            "requestTimeoutSeconds",
            "at most 780 with evaluation.requestsPerSecond",
        ],
        [
            "paired evidence beside a gate the runner cannot count in its answers",
            {
                ...LATTICE,
                evaluation: golden({ requestsPerSecond: 1 }),
                rollout: JSON.stringify({ gates: { events: { refusals: { metric: "Refusals", trials: "Answers" } } } }),
            },
            "rollout.gates.events",
            "the runner cannot tell the application's events",
        ],
        [
            "paired evidence beside an alarm on the versions' averages",
            {
                ...LATTICE,
                evaluation: golden({ requestsPerSecond: 1 }),
                metrics: JSON.stringify({ prometheus: { server: "vllm" } }),
                alarms: JSON.stringify({ timeToFirstTokenIncreasePercent: 50 }),
            },
            "alarms.timeToFirstTokenIncreasePercent",
            "the alarm compares the versions' averages",
        ],
        ["the same pin for both versions", { ...LATTICE, stablePinValue: "always" }, "stablePinValue", 'a value other than pinValue ("always")'],
        ["pins that differ only in case on the ALB", { ...ALB, pinValue: "Canary", stablePinValue: "canary" }, "stablePinValue", "in more than case"],
    ];

    test.each(BAD)("refuses %s, naming the key", (_what, raw, key, expected) => {
        const error = refusal({ ...WEIGHT, ...raw });
        expect(error.problems.map((p) => p.key)).toEqual([key]);
        expect(error.problems[0].expected).toContain(expected);
    });
});
