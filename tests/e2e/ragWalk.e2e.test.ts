/**
 * docs/platform.md's walk from a new account to a first rollout, its shell blocks run as pasted,
 * in one shell, against the stand-ins as far as they reach: the values written by
 * `./scripts/rag-values`, every `rollout check`, the platform's and each service's `pulumi up`
 * (the stand-in `pulumi` runs the platform's program in `platform/`, and answers each service's
 * `StackReference` with the platform's deployed outputs), `rollout load` through the gateway's
 * load balancer and pins to both of its versions, and the first rollout of a new gateway build.
 *
 * Not run, and why: `$EDITOR` (the test writes the values), `aws` (the test puts the golden set
 * in the stand-in S3), `docker` and `hf` (no registry, no model hub here). The load runs one
 * minute, not 90; the rollout's prompt is answered with `--yes`.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { ROOT, World } from "./harness";
import { readStack } from "./standins/world";
import { ModelStandIns, startModelStandIns } from "./standins/models";

const SECTION = "### From a new account to a first rollout";
const VALUES = `account: "111122223333"
region: us-west-2
backend: self-managed
organization: organization
images:
  gateway: 111122223333.dkr.ecr.us-west-2.amazonaws.com/rag-gateway:1.0.0
  embedder: ghcr.io/huggingface/text-embeddings-inference:cpu-1.9.4
  reranker: ghcr.io/huggingface/text-embeddings-inference:cpu-1.9.4
  llm: 111122223333.dkr.ecr.us-west-2.amazonaws.com/vllm-openai:v0.9.0
  llm-cpu: ghcr.io/ggml-org/llama.cpp:server-b8840
llmCompute: cpu
weightsBucket: acme-models
allowedCidrs: ["10.20.0.0/16"]
`;
/** Commands the stand-ins cannot answer; what each stands for is done by the test. */
const NOT_RUN = /^(\$EDITOR|aws|docker|hf)\b/;

/** The section's shell lines in order, as a user pastes them. */
function walk(): string[] {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "platform.md"), "utf8");
    const start = doc.indexOf(SECTION);
    if (start < 0) throw new Error(`docs/platform.md has no "${SECTION}"`);
    const section = doc.slice(start, doc.indexOf("\n#", start + SECTION.length));
    return [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap(([, block]) => block.split("\n").filter((l) => l.trim() !== ""));
}

/** The repository as a new user's clone has it: the example's files copied (the walk writes them), the code linked. */
function clone(dir: string): void {
    fs.mkdirSync(path.join(dir, "platform"), { recursive: true });
    fs.mkdirSync(path.join(dir, "scripts"));
    const rag = fs.readdirSync(ROOT).filter((f) => /^Pulumi\.rag-.*\.yaml$/.test(f));
    for (const file of [
        ...rag,
        "rag.values.yaml",
        "tsconfig.json",
        "platform/Pulumi.yaml",
        "platform/Pulumi.rag.yaml",
        "scripts/rollout",
        "scripts/rag-values",
        "scripts/ragValues.ts",
    ])
        fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    for (const code of ["node_modules", "contract", "mesh", "rollout", "examples"]) fs.symlinkSync(path.join(ROOT, code), path.join(dir, code));
}

/** Runs a shell script in `cwd` without blocking this process, whose event loop answers for the stand-in AWS. */
function shell(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-c", script], { cwd, env });
        let output = "";
        child.stdout.on("data", (c) => (output += c));
        child.stderr.on("data", (c) => (output += c));
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`the walk did not finish within 200 s:\n${output}`));
        }, 200_000);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code, output });
        });
    });
}

let world: World;
let models: ModelStandIns;
afterEach(async () => {
    await world?.close();
    await models?.close();
});

