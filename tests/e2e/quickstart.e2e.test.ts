/**
 * The README's quick start, as pasted: its `IMAGE=` line and its deploy command, run by a
 * shell against the stand-in `pulumi` (which edits the stack file as the CLI does and runs
 * the real program under the test mocks for `up`), from a copy of the committed
 * `Pulumi.dev.yaml`. The nearest proof here that a new account's first `pulumi up`
 * deploys a stack with the canary at 0%. And the first hour's other turns: the CLI from
 * any directory, a stack never deployed, a stack on App Mesh.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT, World } from "./harness";
import { readStack } from "./standins/world";

let world: World;
afterEach(async () => {
    await world?.close();
});

/** The quick start's shell lines: the image it names and the command that deploys. */
function quickStart(): { image: string; deploy: string } {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Quick start"), readme.indexOf("\n## ", readme.indexOf("## Quick start") + 1));
    const lines = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap(([, block]) => block.split("\n"));
    const image = lines.find((l) => l.startsWith("IMAGE="));
    const deploy = lines.find((l) => /\bpulumi up\b/.test(l));
    if (!image || !deploy) throw new Error("the README's quick start has no IMAGE= line or no pulumi up command");
    return { image, deploy };
}

test("the quick start's commands, as pasted, deploy the dev stack (Lattice) with both versions on the image and the canary at 0%", () => {
    world = new World();
    fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(world.project, "Pulumi.dev.yaml"));
    const { image, deploy } = quickStart();
    // `npm ci` installs this repository's packages, which the test already runs from.
    expect(deploy.startsWith("npm ci && ")).toBe(true);
    const script = `set -e\n${image}\n${deploy.replace(/^npm ci && /, "")}\n`;
    const run = world.run("bash", ["-c", script]);
    expect({ status: run.status, output: run.output }).toEqual({ status: 0, output: expect.any(String) });

    const imageValue = image.replace(/^IMAGE=/, "").replace(/\s+#.*$/, "");
    const config = world.readConfigOf("dev");
    expect(config["ai-inference-canary:canaryWeight"]).toBe(0);
    expect(config["ai-inference-canary:stable"]).toMatchObject({ image: imageValue });
    expect(config["ai-inference-canary:canary"]).toMatchObject({ image: imageValue });

    process.env.STANDIN_STATE_DIR = world.state;
    const deployed = readStack("dev")!;
    expect(deployed.outputs).toMatchObject({ trafficBackend: "lattice", canaryWeight: 0, stableWeight: 100 });
    expect(deployed.history.at(-1)).toMatchObject({ kind: "update", result: "succeeded" });
    const images = deployed.resources
        .filter((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition")
        .map((r) => JSON.parse(String(r.inputs.containerDefinitions)).find((c: { name: string }) => c.name === "model").image);
    expect(images).toEqual([imageValue, imageValue]);
});

test("scripts/rollout runs from any directory: --help from /, and check from the project's platform/", () => {
    world = new World();
    const script = path.join(ROOT, "scripts", "rollout");
    const help = world.run(script, ["--help"], "/");
    expect({ status: help.status, first: help.output.split("\n")[0] }).toEqual({ status: 0, first: "usage: rollout <command> [options]" });
    const check = world.run(script, ["check", "--platform", "rag"], path.join(ROOT, "platform"));
    expect({ status: check.status, output: check.output.trim() }).toEqual({
        status: 0,
        output: "platform/Pulumi.rag.yaml: valid, as the program will read it",
    });
});

test("a dry run on a stack created but never deployed is told to deploy it first", async () => {
    world = await new World().start();
    fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(world.project, "Pulumi.dev.yaml"));
    expect(world.run("pulumi", ["stack", "select", "--create", "dev"]).status).toBe(0);
    const run = await world.cli(["run", "--stack", "dev", "--dry-run"]);
    expect(run.code).toBe(2);
    expect(run.lastLine).toBe("error: stack dev has not been deployed yet (it has no outputs): deploy it first with `pulumi up`, then run this again");
});

test("a rollout of a stack on App Mesh is refused in one line, before anything is read from AWS", async () => {
    world = await new World().start();
    fs.copyFileSync(path.join(ROOT, "Pulumi.appmesh.yaml"), path.join(world.project, "Pulumi.appmesh.yaml"));
    expect(world.run("pulumi", ["stack", "select", "--create", "appmesh"]).status).toBe(0);
    const run = await world.cli(["run", "--stack", "appmesh", "--yes"], undefined, { NODE_NO_WARNINGS: "1" });
    expect(run.code).toBe(4);
    expect(run.output.trim().split("\n")).toEqual([
        expect.stringMatching(/^refused: appmesh is on App Mesh\. AWS ended App Mesh on 2026-09-30 and no longer serves its API or resources/),
    ]);
});
