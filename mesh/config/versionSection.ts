/**
 * What differs between stable and the canary: what a version runs (image, command, environment,
 * secrets by reference, weights from S3), where (Fargate, or GPU instances) and how it scales,
 * with the rules that keep each within what ECS, Fargate and the instance allow.
 */
import { IMAGE, ENV_NAME, S3_URI, SECRET_ARN, KMS_KEY_ARN } from "./patterns";
import { field, fromJsonText, integer, matching, oneOf, rule, section, stringList, stringMap } from "../../contract/fields";
import { FARGATE_CPUS, fargateMemoryProblem } from "../compute/fargateSizes";
import { GPU_INSTANCE_TYPES, gpuTaskProblems } from "../compute/gpuInstances";

/** Names and values that are secrets more often than not: tokens and keys by their name, and the shapes of Hugging Face, OpenAI-style and AWS access keys. */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY)$/i;
const SECRET_VALUE = /^(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,})$/;
const looksSecret = (name: string, value: string) => SECRET_NAME.test(name) || SECRET_VALUE.test(value);

/** True when an image names a fixed tag (not `latest`) or a digest. */
export function isPinnedImage(image: string): boolean {
    if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
    const tag = image.slice(image.lastIndexOf("/") + 1).split(":")[1];
    return tag !== undefined && tag !== "" && tag !== "latest";
}

/** Whether `cpu` and `memory` are a Fargate size: a bad cpu is reported as cpu, a bad memory for a good cpu as memory. */
export function checkFargateSize(v: { cpu: number; memory: number }, report: (key: string, got: unknown, expected: string) => void) {
    if (!FARGATE_CPUS.includes(v.cpu)) report("cpu", v.cpu, `a Fargate CPU size: one of ${FARGATE_CPUS.join(", ")}`);
    else {
        const problem = fargateMemoryProblem(v.cpu, v.memory);
        if (problem) report("memory", v.memory, `a valid Fargate size: ${problem}`);
    }
}

/** Fargate's limit on a task's ephemeral storage, GiB. */
const FARGATE_MAX_STORAGE_GIB = 200;
/** Room a GPU instance's volume keeps besides the weights: the OS and the images (a vLLM image alone is about 10 GB). */
const GPU_VOLUME_HEADROOM_GIB = 50;

/** A GPU instance's root volume: a version's own instances, or a platform's pool. */
export const gpuVolumeGiB = integer(30, 16384).default(200).describe("Each instance's root volume (gp3, encrypted), GiB: images, and weights fetched from S3.");

/**
 * A GPU version runs on EC2 instances of its own (an Auto Scaling group with the ECS
 * GPU-optimized AMI, a capacity provider with managed scaling), or on a platform on the
 * platform's pool of its instance type.
 */
const gpu = section({
    instanceType: oneOf(GPU_INSTANCE_TYPES).describe("The instance type of the version's capacity: a g5, g6, g6e, p4d or p5 size."),
    gpusPerTask: integer(1, 8).default(1).describe("GPUs each task reserves (ECS `resourceRequirements`)."),
    volumeGiB: gpuVolumeGiB,
});

/**
 * Service Auto Scaling owns a version's task count: between `minCount` and `maxCount`,
 * tracking `requestsPerTaskPerMinute`, computed from the requests the traffic layer
 * already counts per version. The rollout raises the canary's minimum before each step,
 * which is also what brings a canary resting at 0 tasks up before it gets any traffic.
 */
