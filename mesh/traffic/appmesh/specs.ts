/**
 * App Mesh specs for the canary, as plain data. Nothing here declares a resource,
 * so every rule (route type per protocol, timeouts, retry events, priorities) is
 * tested directly; `traffic.ts` only feeds these specs to the provider.
 */
import { Protocol } from "../../config/patterns";
import * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import { AppMeshCanaryConfig } from "../../config/schema";
import { Version } from "../../../contract/versions";
import { CanaryModel as AnyCanaryModel } from "../../canary/model";

type CanaryModel = AnyCanaryModel<AppMeshCanaryConfig>;

type Input<T> = pulumi.Input<T>;
type RouteSpec = aws.types.input.appmesh.RouteSpec;
type Duration = { unit: "s" | "ms"; value: number };

/** App Mesh evaluates routes from priority 0 up; the pin must win over the split. */
export const PIN_ROUTE_PRIORITY = 10;
export const WEIGHTED_ROUTE_PRIORITY = 100;

/** The route spec member for each listener protocol; router, nodes and routes must agree. */
const ROUTE_KIND: Record<Protocol, "httpRoute" | "http2Route" | "grpcRoute"> = {
    http: "httpRoute",
    http2: "http2Route",
    grpc: "grpcRoute",
};

const seconds = (value: number): Duration => ({ unit: "s", value });

/** Per-request and idle timeouts, shared by the routes and the node listeners. */
export function timeouts(model: CanaryModel): { perRequest: Duration; idle: Duration } {
    return {
        perRequest: seconds(model.config.requestTimeoutSeconds),
        idle: seconds(model.config.idleTimeoutSeconds),
    };
}

/**
 * Retries only what never reached a model server: a failed connection, or (HTTP/2 and
 * gRPC) a stream the server refused before reading it. A 5xx or a timeout may come after
 * minutes of GPU time and a partial generation, so those are never retried. Envoy applies
 * the per-try timeout to every attempt, the first included, so it equals the request
 * timeout: a shorter one would cut long generations.
 */
export function retryPolicy(model: CanaryModel) {
    const { protocol } = model.config;
    const { maxRetries } = model.config.appmesh;
    if (maxRetries === 0) return undefined;
    return {
        maxRetries,
        perRetryTimeout: seconds(model.config.requestTimeoutSeconds),
        tcpRetryEvents: ["connection-error"],
        ...(protocol === "http" ? {} : { httpRetryEvents: ["stream-error"] }),
    };
}

/** The listener every node and the router share: same port, same protocol. */
export function portMapping(model: CanaryModel) {
    return { port: model.config.port, protocol: model.config.protocol };
}

/**
 * Envoy's access log as JSON, one line per request. The version is a literal so that
 * CloudWatch metric filters can tell stable from canary; `code`, `duration` and
 * `response_duration` are the fields the per-version request, error, latency and
 * time-to-first-byte metrics are built from.
 */
