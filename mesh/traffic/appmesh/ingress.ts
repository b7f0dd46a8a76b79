/**
 * The way in from outside the mesh: an App Mesh virtual gateway, run as its own
 * Fargate service of Envoy, behind a public Network Load Balancer. The gateway routes
 * every request to the virtual service, so outside callers get the same canary split
 * (and the same pin header) as callers inside the mesh.
 *
 * An NLB passes HTTP/1.1, h2c and gRPC through alike and holds a connection for as long
 * as the idle timeout allows; an ALB would cut long generations at its own timeout and
 * needs TLS for gRPC.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { AppMeshCanaryConfig } from "../../config/schema";
import { IngressConfig } from "./config";
import { CanaryModel } from "../../canary/model";
import { Network } from "../../canary/network";
import { EcsService } from "../../compute/service";
import { envoyContainer, envoyPolicy } from "./envoy";
import { GATEWAY_PORT, gatewayRouteSpec, virtualGatewaySpec } from "./specs";
import { ec2Description } from "../../awsText";

export interface IngressGatewayArgs {
    model: CanaryModel<AppMeshCanaryConfig>;
    ingress: IngressConfig;
    meshName: pulumi.Input<string>;
    /** The virtual service the gateway forwards to, from the virtual service resource. */
    virtualServiceName: pulumi.Input<string>;
    network: Network;
    clusterArn: pulumi.Input<string>;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
}

/** NLB TCP idle timeouts must lie in 60-6000 s. */
const nlbIdleTimeout = (seconds: number) => Math.min(6000, Math.max(60, seconds));

export class IngressGateway extends pulumi.ComponentResource {
    readonly virtualGateway: aws.appmesh.VirtualGateway;
    readonly gatewayRoute: aws.appmesh.GatewayRoute;
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly gateway: EcsService;
    /** Where outside callers send requests. */
    readonly url: pulumi.Output<string>;

    constructor(name: string, args: IngressGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ai-canary:ingress:IngressGateway", name, {}, opts);
        const { model, network } = args;
        const { config } = model;
        const { ingress } = args;
        const { envoyImage } = config.appmesh;
        const parent = { parent: this };

        this.virtualGateway = new aws.appmesh.VirtualGateway(name, { meshName: args.meshName, spec: virtualGatewaySpec(model) }, parent);
        this.gatewayRoute = new aws.appmesh.GatewayRoute(
            name,
            {
                meshName: args.meshName,
                virtualGatewayName: this.virtualGateway.name,
                spec: gatewayRouteSpec(model, args.virtualServiceName),
            },
            parent,
        );

        const lbSecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-lb`,
            {
                vpcId: network.vpcId,
                description: ec2Description("Public inference endpoint: the listener port from the allowed CIDRs"),
                ingress: [
                    {
                        description: ec2Description("inference callers"),
                        protocol: "tcp",
                        fromPort: ingress.port,
                        toPort: ingress.port,
                        cidrBlocks: ingress.allowedCidrs,
                    },
                ],
                egress: [
                    {
                        description: ec2Description("to the gateway tasks"),
                        protocol: "tcp",
                        fromPort: GATEWAY_PORT,
                        toPort: GATEWAY_PORT,
                        cidrBlocks: [network.cidrBlock],
                    },
                ],
            },
            parent,
        );
        const gatewaySecurityGroup = new aws.ec2.SecurityGroup(
            `${name}-tasks`,
            {
                vpcId: network.vpcId,
                description: ec2Description("Ingress gateway Envoy: the gateway port from the load balancer only"),
                ingress: [
                    {
                        description: ec2Description("from the load balancer"),
                        protocol: "tcp",
                        fromPort: GATEWAY_PORT,
                        toPort: GATEWAY_PORT,
                        securityGroups: [lbSecurityGroup.id],
                    },
                ],
                egress: [
                    {
                        description: ec2Description("to the model tasks, the App Mesh control plane and CloudWatch"),
                        protocol: "-1",
                        fromPort: 0,
                        toPort: 0,
                        cidrBlocks: ["0.0.0.0/0"],
                    },
                ],
            },
            parent,
        );

        this.loadBalancer = new aws.lb.LoadBalancer(
            name,
            {
                loadBalancerType: "network",
                internal: false,
                subnets: network.publicSubnetIds,
                securityGroups: [lbSecurityGroup.id],
                enableCrossZoneLoadBalancing: true,
            },
            parent,
        );
        const targetGroup = new aws.lb.TargetGroup(
            `${name}-tg`,
            {
                vpcId: network.vpcId,
                targetType: "ip",
                protocol: "TCP",
                port: GATEWAY_PORT,
                healthCheck: { protocol: "TCP", interval: 10, healthyThreshold: 2, unhealthyThreshold: 2 },
                // Let in-flight generations finish when a gateway task is replaced.
                deregistrationDelay: nlbIdleTimeout(config.requestTimeoutSeconds),
            },
            parent,
        );
        new aws.lb.Listener(
            name,
            {
                loadBalancerArn: this.loadBalancer.arn,
                port: ingress.port,
                protocol: "TCP",
                tcpIdleTimeoutSeconds: nlbIdleTimeout(config.idleTimeoutSeconds),
                defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
            },
            parent,
        );

        this.gateway = new EcsService(
            `${name}-envoy`,
            {
                family: `${pulumi.getStack()}-${config.serviceName}-gateway`,
                cpu: 1024,
                memory: 2048,
                desiredCount: ingress.desiredCount,
                image: envoyImage,
                containers: (logs) =>
                    pulumi.jsonStringify([
                        { ...envoyContainer(envoyImage, this.virtualGateway.arn, logs), portMappings: [{ containerPort: GATEWAY_PORT, protocol: "tcp" }] },
                    ]),
                join: {
                    taskPolicy: envoyPolicy(this.virtualGateway.arn),
                    service: () => ({
                        loadBalancers: [{ targetGroupArn: targetGroup.arn, containerName: "envoy", containerPort: GATEWAY_PORT }],
                        healthCheckGracePeriodSeconds: 60,
                    }),
                },
                clusterArn: args.clusterArn,
                subnetIds: network.privateSubnetIds,
                securityGroupIds: [gatewaySecurityGroup.id],
                accountId: args.accountId,
                region: args.region,
                logRetentionDays: config.logRetentionDays,
                tags: { "ai-canary:role": "ingress" },
            },
            parent,
        );

        const scheme = config.protocol === "grpc" ? "grpc" : "http";
        this.url = pulumi.interpolate`${scheme}://${this.loadBalancer.dnsName}:${ingress.port}`;
        this.registerOutputs({ url: this.url });
    }
}
