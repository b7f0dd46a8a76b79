/**
 * `rollout check`: every stack file in the repository, found rather than listed, is valid as
 * the program reads it; a broken copy is refused with every problem named in one run; a
 * service's platform reference is checked against the platform's stack file; `secure:`
 * values are taken as set; values left from the examples are warnings, never failures.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { checkPlatformStack, checkServiceStack, exampleValues, serviceProjectDir } from "../../../rollout/cli/check";
import { main } from "../../../rollout/cli/main";
import { ROOT, STACKS } from "../../harness/stacks";

const PLATFORMS = fs.readdirSync(path.join(ROOT, "platform")).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []);

test.each(STACKS)("Pulumi.%s.yaml has no problem", (stack) => {
    for (const result of checkServiceStack(ROOT, stack)) expect(result.problems).toEqual([]);
});

test.each(PLATFORMS)("platform/Pulumi.%s.yaml has no problem", (stack) => {
    expect(checkPlatformStack(ROOT, stack).problems).toEqual([]);
});

test("a service on a platform is checked with the platform's file, which joins the results", () => {
    expect(checkServiceStack(ROOT, "rag-llm").map((r) => r.file)).toEqual(["Pulumi.rag-llm.yaml", path.join("platform", "Pulumi.rag.yaml")]);
});

describe("on a copy of the project", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-"));
        for (const file of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.rag-llm.yaml"]) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
        fs.mkdirSync(path.join(dir, "platform"));
        for (const file of ["Pulumi.yaml", "Pulumi.rag.yaml"]) fs.copyFileSync(path.join(ROOT, "platform", file), path.join(dir, "platform", file));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    const edit = (file: string, change: (text: string) => string) =>
        fs.writeFileSync(path.join(dir, file), change(fs.readFileSync(path.join(dir, file), "utf8")));

    test("a mistyped namespace, a weight of 150 and an unknown key are named in one run", () => {
        edit(
            "Pulumi.dev.yaml",
            (t) =>
                t.replace("ai-inference-canary:port:", "ai-inference-canry:port:").replace("canaryWeight: 0", "canaryWeight: 150") +
                "  ai-inference-canary:bogusKey: 1\n",
        );
        const [result] = checkServiceStack(dir, "dev");
        expect(result.problems.map((p) => [p.key, p.got])).toEqual([
            ["ai-inference-canry:port", "(set)"],
            ["canaryWeight", "150"],
            ["bogusKey", "1"],
        ]);
    });

    test("the command names them and exits 1; a valid file exits 0 with its warnings", async () => {
        edit(
            "Pulumi.dev.yaml",
            (t) =>
                t.replace("ai-inference-canary:port:", "ai-inference-canry:port:").replace("canaryWeight: 0", "canaryWeight: 150") +
                "  ai-inference-canary:bogusKey: 1\n",
        );
        const lines: string[] = [];
        const log = jest.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
        const cwd = process.cwd();
        try {
            process.chdir(dir);
            expect(await main(["check", "--stack", "dev"])).toBe(1);
            expect(lines.join("\n")).toMatch(/Pulumi\.dev\.yaml: 3 problems.*\n.*ai-inference-canry:port.*\n.*canaryWeight: got "150".*\n.*bogusKey/);
            lines.length = 0;
            expect(await main(["check", "--stack", "rag-llm"])).toBe(0);
            expect(lines.join("\n")).toContain("values left from the examples");
            process.chdir(path.join(dir, "platform"));
            expect(await main(["check", "--platform", "rag"])).toBe(0);
        } finally {
            process.chdir(cwd);
            log.mockRestore();
        }
    });

    test("secure: values are taken as set, and a secret in plain container environment is still refused", () => {
        edit("Pulumi.dev.yaml", (t) => t.replace("  ai-inference-canary:modelLoadSeconds: 300", "  ai-inference-canary:modelLoadSeconds:\n    secure: v1:abc"));
        expect(checkServiceStack(dir, "dev")[0].problems).toEqual([]);
        edit("Pulumi.dev.yaml", (t) => t + "  ai-inference-canary:evaluation:\n    secure: v1:def\n");
        expect(checkServiceStack(dir, "dev")[0].problems.map((p) => p.key)).toEqual(["evaluation"]);
    });

    test("a service's platform reference: its GPU pool must exist in the platform's file; a platform file not in the repository is a warning", () => {
        edit(path.join("platform", "Pulumi.rag.yaml"), (t) => t.replace(/g6\.xlarge/g, "g6.2xlarge"));
        expect(checkServiceStack(dir, "rag-llm")[0].problems.map((p) => p.key)).toEqual(["stable.gpu.instanceType", "canary.gpu.instanceType"]);
        fs.rmSync(path.join(dir, "platform", "Pulumi.rag.yaml"));
        const [result] = checkServiceStack(dir, "rag-llm");
        expect(result.problems).toEqual([]);
        expect(result.warnings).toContainEqual(expect.stringMatching(/^platform: platform\/Pulumi\.rag\.yaml is not in this repository/));
    });

    test("the project directory is found from the project or its platform/", () => {
        expect(serviceProjectDir(dir)).toBe(dir);
        expect(serviceProjectDir(path.join(dir, "platform"))).toBe(dir);
        expect(serviceProjectDir(os.tmpdir())).toBeUndefined();
    });
});

test.each([
    ["the documentation account", { stable: JSON.stringify({ image: "123456789012.dkr.ecr.us-west-2.amazonaws.com/m:1" }) }, "stable.image"],
    ["a documentation CIDR", { alb: JSON.stringify({ allowedCidrs: ["198.51.100.0/24"] }) }, "alb.allowedCidrs.0"],
    ["the examples' bucket", { canary: JSON.stringify({ weights: { source: "s3://my-model-bucket/llama" } }) }, "canary.weights.source"],
])("%s is a warning naming its key", (_, config, key) => {
    expect(exampleValues(config)).toEqual([expect.stringMatching(new RegExp(`^${key.replace(/\./g, "\\.")}: `))]);
});

test("a real account, network and bucket are not warned of", () => {
    expect(
        exampleValues({
            stable: JSON.stringify({ image: "210987654321.dkr.ecr.us-west-2.amazonaws.com/m:1", weights: { source: "s3://acme-models/llama" } }),
            alb: JSON.stringify({ allowedCidrs: ["10.0.0.0/8"] }),
        }),
    ).toEqual([]);
});
