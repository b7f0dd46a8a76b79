/**
 * The VPC Lattice traffic backend: a service network associated with the VPC, a Lattice
 * service whose listener splits traffic between one IP target group per version, and a
 * rule that pins requests carrying the pin header to the canary. ECS registers each
 * version's tasks in its target group, so no proxy runs beside the model.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { LatticeCanaryConfig } from "../../config/schema";
import { Version, byVersion } from "../../../contract/versions";
import { CanaryModel } from "../../canary/model";
import { Network } from "../../canary/network";
import { Declared, VersionMetrics } from "../../../contract/outputs";
import { serviceTrustPolicy } from "../../compute/iam";
import { serviceNetwork } from "../../foundation/foundation";
import { ec2Description } from "../../awsText";
import { BackendOutputs, TrafficArgs, TrafficBackend, TrafficBackendKind } from "../backend";
import type { VersionJoin } from "../../compute/join";
import { authPolicy, latticeIdleTimeout, latticeRegistrationPolicy, listenerProtocol, pinRule, targetGroupConfig, weightedDefaultAction } from "./specs";

interface LatticeTrafficArgs {
    model: CanaryModel<LatticeCanaryConfig>;
    network: Network;
    platform?: TrafficArgs["platform"];
    invokers?: TrafficArgs["invokers"];
}

/** Name of the model server's port mapping, by which ECS registers it in a Lattice target group. */
const MODEL_PORT_NAME = "model";

class LatticeTraffic extends pulumi.ComponentResource implements TrafficBackend {
    readonly service: aws.vpclattice.Service;
    readonly targetGroups: Record<Version, aws.vpclattice.TargetGroup>;
    /** Carries the canary split in its default action; the only resource a weight change touches. */
    readonly listener: aws.vpclattice.Listener;
    readonly pinRule: aws.vpclattice.ListenerRule;
    readonly endpoint: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;
    readonly splitResource: pulumi.Resource;
    readonly outputs: BackendOutputs;

    constructor(name: string, args: LatticeTrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:traffic:LatticeTraffic", name, {}, opts);
        const { model, network } = args;
        const { config } = model;
        const { lattice } = config;
        const parent = { parent: this };

        const { port } = listenerProtocol(config);
        // On a platform the service joins its service network (whose security group admits the port: `joinProblems`).
        const serviceNetworkId = args.platform
            ? pulumi.output(args.platform.serviceNetworkId)
            : serviceNetwork(name, { vpcId: network.vpcId, cidrBlock: network.cidrBlock, ports: [port] }, parent).id;

        // On a platform the service has a stable name in the platform's zone, by which callers find it.
        const stableName = args.platform ? `${config.serviceName}.${args.platform.zoneName}` : undefined;
        const customDomainName = lattice.customDomainName ?? stableName;
        this.service = new aws.vpclattice.Service(
            `${name}-service`,
            {
                authType: lattice.authType,
                customDomainName,
                certificateArn: lattice.certificateArn,
                idleTimeoutSeconds: latticeIdleTimeout(config),
            },
            parent,
        );
        new aws.vpclattice.ServiceNetworkServiceAssociation(
            `${name}-service`,
            { serviceIdentifier: this.service.id, serviceNetworkIdentifier: serviceNetworkId },
            parent,
        );
        if (lattice.authType === "AWS_IAM") {
            new aws.vpclattice.AuthPolicy(
                `${name}-auth`,
                { resourceIdentifier: this.service.arn, policy: authPolicy([...lattice.allowedPrincipals, ...(args.invokers ?? [])], this.service.arn) },
                parent,
            );
        }

        this.targetGroups = byVersion(
            (version) => new aws.vpclattice.TargetGroup(`${name}-${version}`, { type: "IP", config: targetGroupConfig(model, network.vpcId) }, parent),
        );
        const targetGroupIds = { stable: this.targetGroups.stable.id, canary: this.targetGroups.canary.id };

        this.listener = new aws.vpclattice.Listener(
            `${name}-listener`,
            {
                serviceIdentifier: this.service.id,
                ...listenerProtocol(config),
                defaultAction: weightedDefaultAction(model, targetGroupIds),
            },
            parent,
        );
        this.splitResource = this.listener;
        this.pinRule = new aws.vpclattice.ListenerRule(
            `${name}-pin`,
            { serviceIdentifier: this.service.id, listenerIdentifier: this.listener.listenerId, ...pinRule(model, "canary", targetGroupIds.canary) },
            parent,
        );
        new aws.vpclattice.ListenerRule(
            `${name}-pin-stable`,
            { serviceIdentifier: this.service.id, listenerIdentifier: this.listener.listenerId, ...pinRule(model, "stable", targetGroupIds.stable) },
            parent,
        );

        const generated = this.service.dnsEntries.apply((entries) => entries[0]?.domainName ?? "");
        if (args.platform && stableName && customDomainName === stableName) {
            new aws.route53.Record(`${name}-name`, { zoneId: args.platform.zoneId, name: stableName, type: "CNAME", ttl: 300, records: [generated] }, parent);
        }
        this.endpoint = customDomainName ? pulumi.output(customDomainName) : generated;
        this.url = pulumi.interpolate`${listenerProtocol(config).protocol.toLowerCase()}://${this.endpoint}:${port}`;

        this.outputs = {
            trafficBackend: "lattice",
            serviceNetworkId,
            latticeServiceArn: this.service.arn,
            listenerArn: this.listener.arn,
            pinRuleArn: this.pinRule.arn,
            stableTargetGroupArn: this.targetGroups.stable.arn,
            canaryTargetGroupArn: this.targetGroups.canary.arn,
        };
        this.registerOutputs({ endpoint: this.endpoint });
    }

