/**
 * The GitHub workflows name the stacks the repository has: every stack file is previewed on
 * pull requests, in its own region, the platform's services after the platform; main
 * deploys dev, on Lattice; a rollout may be started on every stack but App Mesh's.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { stackConfig, STACKS, STANDALONE_STACKS } from "./harness/stacks";
import { PLATFORM_PROJECT } from "../contract/outputs";

const ROOT = path.join(__dirname, "..");
const workflow = (name: string) => yaml.load(fs.readFileSync(path.join(ROOT, ".github", "workflows", name), "utf8")) as any;
const pulumi = workflow("pulumi.yml");
const region = (file: string) => (yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8")) as { config: Record<string, string> }).config["aws:region"];
const matrix = (job: string) => (pulumi.jobs[job].strategy.matrix.include as { stack: string; region: string }[]).map((m) => [m.stack, m.region]);
const PLATFORMS = fs.readdirSync(path.join(ROOT, "platform")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);

test("every standalone stack file is previewed, in the region its file names", () => {
    expect(matrix("preview")).toEqual([...STANDALONE_STACKS].sort().map((s) => [s, region(`Pulumi.${s}.yaml`)]));
});

test("every platform stack file is previewed in platform/, and the services on a platform after it", () => {
    expect(matrix("preview-platform")).toEqual(PLATFORMS.sort().map((s) => [s, region(path.join("platform", `Pulumi.${s}.yaml`))]));
    expect(pulumi.jobs["preview-platform"].steps.at(-1).with["work-dir"]).toBe("platform");
    const onPlatform = STACKS.filter((s) => !(STANDALONE_STACKS as string[]).includes(s)).sort();
    expect(matrix("preview-platform-services")).toEqual(onPlatform.map((s) => [s, region(`Pulumi.${s}.yaml`)]));
    expect(pulumi.jobs["preview-platform-services"].needs).toBe("preview-platform");
    for (const s of onPlatform) expect(stackConfig(s).platform.split("/")[1]).toBe(PLATFORM_PROJECT);
});

test("main deploys dev, a Lattice stack, behind the guard", () => {
    const steps = pulumi.jobs["deploy-dev"].steps as { run?: string; with?: Record<string, string> }[];
    expect(steps.find((s) => s.with?.command === "up")?.with?.["stack-name"]).toBe("dev");
    expect(steps.some((s) => s.run === "./scripts/rollout guard --stack dev")).toBe(true);
    expect(stackConfig("dev").trafficBackend).toBe("lattice");
});

test("a rollout may be started on every stack file but the App Mesh ones, which it refuses", () => {
    const options = workflow("rollout.yml").on.workflow_dispatch.inputs.stack.options;
    expect(options).toEqual(STACKS.filter((s) => stackConfig(s).trafficBackend !== "appmesh").sort());
});
