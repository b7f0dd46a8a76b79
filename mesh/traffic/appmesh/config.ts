/**
 * The App Mesh backend's settings (`appmesh.*` in stack config), with the rules that
 * tie them to the shared settings, kept beside the options they check.
 */
import { z } from "zod";
import { boolean, dnsLabel, dnsName, integer, matching, rule, section, stringList } from "../../config/fields";

/** Ports Envoy itself binds in every task (admin, ingress, egress): the model server may not use them. */
const ENVOY_PORTS = [9901, 15000, 15001];

const DEFAULT_ENVOY_IMAGE = "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod";
const ENVOY_IMAGE = /^[a-z0-9.\-/]+\/aws-appmesh-envoy:v\d+\.\d+\.\d+\.\d+-prod$/;
const ANY_CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/;
const GRPC_SERVICE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
/** A public DNS name with at least two labels. */
const EGRESS_HOST = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Ejects a task that keeps answering 5xx, so one bad replica does not poison a canary step. */
const outlierDetection = section({
    maxServerErrors: integer(1, 1000).default(5),
    intervalSeconds: integer(1, 300).default(10),
    baseEjectionSeconds: integer(1, 3600).default(30),
    maxEjectionPercent: integer(0, 100).default(50),
});

/** A public entry point for callers outside the mesh: a virtual gateway behind an NLB. */
const ingress = section(
    {
        enabled: boolean().default(false),
        /** Port of the public load balancer listener. */
        port: integer(1, 65535).default(80),
        /** Who may reach the load balancer; required when enabled, so nothing is open to the world by default. */
        allowedCidrs: stringList(ANY_CIDR, 'IPv4 CIDR blocks, e.g. ["203.0.113.0/24"]').optional(),
        desiredCount: integer(1, 20).default(2),
        /** gRPC gateway routes match on the gRPC service name, e.g. "inference.GRPCInferenceService". */
        grpcServiceName: matching(GRPC_SERVICE, 'a gRPC service name, e.g. "inference.GRPCInferenceService"').optional(),
    },
    {
        rules: [
            rule<{ enabled: boolean; allowedCidrs?: string[] }>(["enabled", "allowedCidrs"], (i, report) => {
                if (i.enabled && !i.allowedCidrs) {
                    report("allowedCidrs", undefined, 'who may reach the public endpoint when ingress is enabled, e.g. ["203.0.113.0/24"] (["0.0.0.0/0"] for anyone)');
                }
            }),
        ],
    },
).transform((i) => (i.enabled && i.allowedCidrs ? { ...i, enabled: true as const, allowedCidrs: i.allowedCidrs } : { ...i, enabled: false as const }));

/** The ingress gateway's settings, when it is enabled. */
export type IngressConfig = Extract<AppMeshConfig["ingress"], { enabled: true }>;

/** Cloud Map names the versions register under; default `<serviceName>-<version>`. */
const discoveryNames = section({ stable: dnsLabel().optional(), canary: dnsLabel().optional() });

export const appMeshSection = section({
    /** Cloud Map private DNS namespace the versions register in; the virtual service is `<serviceName>.<namespace>`. */
    namespace: dnsName().default("ai.internal"),
    /** Create the namespace (true), or use an existing one of that name. */
    createNamespace: boolean().default(true),
    /** App Mesh Envoy image, version pinned. */
    envoyImage: matching(ENVOY_IMAGE, "an App Mesh Envoy image with a pinned -prod tag").default(DEFAULT_ENVOY_IMAGE),
    /** Retries of requests that provably never reached a model server; 0 turns retries off. */
    maxRetries: integer(0, 5).default(2),
    outlierDetection,
    ingress,
    discoveryNames,
    /**
     * Hosts outside the mesh the model servers may call on 443 (TLS passes through Envoy),
     * e.g. a model hub for a server that downloads its model at start: each becomes a
     * backend of both versions' nodes. The mesh lets nothing else out.
     */
    egressHosts: stringList(EGRESS_HOST, 'public DNS names, e.g. ["huggingface.co"]').default([]),
});

export type AppMeshConfig = z.output<typeof appMeshSection>;

/** The shared settings App Mesh's rules read. */
interface WithAppMesh {
    serviceName: string;
    protocol: string;
    port: number;
    appmesh: AppMeshConfig;
}

/** The Cloud Map name a version registers under. */
export const discoveryName = (c: { serviceName: string; appmesh: AppMeshConfig }, version: "stable" | "canary") =>
    c.appmesh.discoveryNames[version] ?? `${c.serviceName}-${version}`;

/** Rules between App Mesh's settings and the shared ones. */
export const appMeshRules = [
    rule<WithAppMesh>(["port"], (c, report) => {
        if (ENVOY_PORTS.includes(c.port)) report("port", c.port, `a port Envoy does not use: not ${ENVOY_PORTS.join(", ")} with trafficBackend "appmesh"`);
    }),
    rule<WithAppMesh>(["protocol", "appmesh"], (c, report) => {
        const { enabled, grpcServiceName } = c.appmesh.ingress;
        if (c.protocol === "grpc" && enabled && !grpcServiceName) {
            report("appmesh.ingress.grpcServiceName", undefined, 'the gRPC service the gateway routes, e.g. "inference.GRPCInferenceService" (required for gRPC ingress)');
        }
        if (c.protocol !== "grpc" && grpcServiceName) {
            report("appmesh.ingress.grpcServiceName", grpcServiceName, 'no gRPC service name unless protocol is "grpc"');
        }
    }),
    rule<WithAppMesh>(["serviceName", "appmesh"], (c, report) => {
        const names = [discoveryName(c, "stable"), discoveryName(c, "canary")];
        if (names.includes(c.serviceName) || names[0] === names[1]) {
            report("appmesh.discoveryNames.canary", names[1], "a name different from appmesh.discoveryNames.stable and serviceName");
        }
    }),
];