test("the RAG walk, as pasted: values, checks, the platform and four services deployed, load through the gateway's pins, and a first rollout promoted within its budget", async () => {
    world = await new World().startMany({});
    clone(world.project);
    fs.writeFileSync(path.join(world.project, "rag.values.yaml"), VALUES);
    // What `aws s3 cp examples/rag-gateway/golden.jsonl s3://$BUCKET/...` puts in the bucket.
    const golden = fs.readFileSync(path.join(ROOT, "examples", "rag-gateway", "golden.jsonl"), "utf8");
    fs.mkdirSync(path.join(world.state, "s3", "acme-models", "rag-gateway"), { recursive: true });
    fs.writeFileSync(path.join(world.state, "s3", "acme-models", "rag-gateway", "golden.jsonl"), golden);
    // Both gateway versions answer each golden question with its expected word (the stand-in's answer to its last user message).
    const expected = new Map(
        golden
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l))
            .map((i) => [i.request.messages.at(-1).content, `It is about ${i.expected}.`]),
    );
    models = await startModelStandIns({ stable: (q) => expected.get(q) ?? "", canary: (q) => expected.get(q) ?? "" }, "rag-gateway");
    process.env.STANDIN_SERVICE_URL = models.serviceUrl;
    // What CloudWatch reports: the load's 1 request a second in all; the gateway publishes Answers
    // and Rejected (examples/rag-gateway/server.js), 1% of answers rejected, on both versions.
    world.traffic({
        requestsPerSecond: 1,
        stable: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01, events: { Rejected: 0.01 } },
        canary: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01, events: { Rejected: 0.01 } },
    });

    const lines = walk();
    const skipped = lines.filter((l) => NOT_RUN.test(l.trim()));
    expect(skipped.map((l) => l.trim().split(/\s+/)[0])).toEqual(["$EDITOR", "aws", "aws", "aws", "docker"]);
    const script = [
        "set -e",
        ...lines
            .filter((l) => !NOT_RUN.test(l.trim()))
            .map((l) =>
                l
                    // The CPU LLM: no GPU quota here either.
                    .replace(/^LLM=rag-llm\b/, "LLM=rag-llm-cpu")
                    // A minute of load, beside the rollout, as in a second terminal.
                    .replace(/^(\.\/scripts\/rollout load .*)--minutes 90$/, "$1--minutes 1 > load.log 2>&1 &")
                    .replace(/^(\.\/scripts\/rollout run --stack rag-gateway)$/, "$1 --yes"),
            ),
        "wait",
        "cat load.log",
    ].join("\n");
    const run = await shell(script, world.project, world.env);
    expect({ code: run.code, output: run.output }).toEqual({ code: 0, output: expect.any(String) });

    // The values reached the files; every check passed.
    expect(run.output).toMatch(/^rag-values: wrote /m);
    expect(run.output).toMatch(/^platform\/Pulumi\.rag\.yaml: valid/m);
    for (const stack of ["rag-embedder", "rag-reranker", "rag-llm-cpu", "rag-gateway"])
        expect(run.output).toMatch(new RegExp(`^Pulumi\\.${stack}\\.yaml: valid`, "m"));
    // The platform and the four services are deployed; the gateway admits the platform's NAT addresses for the golden set's runner.
    const platform = readStack("rag")!;
    expect(platform.outputs.natAddresses).toEqual(["198.51.100.10", "198.51.100.11"]);
    const entry = readStack("rag-gateway")!.resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name.endsWith("-alb-entry"))!;
    expect((entry.inputs.ingress as { cidrBlocks: string[] }[]).map((r) => r.cidrBlocks)).toEqual([["10.20.0.0/16"], ["198.51.100.10/32", "198.51.100.11/32"]]);
    for (const stack of ["rag-embedder", "rag-reranker", "rag-llm-cpu"])
        expect([stack, readStack(stack)?.outputs.clusterName]).toEqual([stack, platform.outputs.clusterName]);
    // A minute of load at half a request a second reached each gateway version through its pin, besides the golden set the rollout asked.
    expect(run.output).toMatch(/load: 1\.0 of 1 min \| stable 30 sent \(30 2xx\), mean [\d.]+ s \| canary 30 sent \(30 2xx\), mean [\d.]+ s/);
    expect(models.answered.stable).toBe(models.answered.canary);
    // The first rollout: the budget's promises before the first step, the golden set before traffic, then promoted.
    expect(run.output).toMatch(/^budget: 60 min from the first step to the decision to promote/m);
    expect(run.output).toMatch(/golden set before it gets traffic: /);
    expect(run.output.trim().split("\n")).toContain("promoted: canaryWeight 0 deployed on rag-gateway");
    expect(world.deployed("rag-gateway")).toMatchObject({
        stableImage: "111122223333.dkr.ecr.us-west-2.amazonaws.com/rag-gateway:1.0.1",
        sameDefinition: true,
    });
}, 240_000);
