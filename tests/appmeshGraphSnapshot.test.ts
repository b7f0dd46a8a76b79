/**
 * The App Mesh mode graph, pinned: every registered resource's URN (which carries its
 * parent and type) and inputs, for the committed stacks. A change to what App Mesh mode
 * deploys shows here as a snapshot diff, to be reviewed and committed on purpose
 * (`npx jest -u`).
 */
import { deploy } from "./harness/program";
import { APPMESH_STACKS, stackConfig } from "./harness/stacks";

// The mock monitor keeps the URN it gave each resource; the SDK marks the accessor internal.
const { getMonitor } = require("@pulumi/pulumi/runtime/settings") as {
    getMonitor(): { getRegisteredResources(): Map<string, unknown> };
};

test.each(APPMESH_STACKS)("App Mesh mode graph of stack %s", async (stack) => {
    const g = await deploy(stackConfig(stack));
    const urns = [...getMonitor().getRegisteredResources().keys()];
    const urnOf = (type: string, name: string) => urns.find((u) => u.endsWith(`${type}::${name}`));
    // Sorted, because registration order follows when inputs resolve, which the graph does not fix.
    const graph = g.resources
        .map((r) => ({ urn: urnOf(r.type, r.name), inputs: r.inputs }))
        .sort((a, b) => String(a.urn).localeCompare(String(b.urn)));
    expect(graph.every((r) => r.urn !== undefined)).toBe(true);
    expect(graph).toMatchSnapshot();
});
