import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, projectKeys } from "./mesh/config/stackConfig";
import { InferenceCanary } from "./mesh/canary/component";
import { trafficBackendFor } from "./mesh/traffic";
import { Declared, StackOutputs } from "./contract/outputs";
import { stackTags, tagged } from "./mesh/tags";
import { joinPlatform } from "./mesh/foundation/platformReference";

/**
 * The program: validate the stack's config (before any resource is declared, so bad
 * config changes nothing), declare the canary on its traffic backend, and export the
 * outputs the rollout reads. Pulumi calls the exported function and exports its result.
 */
export = async (): Promise<Declared<StackOutputs>> => {
    const project = pulumi.getProject();
    const all = pulumi.runtime.allConfig();
    // The SDK has no public way to ask which keys were set with --secret; its own check is this.
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret ?? (() => false);
    const config = loadStackConfig(
        all,
        project,
        Object.keys(projectKeys(all, project)).filter((key) => isSecret(`${project}:${key}`)),
    );
    const tags = stackTags({ service: config.serviceName, stack: pulumi.getStack(), platform: config.platform });
    // A standalone stack keeps the names it always had; on a platform, AWS shows which service a resource serves.
    const name = config.platform ? config.serviceName : "inference";
    // The platform's outputs are read, and the service checked against them, before anything is declared.
    const platform = config.platform ? await joinPlatform({ ...config, platform: config.platform }) : undefined;
    return new InferenceCanary(name, { config, traffic: trafficBackendFor(config), platform }, { transformations: [tagged(tags)] }).outputs;
};
