/**
 * The App Mesh backend's settings (`appmesh.*` in stack config), with the rules that
 * tie them to the shared settings, kept beside the options they check.
 */
import { z } from "zod";
import { boolean, dnsLabel, dnsName, integer, matching, rule, section, stringList } from "../../../contract/fields";

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
    maxServerErrors: integer(1, 1000).default(5).describe("5xx answers in an interval before a task is ejected."),
    intervalSeconds: integer(1, 300).default(10).describe("The interval the 5xx are counted over, seconds."),
    baseEjectionSeconds: integer(1, 3600).default(30).describe("How long an ejected task stays out, seconds (longer each time)."),
    maxEjectionPercent: integer(0, 100).default(50).describe("The most of a version's tasks ejected at once, percent."),
});

/** A public entry point for callers outside the mesh: a virtual gateway behind an NLB. */
const ingress = section(
    {
        enabled: boolean().default(false).describe("A public entry point: a virtual gateway behind an NLB."),
        port: integer(1, 65535).default(80).describe("Port of the public load balancer listener."),
        allowedCidrs: stringList(ANY_CIDR, 'IPv4 CIDR blocks, e.g. ["203.0.113.0/24"]')
            .optional()
            .describe("Who may reach the load balancer; required when enabled, so nothing is open to the world by default."),
        desiredCount: integer(1, 20).default(2).describe("Gateway tasks."),
        grpcServiceName: matching(GRPC_SERVICE, 'a gRPC service name, e.g. "inference.GRPCInferenceService"')
            .optional()
            .describe('gRPC gateway routes match on the gRPC service name, e.g. "inference.GRPCInferenceService".'),
    },
    {
        rules: [
            rule<{ enabled: boolean; allowedCidrs?: string[] }>(["enabled", "allowedCidrs"], "enabled needs allowedCidrs", (i, report) => {
                if (i.enabled && !i.allowedCidrs) {
                    report(
                        "allowedCidrs",
                        undefined,
                        'who may reach the public endpoint when ingress is enabled, e.g. ["203.0.113.0/24"] (["0.0.0.0/0"] for anyone)',
                    );
                }
            }),
        ],
    },
).transform((i) => (i.enabled && i.allowedCidrs ? { ...i, enabled: true as const, allowedCidrs: i.allowedCidrs } : { ...i, enabled: false as const }));

/** The ingress gateway's settings, when it is enabled. */
export type IngressConfig = Extract<AppMeshConfig["ingress"], { enabled: true }>;

/** Cloud Map names the versions register under; default `<serviceName>-<version>`. */
const discoveryNames = section({
    stable: dnsLabel().optional().describe("Stable's Cloud Map service; default `<serviceName>-stable`."),
    canary: dnsLabel().optional().describe("The canary's; default `<serviceName>-canary`."),
});

const appMeshSection = section({
    namespace: dnsName()
        .default("ai.internal")
        .describe("Cloud Map private DNS namespace the versions register in; the virtual service is `<serviceName>.<namespace>`."),
    createNamespace: boolean().default(true).describe("Create the namespace (true), or use an existing one of that name."),
    envoyImage: matching(ENVOY_IMAGE, "an App Mesh Envoy image with a pinned -prod tag")
        .default(DEFAULT_ENVOY_IMAGE)
        .describe("App Mesh Envoy image, version pinned."),
    maxRetries: integer(0, 5).default(2).describe("Retries of requests that provably never reached a model server; 0 turns retries off."),
    outlierDetection: outlierDetection.describe("Ejects a task that keeps answering 5xx, so one bad replica does not poison a canary step."),
    ingress: ingress.describe("A public entry point for callers outside the mesh."),
    discoveryNames: discoveryNames.describe("Cloud Map names the versions register under."),
    egressHosts: stringList(EGRESS_HOST, 'public DNS names, e.g. ["huggingface.co"]')
        .default([])
        .describe(
            "Hosts outside the mesh the model servers may call on 443 (TLS passes through Envoy), e.g. a model hub for a server that downloads its model at start: each becomes a backend of both versions' nodes. The mesh lets nothing else out.",
        ),
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
const appMeshRules = [
    rule<{ platform?: string }>(["platform"], "no platform: App Mesh stacks stand alone", (c, report) => {
        if (c.platform)
            report("platform", c.platform, 'no platform with trafficBackend "appmesh": App Mesh stacks stand alone (a platform is for lattice and alb)');
    }),
    rule<{ evaluation?: { goldenSet?: string } }>(
        ["evaluation"],
        "no golden set: App Mesh stacks have no stable pin, and the rollout refuses them",
        (c, report) => {
            if (c.evaluation?.goldenSet)
                report(
                    "evaluation.goldenSet",
                    c.evaluation.goldenSet,
                    'no golden set with trafficBackend "appmesh", which AWS no longer serves: move to "lattice" or "alb"',
                );
        },
    ),
    rule<WithAppMesh>(["port"], "port is not one of Envoy's (9901, 15000, 15001)", (c, report) => {
        if (ENVOY_PORTS.includes(c.port)) report("port", c.port, `a port Envoy does not use: not ${ENVOY_PORTS.join(", ")} with trafficBackend "appmesh"`);
    }),
    rule<WithAppMesh>(["protocol", "appmesh"], "appmesh.ingress.grpcServiceName is set exactly when protocol is grpc and ingress is enabled", (c, report) => {
        const { enabled, grpcServiceName } = c.appmesh.ingress;
        if (c.protocol === "grpc" && enabled && !grpcServiceName) {
            report(
                "appmesh.ingress.grpcServiceName",
                undefined,
                'the gRPC service the gateway routes, e.g. "inference.GRPCInferenceService" (required for gRPC ingress)',
            );
        }
        if (c.protocol !== "grpc" && grpcServiceName) {
            report("appmesh.ingress.grpcServiceName", grpcServiceName, 'no gRPC service name unless protocol is "grpc"');
        }
    }),
    rule<WithAppMesh>(["serviceName", "appmesh"], "the two discovery names differ from each other and from serviceName", (c, report) => {
        const names = [discoveryName(c, "stable"), discoveryName(c, "canary")];
        if (names.includes(c.serviceName) || names[0] === names[1]) {
            report("appmesh.discoveryNames.canary", names[1], "a name different from appmesh.discoveryNames.stable and serviceName");
        }
    }),
];

/** This backend's part of a stack's config, as the config's list of backends (`mesh/config/backends.ts`) takes it. */
export const appMeshConfig = { title: "App Mesh", section: appMeshSection, rules: appMeshRules };
