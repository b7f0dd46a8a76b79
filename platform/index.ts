import * as pulumi from "@pulumi/pulumi";
import { loadPlatformConfig } from "./config";
import { projectKeys } from "../mesh/config/stackConfig";
import { Platform } from "./platform";
import { Declared, PlatformOutputs } from "../contract/outputs";
import { stackTags, tagged } from "../mesh/tags";

/**
 * The platform program: validate the stack's config before anything is declared, declare
 * what the services share, and export what they read through a `StackReference` (and where
 * its dashboard is).
 */
export = (): Declared<PlatformOutputs> & { dashboardUrl: pulumi.Output<string> } => {
    const config = loadPlatformConfig(projectKeys(pulumi.runtime.allConfig(), pulumi.getProject()));
    const tags = stackTags({ stack: pulumi.getStack(), platform: pulumi.getStack() });
    const platform = new Platform("platform", { config, stack: pulumi.getStack() }, { transformations: [tagged(tags)] });
    return { ...platform.outputs, dashboardUrl: platform.dashboardUrl };
};
