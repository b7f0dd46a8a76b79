/**
 * The committed stacks, each run once as `pulumi up` and once as `pulumi preview` of a
 * new stack would run it. The resource list (URN and type) of each is pinned in a
 * snapshot a reviewer can read: a change to what a stack deploys, or to any resource's
 * URN (which `pulumi up` would answer by replacing it), shows as a snapshot diff.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { deploy, Graph, runProgram } from "./harness/program";
import { stackConfig, STACKS } from "./harness/stacks";
import { loadConfig } from "../mesh/config/schema";
import { parseStackOutputs, PROJECT } from "../mesh/contract";

test("Pulumi.yaml names the project whose keys the program and the rollout read", () => {
    const project = yaml.load(fs.readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as { name: string };
    expect(project.name).toBe(PROJECT);
});

describe.each(STACKS)("stack %s", (stack) => {
    const config = stackConfig(stack);
    let up: Graph;
    beforeAll(async () => {
        up = await deploy(config);
    });

    test("deploys these resources (URN and type)", () => {
        expect(up.urns).toMatchSnapshot();
    });

    test("exports the outputs the rollout reads, with the configured weight", () => {
        const outputs = parseStackOutputs(up.outputs, stack);
        const { canaryWeight, trafficBackend } = loadConfig(config);
        expect(outputs).toMatchObject({ trafficBackend, canaryWeight, stableWeight: 100 - canaryWeight });
    });

    test("previews with unknown ids, ARNs and outputs, declaring the same resources", async () => {
        const preview = await runProgram(config, { preview: true });
        expect(preview.error).toBeUndefined();
        expect(preview.graph.urns).toEqual(up.urns);
    });
});
