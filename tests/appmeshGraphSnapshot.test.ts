/**
 * The App Mesh mode graph, pinned: every registered resource's type, logical name and
 * inputs for the committed stacks. A change to what App Mesh mode deploys shows here
 * as a snapshot diff, to be reviewed and committed on purpose (`npx jest -u`).
 */
import { deploy } from "./harness/program";
import { STACKS, stackConfig } from "./harness/stacks";

test.each(STACKS)("App Mesh mode graph of stack %s", async (stack) => {
    const g = await deploy(stackConfig(stack));
    // Sorted, because registration order follows when inputs resolve, which the graph does not fix.
    const graph = g.resources
        .map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }))
        .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
    expect(graph).toMatchSnapshot();
});
