/**
 * Every taggable resource says which service and stack it serves: the list of taggable
 * types is held to the provider SDK's own types, and every resource is checked for the
 * tags, on the feature paths no committed stack takes (`tests/stacks.test.ts` checks every
 * committed stack with `expectTagged`).
 */
import { deploy } from "./harness/program";
import { expectTagged } from "./harness/tags";
import { BASE_CONFIG } from "./harness/stacks";
import { loadConfig } from "../mesh/config/schema";

const FEATURES: Record<string, Record<string, string>> = {
    "alb with access logs": { ...BASE_CONFIG, trafficBackend: "alb", alb: JSON.stringify({ allowedCidrs: ["10.0.0.0/8"], accessLogs: true }) },
    "lattice with AWS_IAM": {
        ...BASE_CONFIG,
        trafficBackend: "lattice",
        lattice: JSON.stringify({ authType: "AWS_IAM", allowedPrincipals: ["arn:aws:iam::123456789012:role/caller"] }),
    },
};

test.each(Object.entries(FEATURES))("%s: its types' taggability is the SDK's, and every taggable resource is tagged", async (_, config) => {
    expectTagged(await deploy(config), loadConfig(config).serviceName);
});
