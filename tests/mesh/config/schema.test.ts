import { RunError } from "@pulumi/pulumi/errors";
import { ConfigError } from "../../../mesh/config/errors";
import { loadConfig, namespaceProblems, VersionConfig } from "../../../mesh/config/schema";
import { DEFINING_FIELDS } from "../../../contract/identity";
import { splitWeights } from "../../../mesh/canary/model";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";
import { stackConfig } from "../../harness/stacks";
import { load, refusal } from "../../harness/config";

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
            stablePinValue: "stable",
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