    /**
     * ECS registers the version's tasks in its own target group, by the model's port name,
     * through an infrastructure role that may register in that target group only. The
     * task itself needs no role.
     */
    join(version: Version): VersionJoin {
        const targetGroupArn = this.targetGroups[version].arn;
        return {
            modelPortName: MODEL_PORT_NAME,
            service: ({ name, opts, accountId, tags }) => {
                const role = new aws.iam.Role(`${name}-lattice`, { assumeRolePolicy: serviceTrustPolicy("ecs.amazonaws.com", accountId), tags }, opts);
                new aws.iam.RolePolicy(`${name}-lattice`, { role: role.id, policy: latticeRegistrationPolicy(targetGroupArn) }, opts);
                return { vpcLatticeConfigurations: [{ roleArn: role.arn, targetGroupArn, portName: MODEL_PORT_NAME }] };
            },
        };
    }

    /** A caller in the VPC the service network is associated with needs nothing but the address. */
    client(): { join: VersionJoin; url: pulumi.Output<string> } {
        return { join: {}, url: this.url };
    }

    /** Lattice publishes per-target-group metrics itself, so nothing is declared. */
    versionMetrics(): Record<Version, Declared<VersionMetrics>> {
        const metrics = byVersion<Declared<VersionMetrics>>((version) => {
            const dimensions = { TargetGroup: this.targetGroups[version].id };
            const metric = (metricName: string) => ({ namespace: "AWS/VpcLattice", metricName, dimensions });
            return {
                requests: metric("TotalRequestCount"),
                errors: metric("HTTPCode_5XX_Count"),
                latencyMs: metric("RequestTime"),
            };
        });
        return metrics;
    }
}

/** VPC Lattice: everything it needs is inside `LatticeTraffic`. */
export function latticeBackend(config: LatticeCanaryConfig): TrafficBackendKind {
    return {
        // Lattice reaches targets from its managed prefix list, so the tasks admit that list and nothing else.
        taskIngress({ region }, opts) {
            const prefixList = aws.ec2.getManagedPrefixListOutput({ name: pulumi.interpolate`com.amazonaws.${region}.vpc-lattice` }, opts);
            return { description: ec2Description("inference requests from VPC Lattice"), prefixListIds: [prefixList.id] };
        },
        declare: (name: string, args: TrafficArgs, opts: pulumi.ComponentResourceOptions) =>
            new LatticeTraffic(
                `${name}-lattice`,
                { model: { ...args.model, config }, network: args.network, platform: args.platform, invokers: args.invokers },
                opts,
            ),
    };
}
