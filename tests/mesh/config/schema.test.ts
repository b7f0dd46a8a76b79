import { RunError } from "@pulumi/pulumi/errors";
import { ConfigError } from "../../../mesh/config/errors";
import { CanaryConfig, loadConfig, namespaceProblems, VersionConfig } from "../../../mesh/config/schema";
import { DEFINING_FIELDS } from "../../../contract/identity";
import { splitWeights } from "../../../mesh/canary/model";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";
import { stackConfig } from "../../harness/stacks";

const IMAGES = { trafficBackend: "appmesh", stable: { image: "repo/llm:1.0" }, canary: { image: "repo/llm:1.1" } };
/** `raw` on top of the required backend and images; a key set to undefined is removed. */
const load = (raw: Record<string, unknown>): CanaryConfig => {
    const config: Record<string, unknown> = { ...IMAGES, ...raw };
    for (const key of Object.keys(config)) if (config[key] === undefined) delete config[key];
    return loadConfig(config);
};

function refusal(raw: Record<string, unknown>): ConfigError {
    try {
        load(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return e as ConfigError;
    }
    throw new Error(`config was accepted: ${JSON.stringify(raw)}`);
}

const problemsOf = (raw: Record<string, unknown>) => refusal(raw).problems;

test("an App Mesh setting at the top level is moved under appmesh on App Mesh, and removed elsewhere", () => {
    expect(refusal({ canaryWeight: "0", maxRetries: "2" }).problems).toEqual([
        { key: "maxRetries", got: "2", expected: "moved to appmesh.maxRetries (App Mesh only)" },
    ]);
    expect(refusal({ canaryWeight: "0", trafficBackend: "lattice", maxRetries: "2" }).problems).toEqual([
        { key: "maxRetries", got: "2", expected: 'no maxRetries: it is an App Mesh setting, which a trafficBackend "lattice" stack does not use; remove it' },
    ]);
});

test("a key under a near miss of the project's namespace is refused with the key it meant; other namespaces are left alone", () => {
    const keys = [
        "ai-inference-canry:port",
        "ai-inference-canary:port",
        "aws:region",
        "pulumi:tags",
        "ai-inference-platform:zoneName",
        "AI-Inference-Canary:x",
    ];
    expect(namespaceProblems(keys, "ai-inference-canary")).toEqual([
        { key: "ai-inference-canry:port", got: "(set)", expected: 'a key of the project\'s namespace: did you mean "ai-inference-canary:port"?' },
        { key: "AI-Inference-Canary:x", got: "(set)", expected: 'a key of the project\'s namespace: did you mean "ai-inference-canary:x"?' },
    ]);
});

test.each([
    ["a token by its name", { HF_TOKEN: "abc" }, "HF_TOKEN"],
    ["a Hugging Face token by its shape", { MODEL_AUTH: "hf_" + "a".repeat(34) }, "MODEL_AUTH"],
    ["an OpenAI-style key", { UPSTREAM: "sk-" + "b".repeat(40) }, "UPSTREAM"],
    ["an AWS access key id", { ID: "AKIAABCDEFGHIJKLMNOP" }, "ID"],
    ["a password", { DB_PASSWORD: "hunter2" }, "DB_PASSWORD"],
])("plain environment refuses %s, without echoing it, and says how to pass it", (_, environment, name) => {
    const problems = refusal({ canaryWeight: "0", canary: { image: "r/m:1", environment } }).problems;
    expect(problems).toEqual([
        {
            key: `canary.environment.${name}`,
            got: "(hidden)",
            expected: expect.stringContaining(`name it in secrets.${name}, or, if it is not a secret, list ${name} in notSecret`),
        },
    ]);
});

test("notSecret lets a name that looks like a secret through; ordinary names pass anyway", () => {
    const config = load({
        canaryWeight: "0",
        canary: { image: "r/m:1", environment: { PAD_TOKEN: "<pad>", MODEL_ID: "meta-llama/x" }, notSecret: ["PAD_TOKEN"] },
    });
    expect(() => load({ canaryWeight: "0", canary: { image: "r/m:1", environment: { PAD_TOKEN: "<pad>" } } })).toThrow("canary.environment.PAD_TOKEN");
    expect(config.versions.canary.environment).toEqual({ PAD_TOKEN: "<pad>", MODEL_ID: "meta-llama/x" });
});

test("a problem and the problems that follow from it are named in one run: a custom server without names, and the alarm on its missing series", () => {
    const problems = refusal({ canaryWeight: "0", metrics: { prometheus: { server: "custom" } }, alarms: { timeToFirstTokenIncreasePercent: 50 } }).problems;
    expect(problems.map((p) => p.key)).toEqual(["metrics.prometheus.names", "alarms.timeToFirstTokenIncreasePercent"]);
    expect(refusal({ canaryWeight: "0", metrics: "not an object", alarms: { queueDepth: 5 } }).problems.map((p) => p.key)).toEqual([
        "metrics",
        "alarms.queueDepth",
    ]);
});

test("trafficBackend is required: no silent App Mesh; the message says what new stacks use", () => {
    const [problem] = refusal({ trafficBackend: undefined, canaryWeight: "10" }).problems;
    expect(problem).toEqual({ key: "trafficBackend", got: undefined, expected: expect.stringContaining('new stacks use "lattice"') });
});

test("a refusal is a Pulumi RunError: the CLI prints its message once, without a stack trace", () => {
    const e = refusal({ canaryWeight: "101" });
    expect(RunError.isInstance(e)).toBe(true);
    expect(e.message).toMatch(
        /^Invalid stack config; nothing was deployed\. Fix these keys and run again:\n {2}- canaryWeight: got "101"; expected an integer from 0 to 100$/,
    );
});

describe("loadConfig", () => {
    test("fills every default from canaryWeight alone", () => {
        expect(load({ canaryWeight: "10" })).toEqual({
            trafficBackend: "appmesh",
            canaryWeight: 10,
            calls: [],
            debug: { execCommand: false },
            serviceName: "inference",
            protocol: "http",
            port: 8080,
            requestTimeoutSeconds: 300,
            idleTimeoutSeconds: 300,
            pinHeader: "x-canary",
            pinValue: "always",
            healthCheck: { path: "/health", intervalSeconds: 10, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 5 },
            versions: {
                stable: {
                    image: "repo/llm:1.0",
                    compute: "fargate",
                    cpu: 4096,
                    memory: 16384,
                    scaling: { minCount: 2, maxCount: 4, requestsPerTaskPerMinute: 60 },
                    environment: {},
                    secrets: {},
                },
                canary: {
                    image: "repo/llm:1.1",
                    compute: "fargate",
                    cpu: 4096,
                    memory: 16384,
                    scaling: { minCount: 1, maxCount: 4, requestsPerTaskPerMinute: 60 },
                    environment: {},
                    secrets: {},
                },
            },
            network: { existing: false, cidrBlock: "10.0.0.0/16", availabilityZones: 2, s3GatewayEndpoint: "create" },
            modelLoadSeconds: undefined,
            raisedMinCounts: { stable: undefined, canary: undefined },
            logRetentionDays: 30,
            requirePinnedImages: false,
            alarms: { errorRatePercent: 5, p99LatencySeconds: 60, minRequests: 10, periodSeconds: 60, evaluationPeriods: 3 },
            metrics: {},
            rollout: DEFAULT_SCHEDULE,
            appmesh: {
                namespace: "ai.internal",
                createNamespace: true,
                envoyImage: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
                maxRetries: 2,
                outlierDetection: { maxServerErrors: 5, intervalSeconds: 10, baseEjectionSeconds: 30, maxEjectionPercent: 50 },
                ingress: { enabled: false, port: 80, desiredCount: 2 },
                discoveryNames: {},
                egressHosts: [],
            },
        });
    });

    test("an alarm on a server metric needs a series for it: the preset's, or one named", () => {
        const tgi = (names = {}) => ({
            canaryWeight: "1",
            metrics: JSON.stringify({ prometheus: { server: "tgi", names } }),
            alarms: JSON.stringify({ timeToFirstTokenIncreasePercent: 50 }),
        });
        expect(problemsOf(tgi())).toEqual([
            {
                key: "alarms.timeToFirstTokenIncreasePercent",
                got: 50,
                expected: 'a series for timeToFirstToken: server "tgi" has none; name it in metrics.prometheus.names.timeToFirstToken',
            },
        ]);
        expect(load(tgi({ timeToFirstToken: "tgi_request_first_token_seconds" })).metrics.prometheus).toMatchObject({
            server: "tgi",
            path: "/metrics",
            intervalSeconds: 15,
        });
    });

    test("a Lattice stack carries Lattice's settings and none of App Mesh's", () => {
        expect(load({ canaryWeight: "10", trafficBackend: "lattice" })).toMatchObject({
            trafficBackend: "lattice",
            lattice: { authType: "NONE" },
        });
        expect(load({ canaryWeight: "10", trafficBackend: "lattice" })).not.toHaveProperty("appmesh");
    });

    test("the default request timeout outlasts App Mesh's 15 s default by far", () => {
        expect(load({ canaryWeight: "0" }).requestTimeoutSeconds).toBeGreaterThanOrEqual(60);
    });

    test.each([0, 1, 50, 99, 100])("accepts canaryWeight %d", (w) => {
        expect(load({ canaryWeight: String(w) }).canaryWeight).toBe(w);
    });

    test("reads structured values given as JSON text (top level) or objects", () => {
        const config = load({
            canaryWeight: 5,
            healthCheck: JSON.stringify({ path: "/v1/health", intervalSeconds: 20, timeoutSeconds: "10" }),
            canary: { image: "repo/llm:2", cpu: "2048", memory: 8192 },
        });
        expect(config.healthCheck).toMatchObject({ path: "/v1/health", intervalSeconds: 20, timeoutSeconds: 10 });
        expect(config.versions.canary).toMatchObject({ cpu: 2048, memory: 8192 });
    });

    test("idle timeout follows the request timeout unless set", () => {
        expect(load({ canaryWeight: "1", requestTimeoutSeconds: "900" }).idleTimeoutSeconds).toBe(900);
    });

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
        ["metrics", JSON.stringify({ prometheus: { server: "sglang" } }), 'one of "vllm", "tgi", "triton", "custom"'],
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

    test("prod-style pinning refuses latest and untagged images, accepts tags and digests", () => {
        const withCanary = (image: string) => ({ canaryWeight: "5", requirePinnedImages: "true", canary: { image } });
        expect(problemsOf(withCanary("repo/llm:latest"))[0]).toMatchObject({ key: "canary.image", got: "repo/llm:latest" });
        expect(problemsOf(withCanary("registry:5000/llm"))[0].expected).toContain("a fixed tag or digest");
        expect(load(withCanary("registry:5000/llm:1.2")).versions.canary.image).toBe("registry:5000/llm:1.2");
        expect(load(withCanary(`repo/llm@sha256:${"a".repeat(64)}`)).versions.canary.image).toContain("@sha256:");
    });

    test("an existing VPC is used as named", () => {
        const network = {
            vpcId: "vpc-0123456789abcdef0",
            cidrBlock: "172.31.0.0/16",
            privateSubnetIds: ["subnet-0123456789abcdef0"],
            publicSubnetIds: ["subnet-0123456789abcdef1"],
        };
        expect(load({ canaryWeight: "1", network }).network).toEqual({ existing: true, ...network, s3GatewayEndpoint: "create" });
    });

    test("gRPC ingress needs the gRPC service name the gateway routes, and only gRPC takes one", () => {
        const ingress = { enabled: true, allowedCidrs: ["203.0.113.0/24"] };
        const problems = problemsOf({ canaryWeight: "1", protocol: "grpc", appmesh: { ingress } });
        expect(problems.map((p) => p.key)).toEqual(["appmesh.ingress.grpcServiceName"]);
        const config = load({ canaryWeight: "1", protocol: "grpc", appmesh: { ingress: { ...ingress, grpcServiceName: "inference.GRPCInferenceService" } } });
        expect(config.trafficBackend === "appmesh" && config.appmesh.ingress).toMatchObject({ grpcServiceName: "inference.GRPCInferenceService" });
        expect(problemsOf({ canaryWeight: "1", appmesh: { ingress: { ...ingress, grpcServiceName: "a.B" } } })[0]).toMatchObject({
            key: "appmesh.ingress.grpcServiceName",
            expected: 'no gRPC service name unless protocol is "grpc"',
        });
    });

    test.each([
        [{ helthCheck: "{}" }, "helthCheck", 'did you mean "healthCheck"?'],
        [{ PORT: "8000" }, "PORT", 'did you mean "port"?'],
        [{ rolout: "{}" }, "rolout", 'did you mean "rollout"?'],
        [{ modelServer: "vllm" }, "modelServer", "a known key (keys here: alarms, appmesh, calls, canary, canaryMinCount, canaryWeight,"],
        [{ healthCheck: { pth: "/healthz" } }, "healthCheck.pth", 'did you mean "path"? (keys here: command, healthyThreshold, intervalSeconds, path'],
        [
            { canary: { image: "r/m:1", imgae: "r/m:2" } },
            "canary.imgae",
            "(keys here: command, compute, cpu, environment, gpu, image, memory, notSecret, scaling, secrets, secretsKmsKeyArn, weights)",
        ],
    ])("an unknown key is refused, with the keys that apply: %j", (raw, key, expected) => {
        expect(problemsOf({ canaryWeight: "1", ...raw })).toEqual([expect.objectContaining({ key, expected: expect.stringContaining(expected) })]);
    });

    test.each([
        [{ maxRetries: "2" }, "maxRetries", "moved to appmesh.maxRetries (App Mesh only)"],
        [{ namespace: "ai.internal" }, "namespace", "moved to appmesh.namespace"],
        [{ ingress: "{}" }, "ingress", "moved to appmesh.ingress"],
        [{ canary: { image: "r/m:1", discoveryName: "llm-next" } }, "canary.discoveryName", "moved to appmesh.discoveryNames.canary"],
        [{ trafficBackend: "lattice", appmesh: "{}" }, "appmesh", 'appmesh settings only with trafficBackend "appmesh"'],
        [{ lattice: "{}" }, "lattice", 'lattice settings only with trafficBackend "lattice"'],
    ])("a key from an older version or another backend says where it belongs: %j", (raw, key, expected) => {
        expect(problemsOf({ canaryWeight: "1", ...raw })).toEqual([expect.objectContaining({ key, expected: expect.stringContaining(expected) })]);
    });

    test("a bad cpu is reported as cpu, a bad memory for a good cpu as memory", () => {
        expect(problemsOf({ canaryWeight: "1", stable: { image: "r/m:1", cpu: 3000 } }).map((p) => p.key)).toEqual(["stable.cpu"]);
        expect(problemsOf({ canaryWeight: "1", stable: { image: "r/m:1", cpu: 1024, memory: 512 } }).map((p) => p.key)).toEqual(["stable.memory"]);
    });

    test("lists every bad key at once, rules across keys included", () => {
        const problems = problemsOf({ canaryWeight: "150", protocol: "tcp", port: "22", idleTimeoutSeconds: "10", rollout: { steps: [50, 10] } });
        expect(problems.map((p) => p.key)).toEqual(["canaryWeight", "protocol", "port", "rollout.steps", "idleTimeoutSeconds"]);
    });

    test("an unknown trafficBackend is reported with every other problem", () => {
        const problems = problemsOf({ canaryWeight: "1", trafficBackend: "istio", port: "x" });
        expect(problems.map((p) => p.key)).toEqual(["trafficBackend", "port"]);
        expect(problems[0].expected).toBe('one of "appmesh", "lattice", "alb"');
    });

    test("names the nested path of a bad structured field", () => {
        expect(problemsOf({ canaryWeight: "1", healthCheck: { healthyThreshold: 11 } })[0].key).toBe("healthCheck.healthyThreshold");
    });
});

describe("splitWeights", () => {
    test.each([0, 1, 10, 25, 50, 99, 100])("canary %d leaves the rest to stable, totalling 100", (w) => {
        const split = splitWeights(w);
        expect(split).toEqual({ stable: 100 - w, canary: w });
        expect(split.stable + split.canary).toBe(100);
    });

    test.each([-1, 101, 2.5, NaN])("refuses %d", (w) => {
        expect(() => splitWeights(w)).toThrow(RangeError);
    });
});

describe("a hand-set weight never splits onto a version without a task", () => {
    // The committed rag-llm stack's canary rests at 0 tasks, as `pulumi config set canaryWeight 10 && pulumi up` would find it.
    const llm = stackConfig("rag-llm");
    const withWeight = (extra: Record<string, string>) => () => loadConfig({ ...llm, canaryWeight: "10", ...extra });

    test("canaryWeight 10 on a canary at minCount 0 is refused, naming the key, the value and both ways out", () => {
        expect(JSON.parse(llm.canary).scaling.minCount).toBe(0);
        try {
            withWeight({})();
            throw new Error("accepted");
        } catch (e) {
            expect((e as ConfigError).problems).toEqual([
                {
                    key: "canaryWeight",
                    got: 10,
                    expected: expect.stringMatching(
                        /^0 while canary\.scaling\.minCount is 0: 10% of requests would go to a version with no task\. Raise canary\.scaling\.minCount first, or let the rollout move the weight/,
                    ),
                },
            ]);
        }
    });

    test.each([
        ["the rollout raised the canary's minimum", { canaryMinCount: "1" }],
        [
            "the canary rests at one task",
            { canary: JSON.stringify({ ...JSON.parse(llm.canary), scaling: { ...JSON.parse(llm.canary).scaling, minCount: 1 } }) },
        ],
    ])("with %s, the split renders", (_, extra) => {
        expect(withWeight(extra)().canaryWeight).toBe(10);
    });

    test("canaryMinCount 0 does not count as a raised minimum; weight 0 needs no task", () => {
        expect(withWeight({ canaryMinCount: "0" })).toThrow("canaryWeight");
        expect(loadConfig({ ...llm, canaryWeight: "0" }).canaryWeight).toBe(0);
    });
});

test("what defines a version (contract/identity.ts) names only fields of a version's config", () => {
    // tsc holds the names to the schema's type; the loaded config has each one it sets.
    const fields: readonly (keyof VersionConfig)[] = DEFINING_FIELDS;
    const canary = load({ canaryWeight: "0", canary: { image: "r/m:1", command: ["--x"], secrets: {}, environment: { A: "1" } } }).versions.canary;
    for (const field of ["image", "cpu", "memory", "environment", "compute", "command"] as const) {
        expect(fields).toContain(field);
        expect(canary[field]).toBeDefined();
    }
});
