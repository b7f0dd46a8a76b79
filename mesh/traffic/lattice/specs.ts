/**
 * VPC Lattice specs for the canary, as plain data: the listener's weighted default
 * action, the pin rule, and the per-version target group config. `traffic.ts` only
 * feeds these to the provider.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import { CanaryConfig } from "../../config/schema";
import { Version } from "../../../contract/versions";
import { CanaryModel } from "../../canary/model";
import { policyDocument } from "../../compute/iam";
import { LATTICE_MAX_IDLE_SECONDS } from "./config";

type Input<T> = pulumi.Input<T>;

/** Lattice evaluates rules by priority (1 first) before the default action; the pins are the only rules. */
const PIN_RULE_PRIORITY: Record<Version, number> = { canary: 10, stable: 11 };

/** Target-group protocol version per listener protocol. */
const PROTOCOL_VERSION = { http: "HTTP1", http2: "HTTP2", grpc: "GRPC" } as const;

/**
 * HTTP/1.1 gets a plain HTTP listener on the model's port, or on a platform on 80, so a
 * caller reaches any service there by its name alone (`http://embedder.<zone>`); HTTP/2 and
 * gRPC need the HTTPS listener (Lattice negotiates HTTP/2 with ALPN), on 443.
 */
export function listenerProtocol(config: CanaryConfig): { protocol: "HTTP" | "HTTPS"; port: number } {
    return config.protocol === "http" ? { protocol: "HTTP", port: config.platform ? 80 : config.port } : { protocol: "HTTPS", port: 443 };
}

/** Lattice's idle timeout, the closest it has to App Mesh's per-request timeout (60-600 s). */
export function latticeIdleTimeout(config: CanaryConfig): number {
    return Math.min(LATTICE_MAX_IDLE_SECONDS, Math.max(60, config.idleTimeoutSeconds));
}

/** One version's IP target group: the model's port, and a health check from the shared config. */
export function targetGroupConfig(model: CanaryModel, vpcId: Input<string>): aws.types.input.vpclattice.TargetGroupConfig {
    const { config } = model;
    const hc = config.healthCheck;
    return {
        vpcIdentifier: vpcId,
        port: config.port,
        protocol: "HTTP",
        protocolVersion: PROTOCOL_VERSION[config.protocol],
        healthCheck: {
            enabled: true,
            protocol: "HTTP",
            // Health checks speak HTTP/1.1 or HTTP/2, not gRPC; a gRPC server answers the path over HTTP/2.
            protocolVersion: config.protocol === "http" ? "HTTP1" : "HTTP2",
            port: config.port,
            path: hc.path,
            healthCheckIntervalSeconds: hc.intervalSeconds,
            healthCheckTimeoutSeconds: hc.timeoutSeconds,
            healthyThresholdCount: hc.healthyThreshold,
            unhealthyThresholdCount: hc.unhealthyThreshold,
            matcher: { value: "200" },
        },
    };
}

/** The canary split: `100 - canaryWeight` to stable, `canaryWeight` to canary. */
export function weightedDefaultAction(model: CanaryModel, targetGroupIds: Record<Version, Input<string>>): aws.types.input.vpclattice.ListenerDefaultAction {
    return {
        forwards: [
            {
                targetGroups: model.versions.map((v) => ({ targetGroupIdentifier: targetGroupIds[v.version], weight: v.weight })),
            },
        ],
    };
}

/** Requests carrying the pin header with a version's value (`pinValue` for the canary, `stablePinValue` for stable) go to that version at any weight. */
export function pinRule(model: CanaryModel, version: Version, targetGroupId: Input<string>) {
    const value = version === "canary" ? model.config.pinValue : model.config.stablePinValue;
    return {
        priority: PIN_RULE_PRIORITY[version],
        match: {
            httpMatch: {
                headerMatches: [{ name: model.config.pinHeader, caseSensitive: true, match: { exact: value } }],
            },
        },
        action: { forward: { targetGroups: [{ targetGroupIdentifier: targetGroupId, weight: 100 }] } },
    };
}

/** With AWS_IAM auth, only the listed principals may invoke this one service. */
export function authPolicy(principals: Input<string>[], serviceArn: Input<string>): pulumi.Output<string> {
    return pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { AWS: principals },
                Action: "vpc-lattice-svcs:Invoke",
                Resource: pulumi.interpolate`${serviceArn}/*`,
            },
        ],
    });
}

/**
 * What ECS needs to keep one version's tasks registered in its own target group. The
 * EC2 Describe actions have no resource type in IAM, so they name `*`; AWS's managed
 * policy for this names every target group, this names one.
 */
export function latticeRegistrationPolicy(targetGroupArn: Input<string>): pulumi.Output<string> {
    return policyDocument([
        {
            Effect: "Allow",
            Action: ["vpc-lattice:RegisterTargets", "vpc-lattice:DeregisterTargets", "vpc-lattice:GetTargetGroup", "vpc-lattice:ListTargets"],
            Resource: targetGroupArn,
        },
        { Effect: "Allow", Action: ["ec2:DescribeSubnets", "ec2:DescribeVpcs", "ec2:DescribeInstances"], Resource: "*" },
    ]);
}