export function accessLogFormat(version: Version) {
    return {
        jsons: [
            { key: "version", value: version },
            { key: "start_time", value: "%START_TIME%" },
            { key: "method", value: "%REQ(:METHOD)%" },
            { key: "path", value: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%" },
            { key: "protocol", value: "%PROTOCOL%" },
            { key: "code", value: "%RESPONSE_CODE%" },
            { key: "flags", value: "%RESPONSE_FLAGS%" },
            { key: "duration", value: "%DURATION%" },
            // Until the first response byte from the model server: for a streaming server, time to first token.
            { key: "response_duration", value: "%RESPONSE_DURATION%" },
            { key: "bytes_received", value: "%BYTES_RECEIVED%" },
            { key: "bytes_sent", value: "%BYTES_SENT%" },
            { key: "request_id", value: "%REQ(X-REQUEST-ID)%" },
            { key: "upstream", value: "%UPSTREAM_HOST%" },
        ],
    };
}

export interface NodeDiscovery {
    /** The Cloud Map namespace's name, taken from the namespace resource or lookup. */
    namespaceName: Input<string>;
    /** The version's Cloud Map service name. */
    serviceName: Input<string>;
    /** Virtual services of the hosts outside the mesh the version may call. */
    egressServiceNames?: Input<string>[];
}

/** One version's virtual node: listener, health check, timeouts, outlier detection, discovery, access log. */
export function virtualNodeSpec(model: CanaryModel, version: Version, discovery: NodeDiscovery): aws.types.input.appmesh.VirtualNodeSpec {
    const { config } = model;
    const hc = config.healthCheck;
    const od = config.appmesh.outlierDetection;
    return {
        listeners: [
            {
                portMapping: portMapping(model),
                healthCheck: {
                    protocol: config.protocol,
                    port: config.port,
                    ...(config.protocol === "grpc" ? {} : { path: hc.path }),
                    intervalMillis: hc.intervalSeconds * 1000,
                    timeoutMillis: hc.timeoutSeconds * 1000,
                    healthyThreshold: hc.healthyThreshold,
                    unhealthyThreshold: hc.unhealthyThreshold,
                },
                // The destination's Envoy enforces its own timeout (15 s by default), so the
                // route's longer timeout only helps when the listener's matches it.
                timeout: { [config.protocol]: timeouts(model) },
                outlierDetection: {
                    maxServerErrors: od.maxServerErrors,
                    maxEjectionPercent: od.maxEjectionPercent,
                    interval: seconds(od.intervalSeconds),
                    baseEjectionDuration: seconds(od.baseEjectionSeconds),
                },
            },
        ],
        serviceDiscovery: { awsCloudMap: { namespaceName: discovery.namespaceName, serviceName: discovery.serviceName } },
        // The mesh's DROP_ALL egress lets a node reach its backends only: the egress hosts, when there are any.
        ...(discovery.egressServiceNames && discovery.egressServiceNames.length > 0
            ? { backends: discovery.egressServiceNames.map((virtualServiceName) => ({ virtualService: { virtualServiceName } })) }
            : {}),
        logging: { accessLog: { file: { path: "/dev/stdout", format: accessLogFormat(version) } } },
    };
}

/** The port an egress host is reached on: TLS, which Envoy passes through as TCP. */
const EGRESS_PORT = 443;

/** A host outside the mesh, as the mesh sees it: a node found by DNS, listening on 443. */
export function egressNodeSpec(host: string): aws.types.input.appmesh.VirtualNodeSpec {
    return { listeners: [{ portMapping: { port: EGRESS_PORT, protocol: "tcp" } }], serviceDiscovery: { dns: { hostname: host } } };
}

export function virtualRouterSpec(model: CanaryModel): aws.types.input.appmesh.VirtualRouterSpec {
    return { listeners: [{ portMapping: portMapping(model) }] };
}

/** Match every request: gRPC routes need at least one criterion, and the listener port matches all calls. */
function catchAllMatch(model: CanaryModel) {
    return model.config.protocol === "grpc" ? { port: model.config.port } : { prefix: "/" };
}

/** Match requests that carry the pin header (gRPC metadata for gRPC). */
function pinMatch(model: CanaryModel) {
    const header = { name: model.config.pinHeader, match: { exact: model.config.pinValue } };
    return model.config.protocol === "grpc" ? { metadatas: [header] } : { prefix: "/", headers: [header] };
}

function routeSpec(model: CanaryModel, priority: number, match: object, weightedTargets: { virtualNode: Input<string>; weight: number }[]): RouteSpec {
    const retry = retryPolicy(model);
    return {
        priority,
        [ROUTE_KIND[model.config.protocol]]: {
            match,
            action: { weightedTargets },
            timeout: timeouts(model),
            ...(retry ? { retryPolicy: retry } : {}),
        },
    };
}

/** The canary split: `100 - canaryWeight` to stable, `canaryWeight` to canary. */
export function weightedRouteSpec(model: CanaryModel, nodeNames: Record<Version, Input<string>>): RouteSpec {
    const targets = model.versions.map((v) => ({ virtualNode: nodeNames[v.version], weight: v.weight }));
    return routeSpec(model, WEIGHTED_ROUTE_PRIORITY, catchAllMatch(model), targets);
}

/** Requests carrying the pin header go to the canary at any weight, for evaluations and smoke tests. */
export function pinRouteSpec(model: CanaryModel, canaryNodeName: Input<string>): RouteSpec {
    return routeSpec(model, PIN_ROUTE_PRIORITY, pinMatch(model), [{ virtualNode: canaryNodeName, weight: 100 }]);
}

/** The ingress gateway's Envoy listener port, reached only by the load balancer. */
export const GATEWAY_PORT = 8088;

/** The ingress gateway: one listener, health-checked by the load balancer on the same port. */
export function virtualGatewaySpec(model: CanaryModel): aws.types.input.appmesh.VirtualGatewaySpec {
    return {
        listeners: [{ portMapping: { port: GATEWAY_PORT, protocol: model.config.protocol } }],
        logging: { accessLog: { file: { path: "/dev/stdout" } } },
    };
}

/** Sends every request the gateway receives to the virtual service, where the canary split happens. */
export function gatewayRouteSpec(model: CanaryModel, virtualServiceName: Input<string>): aws.types.input.appmesh.GatewayRouteSpec {
    const action = { target: { virtualService: { virtualServiceName } } };
    const { protocol } = model.config;
    if (protocol === "grpc") {
        const serviceName = model.config.appmesh.ingress.grpcServiceName;
        // The config's rules require it for gRPC ingress; a hand-built config that skips them fails here, not in AWS.
        if (serviceName === undefined) throw new Error("appmesh.ingress.grpcServiceName is required for gRPC ingress");
        return { grpcRoute: { match: { serviceName }, action } };
    }
    return { [protocol === "http" ? "httpRoute" : "http2Route"]: { match: { prefix: "/" }, action } };
}

/** The name clients call, `<serviceName>.<namespace>`: a DNS name, since clients resolve it before Envoy intercepts the call. */
export const virtualServiceDnsName = (model: CanaryModel) => `${model.config.serviceName}.${model.config.appmesh.namespace}`;
