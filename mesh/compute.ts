/**
 * The compute that runs the model: one ECS Fargate service per version. A version's
 * service reads only that version's config and traffic attachment, so changing the
 * canary's image never touches the stable service, and the other way round.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig, Version } from "./config";
import { VersionAttachment } from "./traffic/backend";
import { appMeshProxyConfiguration, MODEL_PORT_NAME, taskContainers } from "./taskDefinition";
import { envoyPolicy } from "./iam";
import { FargateService, FargateServiceArgs } from "./fargateService";

export interface ModelServiceArgs {
    config: CanaryConfig;
    version: Version;
    /** How this version's tasks join the traffic layer. */
    attachment: VersionAttachment;
    clusterArn: pulumi.Input<string>;
    subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
    accountId: pulumi.Input<string>;
    region: pulumi.Input<string>;
}

/**
 * How a version's tasks join the traffic layer. App Mesh: an Envoy sidecar bound to the
 * version's own node (its task role may read that node only), traffic redirected through
 * it, and registration in the node's Cloud Map service. Lattice: ECS registers the tasks
 * in the version's target group; the task needs no role.
 */
function joinTraffic(config: CanaryConfig, attachment: VersionAttachment): Partial<FargateServiceArgs> {
    if (attachment.kind === "appmesh") {
        return {
            taskPolicy: envoyPolicy(attachment.virtualNodeArn),
            proxyConfiguration: appMeshProxyConfiguration(config),
            registryArn: attachment.discoveryServiceArn,
        };
    }
    return { vpcLattice: { targetGroupArn: attachment.targetGroupArn, portName: MODEL_PORT_NAME } };
}

/** Declares one version's model service, joined to the traffic layer through its own attachment. */
export function modelService(name: string, args: ModelServiceArgs, opts: pulumi.ComponentResourceOptions): FargateService {
    const { config, version, attachment } = args;
    const v = config.versions[version];
    return new FargateService(
        name,
        {
            family: `${pulumi.getStack()}-${config.serviceName}-${version}`,
            cpu: v.cpu,
            memory: v.memory,
            desiredCount: v.desiredCount,
            image: v.image,
            containers: (logGroupName) => taskContainers({ config, version, attachment, logGroupName, region: args.region }),
            ...joinTraffic(config, attachment),
            clusterArn: args.clusterArn,
            subnetIds: args.subnetIds,
            securityGroupIds: args.securityGroupIds,
            accountId: args.accountId,
            logRetentionDays: config.logRetentionDays,
            tags: { "ai-canary:version": version },
        },
        opts,
    );
}
