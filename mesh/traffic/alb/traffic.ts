/**
 * The Application Load Balancer backend: the front door of a service that users (or
 * another network) call first. A load balancer in the public or private subnets admits
 * only `alb.allowedCidrs`; its listener's default action splits traffic between one IP
 * target group per version, with conversation affinity while the canary has traffic; a
 * rule pins requests carrying the pin header to the canary. ECS registers each version's
 * tasks in its own group, and the per-target-group metrics need no log parsing.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AlbCanaryConfig } from "../../config/schema";
import { Version, VERSIONS, byVersion } from "../../../contract/versions";
import { CanaryModel } from "../../canary/model";
import { Network } from "../../canary/network";
import { Declared, VersionMetrics } from "../../../contract/outputs";
import { modelLoadSecondsOf } from "../../compute/containers";
import { BackendOutputs, TrafficArgs, TrafficBackend, TrafficBackendKind } from "../backend";
import type { VersionJoin } from "../../compute/join";
import {
    ACCESS_LOG_PREFIX,
    accessLogBucketPolicy,
    elbDimension,
    entryIngress,
    listenerSpecs,
    PIN_RULE_PRIORITY,
    pinCondition,
    targetGroupArgs,
    weightedForward,
} from "./specs";
import { ec2Description } from "../../awsText";

interface AlbTrafficArgs {
    model: CanaryModel<AlbCanaryConfig>;
    network: Network;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    platform?: TrafficArgs["platform"];
}

/** The model server's container, by which ECS registers a task's IP in its version's target group. */
const MODEL_CONTAINER = "model";

class AlbTraffic extends pulumi.ComponentResource implements TrafficBackend {
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly targetGroups: Record<Version, aws.lb.TargetGroup>;
    /** Carries the canary split in its default action; the only resource a weight change touches. */
    readonly listener: aws.lb.Listener;
    readonly endpoint: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;
    readonly splitResource: pulumi.Resource;
    readonly outputs: BackendOutputs;
    private readonly config: AlbCanaryConfig;

    constructor(name: string, args: AlbTrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:traffic:AlbTraffic", name, {}, opts);
        const { model, network } = args;
        const { config } = model;
        this.config = config;
        const { alb } = config;
        const parent = { parent: this };

        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-entry`,
            {
                vpcId: network.vpcId,
                description: ec2Description("Application Load Balancer: the listed clients in, the model tasks out"),
                ingress: network.natAddresses.apply((addresses) =>
                    entryIngress(config, addresses).map((rule) => ({ ...rule, description: ec2Description(String(rule.description)) })),
                ),
                egress: [
                    {
                        description: ec2Description("requests and health checks to the model tasks"),
                        protocol: "tcp",
                        fromPort: config.port,
                        toPort: config.port,
                        cidrBlocks: [network.cidrBlock],
                    },
                ],
            },
            parent,
        );

        const accessLogs = alb.accessLogs ? this.accessLogBucket(name, args) : undefined;
        this.loadBalancer = new aws.lb.LoadBalancer(
            `${name}-lb`,
            {
                loadBalancerType: "application",
                internal: alb.scheme === "internal",
                subnets: alb.scheme === "internal" ? network.privateSubnetIds : network.publicSubnetIds,
                securityGroups: [securityGroup.id],
                // A model that thinks before its first token sends nothing for most of a request.
                idleTimeout: config.idleTimeoutSeconds,
                dropInvalidHeaderFields: true,
                ...(accessLogs ? { accessLogs: { bucket: accessLogs.id, prefix: ACCESS_LOG_PREFIX, enabled: true } } : {}),
            },
            accessLogs ? { parent: this, dependsOn: [accessLogs] } : parent,
        );

        this.targetGroups = byVersion((version) => new aws.lb.TargetGroup(`${name}-${version}`, targetGroupArgs(config, network.vpcId), parent));
        const arns = { stable: this.targetGroups.stable.arn, canary: this.targetGroups.canary.arn };

        const { serving, redirect } = listenerSpecs(config);
        this.listener = new aws.lb.Listener(
            `${name}-listener`,
            {
                loadBalancerArn: this.loadBalancer.arn,
                ...serving,
                ...(serving.protocol === "HTTPS" ? { certificateArn: alb.certificateArn, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" } : {}),
                defaultActions: [{ type: "forward", forward: weightedForward(model, arns) }],
            },
            parent,
        );
        this.splitResource = this.listener;
        if (redirect) {
            new aws.lb.Listener(
                `${name}-redirect`,
                {
                    loadBalancerArn: this.loadBalancer.arn,
                    ...redirect,
                    defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: String(serving.port), statusCode: "HTTP_301" } }],
                },
                parent,
            );
        }
        const [pin] = VERSIONS.map(
            (version) =>
                new aws.lb.ListenerRule(
                    version === "canary" ? `${name}-pin` : `${name}-pin-stable`,
                    {
                        listenerArn: this.listener.arn,
                        priority: PIN_RULE_PRIORITY[version],
                        conditions: pinCondition(config, version),
                        actions: [{ type: "forward", targetGroupArn: arns[version] }],
                    },
                    parent,
                ),
        );

        // On a platform the load balancer has a stable name in the platform's zone (callers in the VPC reach an internal one).
        const platform = args.platform;
        if (platform) {
            const stableName = `${config.serviceName}.${platform.zoneName}`;
            new aws.route53.Record(
                `${name}-name`,
                {
                    zoneId: platform.zoneId,
                    name: stableName,
                    type: "A",
                    aliases: [{ name: this.loadBalancer.dnsName, zoneId: this.loadBalancer.zoneId, evaluateTargetHealth: true }],
                },
                parent,
            );
            this.endpoint = pulumi.output(stableName);
        } else this.endpoint = this.loadBalancer.dnsName;
        this.url = pulumi.interpolate`${serving.protocol.toLowerCase()}://${this.endpoint}:${serving.port}`;
        this.outputs = {
            trafficBackend: "alb",
            loadBalancerArn: this.loadBalancer.arn,
            listenerArn: this.listener.arn,
            pinRuleArn: pin.arn,
            stableTargetGroupArn: arns.stable,
            canaryTargetGroupArn: arns.canary,
        };
        this.registerOutputs({ endpoint: this.endpoint });
    }

