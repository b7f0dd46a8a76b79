/**
 * `./scripts/rag-values`: the RAG example's values, from one file (`rag.values.yaml`), written
 * into the platform's stack file and the services' (the four, and the LLM's CPU variant), keeping every comment (the `yaml`
 * library edits the parsed document, not the text). It refuses, writing nothing, while a value is
 * still the example's or a file would keep one; every problem at once.
 */
import * as fs from "fs";
import * as path from "path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { exampleValues } from "../rollout/cli/check";
import { PLATFORM_PROJECT, PROJECT } from "../contract/outputs";

const SERVICES = ["gateway", "embedder", "reranker", "llm", "llm-cpu"] as const;
type Service = (typeof SERVICES)[number];

const IMAGE = /^[a-z0-9][\w.-]*(:\d+)?(\/[\w.-]+)+(:[\w.-]+|@sha256:[0-9a-f]{64})$/;

/** The values file's one schema: what each value may be, in the words a user acts on. */
export const ragValuesSchema = z.object({
    account: z.string().regex(/^\d{12}$/, "a 12-digit AWS account id"),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS Region, e.g. "us-west-2"'),
    backend: z.enum(["cloud", "self-managed"], 'either "cloud" (Pulumi Cloud) or "self-managed" (S3 or a local directory)'),
    organization: z.string().regex(/^[\w.-]+$/, "a Pulumi organization name"),
    images: z.object(
        Object.fromEntries(SERVICES.map((s) => [s, z.string().regex(IMAGE, "an image reference with a tag or digest")])) as Record<Service, z.ZodString>,
    ),
    llmCompute: z.enum(["gpu", "cpu"], 'either "gpu" (vLLM, Pulumi.rag-llm.yaml) or "cpu" (llama.cpp on Fargate, Pulumi.rag-llm-cpu.yaml)'),
    weightsBucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name"),
    allowedCidrs: z.array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, "an IPv4 CIDR block")).min(1, "at least one network"),
});
export type RagValues = z.infer<typeof ragValuesSchema>;

/** Where the example's files are, from the repository's root. */
const PLATFORM_FILE = "platform/Pulumi.rag.yaml";
const serviceFile = (s: Service) => `Pulumi.rag-${s}.yaml`;
export const RAG_FILES = [PLATFORM_FILE, ...SERVICES.map(serviceFile)];

/** What a self-managed backend calls the organization in a stack reference: the literal word, which must stay. */
const SELF_MANAGED_ORGANIZATION = "organization";

/** The values, or every problem: a bad value named by its key, and any value still the example's. */
export function readValues(text: string): { values: RagValues } | { problems: string[] } {
    const parsed = ragValuesSchema.safeParse(parseDocument(text).toJS());
    if (!parsed.success) return { problems: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) };
    const values = parsed.data;
    // The bucket as the stack files write it, where the examples' bucket is recognised.
    const asWritten = { ...values, weightsBucket: `s3://${values.weightsBucket}/` };
    const problems = exampleValues(asWritten as unknown as Record<string, unknown>).map((w) => `${w} (rag.values.yaml)`);
    for (const service of SERVICES) {
        const ecr = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\//.exec(values.images[service]);
        if (ecr && (ecr[1] !== values.account || ecr[2] !== values.region))
            problems.push(
                `images.${service}: an ECR image of account ${ecr[1]} in ${ecr[2]}, not of account ${values.account} in ${values.region} where the stacks deploy`,
            );
    }
    if (values.backend === "cloud" && values.organization === SELF_MANAGED_ORGANIZATION)
        problems.push('organization: "organization" is the example\'s: with backend "cloud", your Pulumi organization');
    return problems.length > 0 ? { problems } : { values };
}

/** The name an LLM stack's server answers to (vLLM's `--served-model-name`, llama.cpp's `--alias`): what the gateway asks for. */
function servedModel(text: string): string {
    const command = parseDocument(text).getIn(["config", `${PROJECT}:stable`, "command"]);
    const args = (command as { toJSON(): string[] } | undefined)?.toJSON() ?? [];
    const at = args.findIndex((a) => a === "--served-model-name" || a === "--alias");
    if (at < 0 || at + 1 >= args.length) throw new Error("an LLM stack's command names no --served-model-name or --alias");
    return args[at + 1];
}

/** Each file's text with the values set, comments kept; the weights' prefix within the bucket is kept too. */
export function applyValues(values: RagValues, files: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    const platformDoc = parseDocument(files[PLATFORM_FILE]);
    platformDoc.setIn(["config", "aws:region"], values.region);
    out[PLATFORM_FILE] = String(platformDoc);
    for (const service of SERVICES) {
        const doc = parseDocument(files[serviceFile(service)]);
        const key = (name: string) => `${PROJECT}:${name}`;
        doc.setIn(["config", "aws:region"], values.region);
        const organization = values.backend === "cloud" ? values.organization : SELF_MANAGED_ORGANIZATION;
        doc.setIn(["config", key("platform")], `${organization}/${PLATFORM_PROJECT}/rag`);
        for (const version of ["stable", "canary"]) {
            doc.setIn(["config", key(version), "image"], values.images[service]);
            const source = doc.getIn(["config", key(version), "weights", "source"]);
            if (typeof source === "string")
                doc.setIn(["config", key(version), "weights", "source"], source.replace(/^s3:\/\/[^/]+/, `s3://${values.weightsBucket}`));
        }
        const golden = doc.getIn(["config", key("evaluation"), "goldenSet"]);
        if (typeof golden === "string") doc.setIn(["config", key("evaluation"), "goldenSet"], golden.replace(/^s3:\/\/[^/]+/, `s3://${values.weightsBucket}`));
        if (service === "gateway") {
            const cidrs = doc.createNode(values.allowedCidrs, { flow: true });
            doc.setIn(["config", key("alb"), "allowedCidrs"], cidrs);
            const model = servedModel(files[serviceFile(values.llmCompute === "gpu" ? "llm" : "llm-cpu")]);
            for (const version of ["stable", "canary"]) doc.setIn(["config", key(version), "environment", "LLM_MODEL"], model);
        }
        out[serviceFile(service)] = String(doc);
    }
    return out;
}

/** Writes the values into the example's files under `root`; returns the exit code, saying what it did or every problem. */
export function ragValues(root: string, valuesFile = path.join(root, "rag.values.yaml")): number {
    const read = readValues(fs.readFileSync(valuesFile, "utf8"));
    if ("problems" in read) {
        console.error(
            `rag-values: nothing written; fix these in ${path.relative(process.cwd(), valuesFile) || valuesFile}:\n${read.problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        return 1;
    }
    const files = Object.fromEntries(RAG_FILES.map((f) => [f, fs.readFileSync(path.join(root, f), "utf8")]));
    const written = applyValues(read.values, files);
    const left = Object.entries(written).flatMap(([file, text]) => exampleValues(parseDocument(text).toJS().config ?? {}).map((w) => `${file}: ${w}`));
    if (left.length > 0) {
        console.error(`rag-values: nothing written; these example values would stay:\n${left.map((p) => `  - ${p}`).join("\n")}`);
        return 1;
    }
    for (const [file, text] of Object.entries(written)) fs.writeFileSync(path.join(root, file), text);
    console.log(
        `rag-values: wrote ${RAG_FILES.join(", ")}; next: ./scripts/rollout check --platform rag (in platform/), and ./scripts/rollout check --stack rag-<service> for each`,
    );
    return 0;
}

if (require.main === module) process.exit(ragValues(path.join(__dirname, "..")));