const scaling = (version: "stable" | "canary") =>
    section(
        {
            minCount: integer(0, 100)
                .default(version === "stable" ? 2 : 1)
                .describe(
                    "The version's least task count at rest; autoscaling owns the count above it. A canary may rest at 0: the rollout gives it tasks before any traffic.",
                ),
            maxCount: integer(1, 100)
                .default(4)
                .describe("The most tasks autoscaling, and the rollout, may run (on GPUs the instances are sized for a deployment at this count)."),
            requestsPerTaskPerMinute: integer(1, 1_000_000)
                .default(60)
                .describe("The load one task is sized for: scaling adds tasks above it and removes them below."),
        },
        {
            rules: [
                rule<{ minCount: number; maxCount: number }>(
                    ["minCount", "maxCount"],
                    "minCount is at most maxCount, and at least 1 for stable",
                    (s, report) => {
                        if (s.minCount > s.maxCount) report("minCount", s.minCount, `at most maxCount (${s.maxCount})`);
                        // Target tracking divides requests by running tasks: with none running it has no data and never scales out.
                        // A canary may rest at 0 because the rollout gives it tasks before any traffic; stable serves everyone.
                        if (version === "stable" && s.minCount < 1)
                            report(
                                "minCount",
                                s.minCount,
                                "at least 1 for stable: it serves all traffic, and autoscaling cannot scale a version out from zero tasks",
                            );
                    },
                ),
            ],
        },
    );

/**
 * Model weights that live in S3 rather than in the image: fetched into the task's own
 * storage before the model server starts, through the VPC's S3 gateway endpoint, by a
 * role that may read that prefix only.
 */
const weights = section({
    source: matching(S3_URI, 'an S3 URI of a bucket and a prefix, e.g. "s3://my-models/llama-3.1-8b-instruct"').describe(
        "`s3://bucket/prefix` of the model's files.",
    ),
    kmsKeyArn: matching(KMS_KEY_ARN, "a KMS key ARN")
        .optional()
        .describe("The KMS key the objects are encrypted with, when not S3's own: the fetch may decrypt with it."),
    storageGiB: integer(21, 16384)
        .default(100)
        .describe("The task's storage for the weights, in GiB (Fargate: 21-200; GPU: within gpu.volumeGiB): room for the model and the server's own files."),
});

interface VersionCompute {
    compute: "fargate" | "gpu";
    cpu: number;
    memory: number;
    gpu?: { instanceType: string; gpusPerTask: number; volumeGiB: number };
    weights?: { storageGiB: number };
}

