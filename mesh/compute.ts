/**
 * The compute that runs the model: one ECS Fargate service per version. A version's
 * service reads only that version's config and traffic attachment, so changing the
 * canary's image never touches the stable service, and the other way round.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryConfig, Version } from "./config";
import { VersionAttachment } from "./traffic/backend";
import { appMeshProxyConfiguration, taskContainers } from "./taskDefinition";
import { envoyPolicy } from "./iam";
import { FargateService } from "./fargateService";

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

/** Declares one version's model service: its model server with an Envoy sidecar bound to its own virtual node. */
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
            taskPolicy: envoyPolicy(attachment.virtualNodeArn),
            proxyConfiguration: appMeshProxyConfiguration(config),
            registryArn: attachment.discoveryServiceArn,
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
