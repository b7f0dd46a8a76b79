/**
 * Application Load Balancer specs for the canary, as plain data: the listeners, the
 * weighted forward action (with conversation affinity while the canary has traffic), the
 * pin rule, the target groups and the access-log bucket policy. `traffic.ts` only feeds
 * these to the provider.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import { AlbCanaryConfig } from "../../config/schema";
import { Version } from "../../../contract/versions";
import { CanaryModel } from "../../canary/model";

type Input<T> = pulumi.Input<T>;

/** Listener rules are evaluated by priority (1 first) before the default action; the pins are the only rules. */
export const PIN_RULE_PRIORITY: Record<Version, number> = { canary: 10, stable: 11 };

/** ELB's limit on a target group's deregistration delay (`deregistration_delay.timeout_seconds`). */
const MAX_DEREGISTRATION_DELAY_SECONDS = 3600;

/** Target-group protocol version per service protocol. */
const PROTOCOL_VERSION = { http: "HTTP1", http2: "HTTP2", grpc: "GRPC" } as const;

/** AWS's own gRPC health check: a method no server implements, answered UNIMPLEMENTED (12) by a live one. */
const GRPC_HEALTH = { path: "/AWS.ALB/healthcheck", matcher: "12" };

/** The listener that serves the service, and the HTTP listener that redirects to it when that one is HTTPS. */
export function listenerSpecs(config: AlbCanaryConfig): {
    serving: { protocol: "HTTP" | "HTTPS"; port: number };
    redirect?: { protocol: "HTTP"; port: number };
} {
    return config.alb.certificateArn
        ? { serving: { protocol: "HTTPS", port: 443 }, redirect: { protocol: "HTTP", port: 80 } }
        : { serving: { protocol: "HTTP", port: 80 } };
}

/** Every port the load balancer listens on: what its security group admits from `alb.allowedCidrs`. */
const listenerPorts = (config: AlbCanaryConfig): number[] => {
    const { serving, redirect } = listenerSpecs(config);
    return [serving.port, ...(redirect ? [redirect.port] : [])];
};

/**
 * What the load balancer's security group admits: `alb.allowedCidrs` on every listener port and,
 * for an internet-facing one with a golden set, the NAT gateways' addresses too, since the golden
 * set's runner (in the private subnets) reaches its public address through them.
 */
export function entryIngress(config: AlbCanaryConfig, natAddresses: string[]): aws.types.input.ec2.SecurityGroupIngress[] {
    const runnerThroughNat = config.alb.scheme === "internet-facing" && config.evaluation?.goldenSet !== undefined && natAddresses.length > 0;
    return listenerPorts(config).flatMap((port) => [
        { description: `clients in alb.allowedCidrs, port ${port}`, protocol: "tcp", fromPort: port, toPort: port, cidrBlocks: config.alb.allowedCidrs },
        ...(runnerThroughNat
            ? [
                  {
                      description: `the golden set runner through the NAT gateways of the VPC, port ${port}`,
                      protocol: "tcp",
                      fromPort: port,
                      toPort: port,
                      cidrBlocks: natAddresses.map((ip) => `${ip}/32`),
                  },
              ]
            : []),
    ]);
}

/**
 * The canary split: `100 - canaryWeight` to stable's group, `canaryWeight` to the canary's.
 * Stickiness holds only while the canary has traffic: at weight 0 it is off, so a rollback
 * (or the return to stable after a promotion) moves every client off the canary in the
 * same update that sets its weight, whether or not a sticky client would otherwise outlast
 * a weight of 0, and a canary at rest is never reached by an old cookie. The weight lives
 * in the stack's config, so the next `up` keeps it off until a rollout raises the weight.
 */
export function weightedForward(
    model: CanaryModel<AlbCanaryConfig>,
    targetGroupArns: Record<Version, Input<string>>,
): aws.types.input.lb.ListenerDefaultActionForward {
    const canaryWeight = model.versions.find((v) => v.version === "canary")!.weight;
    const stickiness = model.config.alb.stickiness;
    return {
        targetGroups: model.versions.map((v) => ({ arn: targetGroupArns[v.version], weight: v.weight })),
        stickiness: stickiness && canaryWeight > 0 ? { enabled: true, duration: stickiness.durationSeconds } : { enabled: false, duration: 1 },
    };
}

/** Requests carrying the pin header with a version's value go to that version at any weight (ALB header values match case-insensitively). */
export function pinCondition(config: AlbCanaryConfig, version: Version): aws.types.input.lb.ListenerRuleCondition[] {
    return [{ httpHeader: { httpHeaderName: config.pinHeader, values: [version === "canary" ? config.pinValue : config.stablePinValue] } }];
}

/**
 * One version's IP target group: the model's port, a health check from the shared config,
 * and a deregistration delay as long as a request may take, so a task leaving the group
 * (a scale-in, a new revision) finishes the answers it is streaming.
 */
export function targetGroupArgs(config: AlbCanaryConfig, vpcId: Input<string>): aws.lb.TargetGroupArgs {
    const hc = config.healthCheck;
    const grpc = config.protocol === "grpc";
    return {
        vpcId,
        targetType: "ip",
        port: config.port,
        protocol: "HTTP",
        protocolVersion: PROTOCOL_VERSION[config.protocol],
        deregistrationDelay: Math.min(MAX_DEREGISTRATION_DELAY_SECONDS, config.requestTimeoutSeconds),
        healthCheck: {
            enabled: true,
            protocol: "HTTP",
            path: grpc ? GRPC_HEALTH.path : hc.path,
            matcher: grpc ? GRPC_HEALTH.matcher : "200",
            interval: hc.intervalSeconds,
            timeout: hc.timeoutSeconds,
            healthyThreshold: hc.healthyThreshold,
            unhealthyThreshold: hc.unhealthyThreshold,
        },
    };
}

/**
 * The value of CloudWatch's `LoadBalancer` or `TargetGroup` dimension for an ELB ARN: its
 * final portion, `app/<name>/<id>` or `targetgroup/<name>/<id>` (ELB user guide,
 * "CloudWatch metrics for your Application Load Balancer", metric dimensions).
 */
export const elbDimension = (arn: string): string =>
    arn
        .split(":")
        .slice(5)
        .join(":")
        .replace(/^loadbalancer\//, "");

/**
 * Accounts that deliver ALB access logs in Regions opened before August 2022 (ELB user
 * guide, "Enable access logs for your Application Load Balancer", step 2: bucket
 * permissions); Regions opened since deliver as the service principal below.
 */
const ELB_LOG_ACCOUNTS: Record<string, string> = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-south-1": "718504428378",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-south-1": "635631232127",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
};
const ELB_LOG_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com";

/** The access-log prefix inside the bucket (ELB adds `AWSLogs/<account>/` after it). */
export const ACCESS_LOG_PREFIX = "alb";

/** Lets ELB write the load balancer's access logs under the prefix, and nothing else. */
export function accessLogBucketPolicy(bucketArn: Input<string>, accountId: Input<string>, region: Input<string>): pulumi.Output<string> {
    return pulumi.all([bucketArn, accountId, region]).apply(([bucket, account, r]) =>
        JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: r in ELB_LOG_ACCOUNTS ? { AWS: `arn:aws:iam::${ELB_LOG_ACCOUNTS[r]}:root` } : { Service: ELB_LOG_SERVICE },
                    Action: "s3:PutObject",
                    Resource: `${bucket}/${ACCESS_LOG_PREFIX}/AWSLogs/${account}/*`,
                },
            ],
        }),
    );
}