    /** An S3 bucket for the access logs: private, encrypted with S3's keys (the only kind ELB delivery takes), writable by ELB under the prefix. */
    private accessLogBucket(name: string, { accountId, region }: AlbTrafficArgs): aws.s3.BucketPolicy {
        const parent = { parent: this };
        const bucket = new aws.s3.Bucket(`${name}-logs`, { forceDestroy: false }, parent);
        new aws.s3.BucketPublicAccessBlock(
            `${name}-logs`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            parent,
        );
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-logs`,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
            parent,
        );
        return new aws.s3.BucketPolicy(`${name}-logs`, { bucket: bucket.id, policy: accessLogBucketPolicy(bucket.arn, accountId, region) }, parent);
    }

    /**
     * ECS registers the version's tasks in its own target group, and gives a new task the
     * model's load time before the group's failed health checks count against it: a GPU
     * task still loading its weights is not killed for it.
     */
    join(version: Version): VersionJoin {
        const targetGroupArn = this.targetGroups[version].arn;
        return {
            service: () => ({
                loadBalancers: [{ targetGroupArn, containerName: MODEL_CONTAINER, containerPort: this.config.port }],
                healthCheckGracePeriodSeconds: modelLoadSecondsOf(this.config, version),
            }),
        };
    }

    /** A caller reaches the load balancer by its address; the evaluation calls it from inside the VPC, which an internal ALB admits only if allowedCidrs covers it. */
    client(): { join: VersionJoin; url: pulumi.Output<string> } {
        return { join: {}, url: this.url };
    }

    /**
     * The ALB publishes per-target-group metrics itself, keyed by both the group and the
     * load balancer. `TargetResponseTime` is in seconds and ends when the target starts
     * its response, so for a streamed answer it is close to the time to first byte.
     */
    versionMetrics(): Record<Version, Declared<VersionMetrics>> {
        const metrics = byVersion<Declared<VersionMetrics>>((version) => {
            const dimensions = { TargetGroup: this.targetGroups[version].arn.apply(elbDimension), LoadBalancer: this.loadBalancer.arn.apply(elbDimension) };
            const metric = (metricName: string) => ({ namespace: "AWS/ApplicationELB", metricName, dimensions });
            return {
                requests: metric("RequestCount"),
                errors: metric("HTTPCode_Target_5XX_Count"),
                connectionErrors: metric("TargetConnectionErrorCount"),
                latencyMs: { ...metric("TargetResponseTime"), unit: "Seconds" },
            };
        });
        return metrics;
    }
}

/** The Application Load Balancer: everything it needs is inside `AlbTraffic`. */
export function albBackend(config: AlbCanaryConfig): TrafficBackendKind {
    return {
        // The load balancer's nodes sit in the VPC's subnets; its own group lets out only the model port.
        taskIngress: ({ vpcCidr }) => ({ description: ec2Description("inference requests from the load balancer in the VPC"), cidrBlocks: [vpcCidr] }),
        declare: (name: string, args: TrafficArgs, opts: pulumi.ComponentResourceOptions) =>
            new AlbTraffic(
                `${name}-alb`,
                { model: { ...args.model, config }, network: args.network, accountId: args.accountId, region: args.region, platform: args.platform },
                opts,
            ),
    };
}