/** What differs between the stable and the canary deployment. */
export const versionSection = (version: "stable" | "canary") =>
    section(
        {
            image: matching(IMAGE, 'a container image reference, e.g. "repo/model-server:1.2.3"').describe(
                "Model server image, e.g. `123456789012.dkr.ecr.us-west-2.amazonaws.com/llm:1.4.2`.",
            ),
            compute: oneOf(["fargate", "gpu"])
                .default("fargate")
                .describe(
                    "Where the version runs: Fargate (CPU only), or EC2 GPU instances (`gpu`): its own, or on a platform the platform's pool of its instance type.",
                ),
            cpu: integer(256, 196608)
                .default(4096)
                .describe("CPU units of one task (1024 = 1 vCPU): with memory, a Fargate size, or what one task reserves on its GPU instance."),
            memory: integer(512, 2_097_152).default(16384).describe("Memory of one task, MiB (on GPU instances at most the instance's less 2 GiB for ECS)."),
            gpu: gpu.optional().describe("The version's EC2 GPU instances: required with compute `gpu`."),
            scaling: scaling(version).describe("Service Auto Scaling of the version's task count, tracking requests per task."),
            command: stringList(/^.+$/, "arguments").optional().describe('Arguments that replace the image\'s command, e.g. vLLM\'s `["--model", "/models"]`.'),
            environment: stringMap(ENV_NAME, "an environment variable name")
                .default({})
                .describe(
                    "Environment of the model server container, e.g. `MODEL_ID`. A value or name that looks like a secret is refused: pass it in `secrets`.",
                ),
            notSecret: stringList(ENV_NAME, "environment variable names")
                .optional()
                .describe("Names in `environment` that look like secrets (`*_TOKEN`, `hf_...`) but are not, e.g. a token's public id: they are not refused."),
            secrets: field("an object of environment variable names to Secrets Manager secret or SSM parameter ARNs", (raw) => {
                const value = raw === undefined ? {} : fromJsonText(raw);
                if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
                const entries = Object.entries(value);
                return entries.every(([k, v]) => ENV_NAME.test(k) && typeof v === "string" && SECRET_ARN.test(v))
                    ? (value as Record<string, string>)
                    : undefined;
            })
                .default({})
                .describe(
                    "Secrets by reference, e.g. `HF_TOKEN`: ECS reads each from Secrets Manager or SSM into the container's environment when a task starts; only this version's execution role may read them. Never put a secret in `environment`.",
                ),
            secretsKmsKeyArn: matching(KMS_KEY_ARN, "a KMS key ARN")
                .optional()
                .describe("The KMS key the secrets are encrypted with, when it is not AWS's default key: the execution role may decrypt with it."),
            weights: weights.optional().describe("Model weights from S3, when they are not baked into the image."),
        },
        {
            elsewhere: {
                discoveryName: `moved to appmesh.discoveryNames.${version} (App Mesh only)`,
                desiredCount: `moved to scaling.minCount: Service Auto Scaling owns the task count, between scaling.minCount and scaling.maxCount`,
            },
            rules: [
                rule<VersionCompute>(
                    ["compute", "cpu", "memory", "gpu", "weights"],
                    "Fargate: cpu and memory are a Fargate size, no gpu section, weights.storageGiB at most 200. GPU: a gpu section; the task fits one instance (GPUs, CPU, memory less 2 GiB); weights.storageGiB at most gpu.volumeGiB - 50",
                    (v, report) => {
                        if (v.compute === "fargate") {
                            checkFargateSize(v, report);
                            if (v.gpu) report("gpu", v.gpu, 'no gpu section unless compute is "gpu"');
                            if (v.weights && v.weights.storageGiB > FARGATE_MAX_STORAGE_GIB) {
                                report(
                                    "weights.storageGiB",
                                    v.weights.storageGiB,
                                    `at most ${FARGATE_MAX_STORAGE_GIB} on Fargate (its task storage limit); use compute "gpu" for larger models`,
                                );
                            }
                            return;
                        }
                        if (!v.gpu)
                            return report(
                                "gpu",
                                undefined,
                                'a gpu section with instanceType (required with compute "gpu"), e.g. { "instanceType": "g6.xlarge" }',
                            );
                        for (const p of gpuTaskProblems(v.gpu.instanceType, { cpu: v.cpu, memory: v.memory, gpus: v.gpu.gpusPerTask }))
                            report(p.key, p.got, p.expected);
                        if (v.weights && v.weights.storageGiB > v.gpu.volumeGiB - GPU_VOLUME_HEADROOM_GIB) {
                            report(
                                "weights.storageGiB",
                                v.weights.storageGiB,
                                `at most gpu.volumeGiB - ${GPU_VOLUME_HEADROOM_GIB} (${v.gpu.volumeGiB - GPU_VOLUME_HEADROOM_GIB}), leaving room for the images`,
                            );
                        }
                    },
                ),
                rule<{ environment: Record<string, string>; notSecret?: string[] }>(
                    ["environment", "notSecret"],
                    "no environment entry looks like a secret, unless notSecret names it",
                    (v, report) => {
                        for (const [name, value] of Object.entries(v.environment)) {
                            if (v.notSecret?.includes(name) || !looksSecret(name, value)) continue;
                            report(
                                `environment.${name}`,
                                "(hidden)",
                                `no secret in plain environment (anyone who can describe the task definition reads it): put it in Secrets Manager or SSM and name it in secrets.${name}, or, if it is not a secret, list ${name} in notSecret`,
                            );
                        }
                    },
                ),
                rule<{ environment: Record<string, string>; secrets: Record<string, string> }>(
                    ["environment", "secrets"],
                    "a name is in environment or in secrets, not both",
                    (v, report) => {
                        for (const name of Object.keys(v.secrets).filter((n) => n in v.environment)) {
                            report(`secrets.${name}`, v.secrets[name], `a name not also in environment (${name} is set there)`);
                        }
                    },
                ),
            ],
        },
    );
