/**
 * The VPC Lattice backend's settings (`lattice.*` in stack config), with the rules
 * that tie them to the shared settings, kept beside the options they check.
 */
import { z } from "zod";
import { dnsName, matching, oneOf, rule, section, stringList } from "../../../contract/fields";

/** Lattice closes a connection after at most this many idle seconds. */
export const LATTICE_MAX_IDLE_SECONDS = 600;

const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;

const latticeSection = section(
    {
        authType: oneOf(["NONE", "AWS_IAM"])
            .default("NONE")
            .describe("NONE: any client in an associated VPC may call; AWS_IAM: only `allowedPrincipals`, with SigV4-signed requests."),
        allowedPrincipals: stringList(IAM_PRINCIPAL, "IAM principal ARNs")
            .optional()
            .describe("IAM principal ARNs allowed to invoke the service when `authType` is AWS_IAM."),
        customDomainName: dnsName().optional().describe("A name clients call instead of the Lattice-generated DNS name; point it at the service with a CNAME."),
        certificateArn: matching(ACM_ARN, "an ACM certificate ARN")
            .optional()
            .describe("ACM certificate for `customDomainName`, needed by the HTTPS listener that HTTP/2 and gRPC use."),
    },
    {
        rules: [
            rule<{ authType: string; allowedPrincipals?: string[] }>(
                ["authType", "allowedPrincipals"],
                "allowedPrincipals is set exactly when authType is AWS_IAM",
                (l, report) => {
                    if (l.authType === "AWS_IAM" && !l.allowedPrincipals)
                        report("allowedPrincipals", undefined, "IAM principal ARNs that may invoke the service (required with authType AWS_IAM)");
                    if (l.authType === "NONE" && l.allowedPrincipals)
                        report("allowedPrincipals", l.allowedPrincipals, "no principals unless authType is AWS_IAM");
                },
            ),
        ],
    },
).transform((l) =>
    l.authType === "AWS_IAM" && l.allowedPrincipals
        ? { ...l, authType: "AWS_IAM" as const, allowedPrincipals: l.allowedPrincipals }
        : { ...l, authType: "NONE" as const, allowedPrincipals: undefined },
);

export type LatticeConfig = z.output<typeof latticeSection>;

/** The shared settings Lattice's rules read. */
interface WithLattice {
    protocol: string;
    platform?: string;
    rollout: { latencyMetric: string };
    idleTimeoutSeconds?: number;
    requestTimeoutSeconds: number;
    lattice: LatticeConfig;
}

/** Rules between Lattice's settings and the shared ones. */
const latticeRules = [
    rule<WithLattice>(
        ["lattice", "platform"],
        "lattice.certificateArn only with a custom domain: customDomainName, or a platform's stable name",
        (c, report) => {
            if (c.lattice.certificateArn && !c.lattice.customDomainName && !c.platform) {
                report("lattice.certificateArn", c.lattice.certificateArn, "no certificate unless customDomainName is set, or the service is on a platform");
            }
        },
    ),
    rule<WithLattice>(
        ["idleTimeoutSeconds", "requestTimeoutSeconds"],
        `the idle timeout (idleTimeoutSeconds, or requestTimeoutSeconds) is at most ${LATTICE_MAX_IDLE_SECONDS}`,
        (c, report) => {
            const idle = c.idleTimeoutSeconds ?? c.requestTimeoutSeconds;
            if (idle > LATTICE_MAX_IDLE_SECONDS) {
                const key = c.idleTimeoutSeconds === undefined ? "requestTimeoutSeconds" : "idleTimeoutSeconds";
                report(key, idle, `at most ${LATTICE_MAX_IDLE_SECONDS} with trafficBackend "lattice", which closes connections idle longer`);
            }
        },
    ),
    rule<WithLattice>(["rollout"], 'rollout.latencyMetric is "total": Lattice measures whole requests only', (c, report) => {
        if (c.rollout.latencyMetric === "firstByte") {
            report("rollout.latencyMetric", "firstByte", '"total" with trafficBackend "lattice", whose metrics measure whole requests only');
        }
    }),
    rule<WithLattice>(
        ["protocol", "lattice", "platform"],
        "http2 and grpc on a custom domain (a platform's stable name is one) need lattice.certificateArn",
        (c, report) => {
            // HTTP/2 and gRPC ride the HTTPS listener, which needs a certificate for a custom name.
            if (c.protocol !== "http" && (c.lattice.customDomainName || c.platform) && !c.lattice.certificateArn) {
                const name = c.lattice.customDomainName
                    ? "customDomainName"
                    : "the service's name in the platform's private zone (ACM's public certificates cannot validate it: issue one from AWS Private CA)";
                report("lattice.certificateArn", undefined, `an ACM certificate ARN for ${name} (required for ${c.protocol})`);
            }
        },
    ),
];

/** This backend's part of a stack's config, as the config's list of backends (`mesh/config/backends.ts`) takes it. */
export const latticeConfig = { title: "VPC Lattice", section: latticeSection, rules: latticeRules };
