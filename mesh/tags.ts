/**
 * Tags every taggable resource of a stack carries, so a service's resources are told apart
 * in the console and on the bill: `ai-canary:service`, `ai-canary:stack`, and
 * `ai-canary:platform` on a platform (a version's own resources add `ai-canary:version`).
 * Applied once, to the component and everything under it, by a transformation: no resource
 * can be declared without them.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * The resource types this program declares that take a `tags` map (their Args in the
 * provider's SDK declare one). `tests/tags.test.ts` holds this list to the SDK's types for
 * every type a committed stack declares, so a new type cannot be left out unnoticed. An Auto
 * Scaling group's `tags` are a list with `propagateAtLaunch`: its own code tags it.
 */
const TAGGABLE = new Set([
    "aws:appautoscaling/target:Target",
    "aws:appmesh/gatewayRoute:GatewayRoute",
    "aws:appmesh/mesh:Mesh",
    "aws:appmesh/route:Route",
    "aws:appmesh/virtualGateway:VirtualGateway",
    "aws:appmesh/virtualNode:VirtualNode",
    "aws:appmesh/virtualRouter:VirtualRouter",
    "aws:appmesh/virtualService:VirtualService",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:ec2/launchTemplate:LaunchTemplate",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ecs/capacityProvider:CapacityProvider",
    "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:iam/instanceProfile:InstanceProfile",
    "aws:iam/role:Role",
    "aws:lambda/function:Function",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:route53/zone:Zone",
    "aws:s3/bucket:Bucket",
    "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace",
    "aws:servicediscovery/service:Service",
    "aws:vpclattice/listener:Listener",
    "aws:vpclattice/listenerRule:ListenerRule",
    "aws:vpclattice/service:Service",
    "aws:vpclattice/serviceNetwork:ServiceNetwork",
    "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation",
    "aws:vpclattice/serviceNetworkVpcAssociation:ServiceNetworkVpcAssociation",
    "aws:vpclattice/targetGroup:TargetGroup",
    "awsx:ec2:Vpc",
]);

/**
 * Types the SDK could tag that the stack leaves untagged: CloudFormation's schema for ELB
 * listeners and rules has no Tags (the ELB API has), and the AWS request check every change
 * passes (`../shared/tools/awscheck`) holds the program to it; a listener is not billed on
 * its own, so the bill loses nothing.
 */
export const LEFT_UNTAGGED = new Set(["aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule"]);

/** Whether the stack tags a resource type. */
export const isTaggable = (type: string) => TAGGABLE.has(type);

/** The stack-level tags: which service (none on the platform itself), which stack, and which platform stack (by its name). */
export function stackTags(args: { service?: string; stack: string; platform?: string }): Record<string, string> {
    return {
        ...(args.service ? { "ai-canary:service": args.service } : {}),
        "ai-canary:stack": args.stack,
        ...(args.platform ? { "ai-canary:platform": args.platform.split("/").pop()! } : {}),
    };
}

/**
 * Adds `tags` to every taggable resource under the component it is given to, beneath the
 * resource's own (a version's `ai-canary:version` stays). It runs in the program, so the
 * tags are in each resource's inputs, as `pulumi preview` shows them.
 */
export function tagged(tags: Record<string, string>): pulumi.ResourceTransformation {
    return ({ type, props, opts }) =>
        isTaggable(type)
            ? { props: { ...props, tags: pulumi.output(props.tags ?? {}).apply((own: Record<string, string>) => ({ ...tags, ...own })) }, opts }
            : undefined;
}
