import { ConfigError } from "../mesh/configReader";
import { CanaryConfig, loadConfig } from "../mesh/config";
import { splitWeights } from "../mesh/model";

const IMAGES = { stable: { image: "repo/llm:1.0" }, canary: { image: "repo/llm:1.1" } };
/** `raw` on top of the two required images; a key set to undefined is removed. */
const load = (raw: Record<string, unknown>): CanaryConfig => loadConfig((key) => (key in raw ? raw[key] : (IMAGES as any)[key]));

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

describe("loadConfig", () => {
    test("fills every default from canaryWeight alone", () => {
        expect(load({ canaryWeight: "10" })).toEqual({
            trafficBackend: "appmesh",
            canaryWeight: 10,
            serviceName: "inference",
            protocol: "http",
            port: 8080,
            namespace: "ai.internal",
            requestTimeoutSeconds: 300,
            idleTimeoutSeconds: 300,
            maxRetries: 2,
            pinHeader: "x-canary",
            pinValue: "always",
            healthCheck: { path: "/health", intervalSeconds: 10, timeoutSeconds: 5, healthyThreshold: 2, unhealthyThreshold: 5 },
            outlierDetection: { maxServerErrors: 5, intervalSeconds: 10, baseEjectionSeconds: 30, maxEjectionPercent: 50 },
            versions: {
                stable: { discoveryName: "inference-stable", image: "repo/llm:1.0", cpu: 4096, memory: 16384, desiredCount: 2, environment: {} },
                canary: { discoveryName: "inference-canary", image: "repo/llm:1.1", cpu: 4096, memory: 16384, desiredCount: 1, environment: {} },
            },
            network: { existing: false, cidrBlock: "10.0.0.0/16", availabilityZones: 2 },
            createNamespace: true,
            envoyImage: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
            modelLoadSeconds: 300,
            logRetentionDays: 30,
            requirePinnedImages: false,
            alarms: { errorRatePercent: 5, p99LatencySeconds: 60, minRequests: 10, periodSeconds: 60, evaluationPeriods: 3 },
            ingress: { enabled: false, port: 80, allowedCidrs: ["0.0.0.0/0"], desiredCount: 2 },
        });
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
            canary: { discoveryName: "llm-next", image: "repo/llm:2" },
        });
        expect(config.healthCheck).toMatchObject({ path: "/v1/health", intervalSeconds: 20, timeoutSeconds: 10 });
        expect(config.versions.canary.discoveryName).toBe("llm-next");
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
        ["port", "15000", "which Envoy uses"],
        ["port", "9901", "which Envoy uses"],
        ["namespace", "local", "a DNS name"],
        ["namespace", "AI.Internal", "a DNS name"],
        ["requestTimeoutSeconds", "0", "an integer from 1 to 3600"],
        ["requestTimeoutSeconds", "5m", "an integer from 1 to 3600"],
        ["idleTimeoutSeconds", "60", "at least requestTimeoutSeconds (300)"],
        ["maxRetries", "9", "an integer from 0 to 5"],
        ["pinHeader", "X-Canary", "a lowercase header name"],
        ["pinHeader", "grpc-canary", "a lowercase header name"],
        ["pinValue", "two words", "visible ASCII"],
        ["healthCheck", "not json", "an object"],
        ["healthCheck", JSON.stringify({ path: "health" }), "a path starting with '/'"],
        ["healthCheck", JSON.stringify({ intervalSeconds: 2 }), "an integer from 5 to 300"],
        ["healthCheck", JSON.stringify({ timeoutSeconds: 10, intervalSeconds: 10 }), "less than intervalSeconds"],
        ["healthCheck", JSON.stringify({ unhealthyThreshold: 1 }), "an integer from 2 to 10"],
        ["outlierDetection", JSON.stringify({ maxServerErrors: 0 }), "an integer from 1 to 1000"],
        ["outlierDetection", JSON.stringify({ maxEjectionPercent: 101 }), "an integer from 0 to 100"],
        ["canary", JSON.stringify({ image: "r/m:1", discoveryName: "inference-stable" }), "different from stable.discoveryName"],
        ["stable", JSON.stringify({ image: "r/m:1", discoveryName: "Stable" }), "a DNS label"],
        ["stable", JSON.stringify({}), "a container image reference"],
        ["canary", JSON.stringify({ image: "r/m:1", cpu: 3000, memory: 8192 }), "cpu one of 256, 512, 1024, 2048, 4096, 8192, 16384"],
        ["canary", JSON.stringify({ image: "r/m:1", cpu: 1024, memory: 512 }), "with cpu 1024, memory (MiB) one of 2048, 3072"],
        ["canary", JSON.stringify({ image: "r/m:1", desiredCount: -1 }), "an integer from 0 to 100"],
        ["canary", JSON.stringify({ image: "r/m:1", environment: { "BAD-NAME": "x" } }), "an environment variable name"],
        ["canary", JSON.stringify({ image: "r/m:1", environment: { MODEL: { nested: 1 } } }), "a string value"],
        ["requirePinnedImages", "yes", "true or false"],
        ["envoyImage", "envoyproxy/envoy:latest", "pinned -prod tag"],
        ["modelLoadSeconds", "3600", "an integer from 0 to 3300"],
        ["logRetentionDays", "10", "one of 1, 3, 5, 7, 14, 30"],
        ["network", JSON.stringify({ cidrBlock: "10.0.0.0/8" }), "an IPv4 CIDR block from /16 to /24"],
        ["network", JSON.stringify({ availabilityZones: 1 }), "an integer from 2 to 4"],
        ["network", JSON.stringify({ vpcId: "vpc-0123456789abcdef0", privateSubnetIds: ["subnet-0123456789abcdef0"] }), "a non-empty list of subnet ids"],
        ["network", JSON.stringify({ vpcId: "vpc-0123456789abcdef0", privateSubnetIds: "subnet-1", publicSubnetIds: ["subnet-0123456789abcdef0"] }), "a non-empty list of subnet ids"],
        ["createNamespace", "maybe", "true or false"],
        ["alarms", JSON.stringify({ errorRatePercent: 0 }), "an integer from 1 to 100"],
        ["alarms", JSON.stringify({ periodSeconds: 90 }), "a multiple of 60"],
        ["ingress", JSON.stringify({ enabled: "on" }), "true or false"],
        ["ingress", JSON.stringify({ allowedCidrs: ["10.0.0.0/33"] }), "IPv4 CIDR blocks"],
        ["ingress", JSON.stringify({ allowedCidrs: [] }), "a non-empty list"],
    ];

    test.each(BAD)("refuses %s = %j, naming the key, the value and what is allowed", (key, value, expected) => {
        const raw: Record<string, unknown> = { canaryWeight: "10", [key]: value };
        if (value === undefined) delete raw[key];
        const error = refusal(raw);
        expect(error.problems).toHaveLength(1);
        const [problem] = error.problems;
        expect(problem.key.split(".")[0]).toBe(key);
        expect(problem.expected).toContain(expected);
        if (!problem.key.includes(".")) expect(problem.got).toEqual(value);
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
        const network = { vpcId: "vpc-0123456789abcdef0", cidrBlock: "172.31.0.0/16", privateSubnetIds: ["subnet-0123456789abcdef0"], publicSubnetIds: ["subnet-0123456789abcdef1"] };
        expect(load({ canaryWeight: "1", network }).network).toEqual({ existing: true, ...network });
    });

    test("gRPC ingress needs the gRPC service name the gateway routes", () => {
        const problems = problemsOf({ canaryWeight: "1", protocol: "grpc", ingress: { enabled: true } });
        expect(problems.map((p) => p.key)).toEqual(["ingress.grpcServiceName"]);
        const config = load({ canaryWeight: "1", protocol: "grpc", ingress: { enabled: true, grpcServiceName: "inference.GRPCInferenceService" } });
        expect(config.ingress.grpcServiceName).toBe("inference.GRPCInferenceService");
    });

    test("unknown keys are refused with the likeliest meant key; known ones, rollout included, are not", () => {
        const set = (keys: string[]) => () => loadConfig((k) => ({ ...IMAGES, canaryWeight: "1" } as any)[k], keys);
        expect(set(["canaryWeight", "stable", "canary", "rollout"])).not.toThrow();
        expect(set(["helthCheck"])).toThrow('helthCheck: got nothing (the key is not set); expected a known key; did you mean "healthCheck"?');
        expect(set(["PORT"])).toThrow('did you mean "port"?');
    });

    test.each([
        [{ healthCheck: { pth: "/healthz" } }, "healthCheck.pth", "healthCheck takes healthyThreshold, intervalSeconds, path"],
        [{ canary: { image: "r/m:1", imgae: "r/m:2" } }, "canary.imgae", "canary takes cpu, desiredCount, discoveryName, environment, image, memory"],
        [{ ingress: { enabled: true, grpcServiceName: "a.B" } }, "ingress.grpcServiceName", "ingress takes allowedCidrs, desiredCount, enabled, port"],
        [{ network: { privateSubnetIds: ["subnet-0123456789abcdef0"] } }, "network.privateSubnetIds", "network takes availabilityZones, cidrBlock, vpcId"],
    ])("a field nothing reads is refused, with the fields that apply: %j", (raw, key, expected) => {
        const problems = problemsOf({ canaryWeight: "1", ...raw });
        expect(problems).toEqual([expect.objectContaining({ key, expected: expect.stringContaining(expected) })]);
    });

    test("lists every bad key at once", () => {
        const problems = problemsOf({ canaryWeight: "150", protocol: "tcp", port: "22" });
        expect(problems.map((p) => p.key)).toEqual(["canaryWeight", "protocol", "port"]);
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
