import { AppMeshCanaryConfig, loadConfig } from "../../../../mesh/config/schema";
import { Protocol } from "../../../../mesh/config/patterns";
import { BASE_CONFIG } from "../../../harness/stacks";
import { canaryModel } from "../../../../mesh/canary/model";
import {
    PIN_ROUTE_PRIORITY,
    pinRouteSpec,
    retryPolicy,
    virtualNodeSpec,
    weightedRouteSpec,
    WEIGHTED_ROUTE_PRIORITY,
} from "../../../../mesh/traffic/appmesh/specs";

const modelWith = (raw: Record<string, unknown>) => canaryModel(loadConfig({ ...BASE_CONFIG, canaryWeight: "20", ...raw }) as AppMeshCanaryConfig);
const NODES = { stable: "stable-node", canary: "canary-node" };

describe("route type follows the protocol", () => {
    test.each([
        ["http", "httpRoute"],
        ["http2", "http2Route"],
        ["grpc", "grpcRoute"],
    ] as [Protocol, string][])("%s uses %s and nothing else", (protocol, kind) => {
        const model = modelWith({ protocol });
        for (const spec of [weightedRouteSpec(model, NODES), pinRouteSpec(model, "canary-node")]) {
            const kinds = Object.keys(spec).filter((k) => k.endsWith("Route"));
            expect(kinds).toEqual([kind]);
        }
    });
});

describe("retries", () => {
    test("only retry failures that never reached a model server", () => {
        for (const protocol of ["http", "http2", "grpc"] as Protocol[]) {
            const policy = retryPolicy(modelWith({ protocol }))!;
            expect(policy.tcpRetryEvents).toEqual(["connection-error"]);
            expect(policy).not.toHaveProperty("grpcRetryEvents");
            expect(policy.httpRetryEvents ?? []).not.toContain("server-error");
            expect(policy.httpRetryEvents ?? []).not.toContain("gateway-error");
        }
        expect(retryPolicy(modelWith({ protocol: "http2" }))!.httpRetryEvents).toEqual(["stream-error"]);
        expect(retryPolicy(modelWith({ protocol: "http" }))).not.toHaveProperty("httpRetryEvents");
    });

    test("each attempt gets the whole request timeout, so a retry never cuts a long generation", () => {
        expect(retryPolicy(modelWith({ requestTimeoutSeconds: "420" }))!.perRetryTimeout).toEqual({ unit: "s", value: 420 });
    });

    test("maxRetries 0 leaves the retry policy out", () => {
        const model = modelWith({ appmesh: { maxRetries: 0 } });
        expect(retryPolicy(model)).toBeUndefined();
        expect(weightedRouteSpec(model, NODES).httpRoute).not.toHaveProperty("retryPolicy");
    });
});

describe("node listener", () => {
    const discovery = { namespaceName: "ai.internal", serviceName: "inference-stable" };

    test("gRPC health checks use the gRPC health protocol, with no path", () => {
        const check = (virtualNodeSpec(modelWith({ protocol: "grpc" }), "stable", discovery).listeners as any[])[0].healthCheck;
        expect(check).toMatchObject({ protocol: "grpc", port: 8080 });
        expect(check).not.toHaveProperty("path");
    });

    test("the timeout sits under the listener's protocol", () => {
        const listener = (virtualNodeSpec(modelWith({ protocol: "http2" }), "stable", discovery).listeners as any[])[0];
        expect(Object.keys(listener.timeout)).toEqual(["http2"]);
    });
});

describe("routes", () => {
    test("the pin route is evaluated before the weighted route", () => {
        expect(PIN_ROUTE_PRIORITY).toBeLessThan(WEIGHTED_ROUTE_PRIORITY);
        const model = modelWith({});
        expect(pinRouteSpec(model, "c").priority).toBe(PIN_ROUTE_PRIORITY);
        expect(weightedRouteSpec(model, NODES).priority).toBe(WEIGHTED_ROUTE_PRIORITY);
    });

    test("the gRPC catch-all matches the listener port, since gRPC matches need a criterion", () => {
        const spec = weightedRouteSpec(modelWith({ protocol: "grpc", port: "50051" }), NODES) as any;
        expect(spec.grpcRoute.match).toEqual({ port: 50051 });
    });
});
