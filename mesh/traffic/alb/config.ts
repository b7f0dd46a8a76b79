/**
 * The Application Load Balancer backend's settings (`alb.*` in stack config), with the
 * rules that tie them to the shared settings, kept beside the options they check.
 */
import { z } from "zod";
import { boolean, integer, matching, oneOf, rule, section, stringList } from "../../../contract/fields";

const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;
/** Any IPv4 block, /0 included: the front door admits exactly what the user lists. */
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/([0-9]|[12][0-9]|3[0-2])$/;

/** Target-group stickiness lasts 1 s to 7 days (ELB API, `TargetGroupStickinessConfig.DurationSeconds`). */
const MAX_STICKINESS_SECONDS = 604_800;

const albSection = section({
    scheme: oneOf(["internal", "internet-facing"])
        .default("internal")
        .describe("`internal`: reachable inside the VPC (and what is peered or connected to it); `internet-facing`: a public address, in the public subnets."),
    allowedCidrs: stringList(CIDR, 'IPv4 CIDR blocks, e.g. ["203.0.113.0/24"]').describe(
        "Who may open connections to the load balancer: nothing is admitted that is not listed (`0.0.0.0/0` only if you write it).",
    ),
    certificateArn: matching(ACM_ARN, "an ACM certificate ARN")
        .optional()
        .describe("ACM certificate of the HTTPS listener (443), which then serves the service while port 80 redirects to it; HTTP/2 and gRPC need it."),
    stickiness: section({
        durationSeconds: integer(1, MAX_STICKINESS_SECONDS).describe(
            "How long a client that keeps the `AWSALBTG` cookie stays on the version it first reached, 1 s to 7 days.",
        ),
    })
        .optional()
        .describe(
            "Conversation affinity: a chat stays on one version. Off by default; on only while the canary has traffic, so a rollback moves every client off it at once.",
        ),
    accessLogs: boolean()
        .default(false)
        .describe("Write the load balancer's access logs (every request, with its target group and status) to an S3 bucket this stack creates."),
});

export type AlbConfig = z.output<typeof albSection>;

/** The shared settings the ALB's rules read. */
interface WithAlb {
    protocol: string;
    pinValue: string;
    stablePinValue: string;
    rollout: { latencyMetric: string };
    alb: AlbConfig;
}

/** Rules between the ALB's settings and the shared ones. */
const albRules = [
    rule<WithAlb>(["protocol", "alb"], "http2 and grpc need alb.certificateArn: the ALB speaks them only over HTTPS", (c, report) => {
        if (c.protocol !== "http" && !c.alb.certificateArn) {
            report(
                "alb.certificateArn",
                undefined,
                `an ACM certificate ARN (required for protocol ${c.protocol}, which the ALB serves only on an HTTPS listener)`,
            );
        }
    }),
    rule<WithAlb>(
        ["pinValue", "stablePinValue"],
        "pinValue and stablePinValue have no '*' or '?': the ALB reads them in a header condition as wildcards",
        (c, report) => {
            for (const key of ["pinValue", "stablePinValue"] as const)
                if (/[*?]/.test(c[key])) report(key, c[key], 'no "*" or "?" with trafficBackend "alb", whose header conditions treat them as wildcards');
        },
    ),
    rule<WithAlb>(
        ["pinValue", "stablePinValue"],
        "pinValue and stablePinValue differ in more than case: the ALB matches header values case-insensitively",
        (c, report) => {
            if (c.pinValue !== c.stablePinValue && c.pinValue.toLowerCase() === c.stablePinValue.toLowerCase())
                report("stablePinValue", c.stablePinValue, `a value that differs from pinValue ("${c.pinValue}") in more than case, with trafficBackend "alb"`);
        },
    ),
    rule<WithAlb>(["rollout"], 'rollout.latencyMetric is "total": the ALB measures one latency, TargetResponseTime', (c, report) => {
        if (c.rollout.latencyMetric === "firstByte") {
            report(
                "rollout.latencyMetric",
                "firstByte",
                '"total" with trafficBackend "alb": its one latency, TargetResponseTime, ends when the target starts its response, so for a streamed answer it is already close to the first byte',
            );
        }
    }),
];

/** This backend's part of a stack's config, as the config's list of backends (`mesh/config/backends.ts`) takes it. */
export const albConfig = { title: "Application Load Balancer", section: albSection, rules: albRules };
