/**
 * `pulumi preview` of a new stack, as CI runs it: ids, ARNs and computed outputs are
 * unknown. The program must still declare the same resources, in both backends.
 */
import { BASE_CONFIG, deploy, runProgram } from "./harness/program";
import { stackConfig } from "./harness/stacks";

const shape = (resources: { type: string; name: string }[]) => resources.map((r) => `${r.type}::${r.name}`).sort();

test.each([
    ["dev stack (App Mesh, ingress on)", stackConfig("dev")],
    ["prod stack (App Mesh)", stackConfig("prod")],
    ["lattice stack", stackConfig("lattice")],
    ["Lattice, AWS_IAM auth", { ...BASE_CONFIG, trafficBackend: "lattice", lattice: JSON.stringify({ authType: "AWS_IAM", allowedPrincipals: ["arn:aws:iam::123456789012:root"] }) }],
])("%s previews with unknowns and declares the same resources", async (_name, config) => {
    const preview = await runProgram(config, { preview: true });
    expect(preview.error).toBeUndefined();
    const up = await deploy(config);
    expect(shape(preview.graph.resources)).toEqual(shape(up.resources));
    // Unknown really is unknown here: no resource got an id or an ARN.
    expect(preview.graph.resources.every((r) => r.id === "" && r.state.arn === undefined)).toBe(true);
});
