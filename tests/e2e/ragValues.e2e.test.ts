/**
 * The RAG example from its values file alone (`scripts/ragValues.ts`): written into the
 * platform's and the services' stack files (the four, and the LLM's CPU variant), every comment
 * kept and no example value left, each file passes `rollout check`, and the platform and every
 * service render as `pulumi up` would run them. Its own suite: six programs render here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { ROOT } from "./harness";
import { RAG_FILES, ragValues } from "../../scripts/ragValues";
import { checkPlatformStack, checkServiceStack, exampleValues } from "../../rollout/cli/check";
import { deploy, runProgram } from "../harness/program";
import { PLATFORM_PROJECT, PROJECT } from "../../contract/outputs";
import platformProgram = require("../../platform/index");

const VALUES = `account: "111122223333"
region: eu-west-1
backend: cloud
organization: acme
images:
  gateway: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/rag-gateway:0.3.1
  embedder: ghcr.io/huggingface/text-embeddings-inference:cpu-1.9
  reranker: ghcr.io/huggingface/text-embeddings-inference:cpu-1.9
  llm: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/vllm-openai:v0.9.0
  llm-cpu: ghcr.io/ggml-org/llama.cpp:server-b8840
llmCompute: gpu
weightsBucket: acme-models
allowedCidrs: ["10.20.0.0/16", "172.16.8.0/22"]
`;

/** The example's files in a fresh directory, as a new user's clone has them. */
function clone(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rag-values-"));
    fs.mkdirSync(path.join(dir, "platform"));
    for (const file of [...RAG_FILES, "Pulumi.yaml", "platform/Pulumi.yaml", "rag.values.yaml"]) fs.copyFileSync(path.join(ROOT, file), path.join(dir, file));
    return dir;
}

/** A stack file's `<project>:` keys as Pulumi hands them to the program. */
function configOf(file: string, project: string): Record<string, string> {
    const config = (yaml.load(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
    return Object.fromEntries(
        Object.entries(config)
            .filter(([k]) => k.startsWith(`${project}:`))
            .map(([k, v]) => [k.slice(project.length + 1), typeof v === "object" ? JSON.stringify(v) : String(v)]),
    );
}
const comments = (text: string) => text.split("\n").filter((l) => l.trim().startsWith("#")).length;

test("the values file as committed is refused, naming every example value, and nothing is written", () => {
    const dir = clone();
    const before = RAG_FILES.map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
    expect(ragValues(dir)).toBe(1);
    expect(RAG_FILES.map((f) => fs.readFileSync(path.join(dir, f), "utf8"))).toEqual(before);
});

test("a user's values reach every file, comments kept, no example value left; every file checks and renders", async () => {
    const dir = clone();
    fs.writeFileSync(path.join(dir, "rag.values.yaml"), VALUES);
    const before = Object.fromEntries(RAG_FILES.map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
    expect(ragValues(dir)).toBe(0);
    for (const file of RAG_FILES) {
        const text = fs.readFileSync(path.join(dir, file), "utf8");
        expect([file, comments(text)]).toEqual([file, comments(before[file])]);
        const config = (yaml.load(text) as { config: Record<string, unknown> }).config;
        expect([file, config["aws:region"]]).toEqual([file, "eu-west-1"]);
        expect([file, exampleValues(config)]).toEqual([file, []]);
    }
    const llm = configOf(path.join(dir, "Pulumi.rag-llm.yaml"), PROJECT);
    expect(JSON.parse(llm.canary).weights.source).toBe("s3://acme-models/llama-3.1-8b-instruct");
    expect(llm.platform).toBe("acme/ai-inference-platform/rag");
    expect(JSON.parse(configOf(path.join(dir, "Pulumi.rag-llm-cpu.yaml"), PROJECT).stable).weights.source).toBe("s3://acme-models/qwen2.5-1.5b-instruct-gguf");
    const gateway = configOf(path.join(dir, "Pulumi.rag-gateway.yaml"), PROJECT);
    expect(JSON.parse(gateway.alb).allowedCidrs).toEqual(["10.20.0.0/16", "172.16.8.0/22"]);
    expect(JSON.parse(gateway.evaluation).goldenSet).toBe("s3://acme-models/rag-gateway/golden.jsonl");
    // The gateway asks for the model the chosen LLM serves (vLLM's --served-model-name).
    expect(JSON.parse(gateway.canary).environment.LLM_MODEL).toBe("llama-3.1-8b-instruct");

    expect(checkPlatformStack(dir, "rag").problems).toEqual([]);
    const platform = await runProgram(configOf(path.join(dir, "platform/Pulumi.rag.yaml"), PLATFORM_PROJECT), {
        program: platformProgram,
        project: PLATFORM_PROJECT,
        stack: "rag",
    });
    expect(platform.error).toBeUndefined();
    for (const service of ["gateway", "embedder", "reranker", "llm", "llm-cpu"]) {
        const stack = `rag-${service}`;
        expect([stack, checkServiceStack(dir, stack).flatMap((r) => r.problems)]).toEqual([stack, []]);
        const graph = await deploy(configOf(path.join(dir, `Pulumi.${stack}.yaml`), PROJECT), {
            stackReferences: { "acme/ai-inference-platform/rag": platform.graph.outputs },
        });
        expect(graph.resources.length).toBeGreaterThan(10);
    }
});

test("with llmCompute: cpu the gateway asks for the model llama.cpp serves (its --alias), in both versions", () => {
    const dir = clone();
    fs.writeFileSync(path.join(dir, "rag.values.yaml"), VALUES.replace("llmCompute: gpu", "llmCompute: cpu"));
    expect(ragValues(dir)).toBe(0);
    const gateway = configOf(path.join(dir, "Pulumi.rag-gateway.yaml"), PROJECT);
    for (const version of ["stable", "canary"]) expect(JSON.parse(gateway[version]).environment.LLM_MODEL).toBe("qwen2.5-1.5b-instruct");
});

test("a self-managed backend keeps the literal organization in each service's platform reference", () => {
    const dir = clone();
    fs.writeFileSync(path.join(dir, "rag.values.yaml"), VALUES.replace("backend: cloud", "backend: self-managed"));
    expect(ragValues(dir)).toBe(0);
    expect(configOf(path.join(dir, "Pulumi.rag-embedder.yaml"), PROJECT).platform).toBe("organization/ai-inference-platform/rag");
});
