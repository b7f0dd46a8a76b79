/** The evaluation the rollout runs: the user's image, a golden set answered by both versions, or both. */
import { checkFargateSize } from "./versionSection";
import { IMAGE, ENV_NAME, S3_URI } from "./patterns";
import { boolean, decimal, integer, matching, rule, section, stringList, stringMap } from "../../contract/fields";
import { EVALUATION_MOMENTS, EvaluationMoment } from "../../contract/outputs";
import { MOST_PAIRS_PER_SECOND, scorerSection } from "../../contract/golden";

/**
 * An optional check of the canary before it gets traffic (and, by `when`, at each step or
 * before the promotion): the user's evaluation image (an eval suite, smoke tests), run once
 * as an ECS task inside the stack's network, with the service's address and the pin header in
 * its environment, where a non-zero exit stops the rollout; and a golden set, answered by both
 * versions through a runner in the VPC and compared item by item (docs/evaluation.md).
 */
export const evaluation = section(
    {
        image: matching(IMAGE, 'a container image reference, e.g. "repo/llm-evals:1.0"')
            .optional()
            .describe("The evaluation's image: an eval suite or smoke tests, run as an ECS task in the stack's network. Optional with `goldenSet`."),
        command: stringList(/^.+$/, "arguments").optional().describe("Overrides the image's command."),
        environment: stringMap(ENV_NAME, "an environment variable name")
            .default({})
            .describe("Its environment, besides `SERVICE_URL`, `PIN_HEADER` and `PIN_VALUE`, which it always gets."),
        cpu: integer(256, 16384).default(1024).describe("CPU units of the task (with memory, a Fargate size)."),
        memory: integer(512, 122880).default(2048).describe("Memory of the task, MiB."),
        timeoutSeconds: integer(60, 86400).default(1800).describe("How long the evaluation may run before the rollout stops it and fails."),
        goldenSet: matching(S3_URI, 'an S3 URI of a JSON lines object, e.g. "s3://my-evals/chat/golden.jsonl"')
            .optional()
            .describe(
                "`s3://bucket/key` of a golden set (JSON lines: `id`, `request`, `expected`) both versions answer, compared item by item (docs/evaluation.md).",
            ),
        scorer: scorerSection.describe("How a golden answer passes: the scorer and its settings."),
        path: matching(/^\/[\x21-\x7e]*$/, 'a request path, e.g. "/v1/chat/completions"')
            .default("/v1/chat/completions")
            .describe("The path each golden request is sent to."),
        detectLossPercent: decimal(0.1, 50)
            .default(5)
            .describe("Points of pass rate the comparison must show the canary does not lose before it counts as not worse."),
        toleratedLossPercent: decimal(0, 49).default(0).describe("Points of pass rate the canary may lose without being rolled back."),
        sampling: boolean()
            .default(false)
            .describe("Whether the model samples (temperature above 0): only then may the set be answered again once used up, and the report says so."),
        seed: integer(1, 2147483647).default(1).describe("The seed of the items' order, drawn without replacement."),
        requestsPerSecond: decimal(0.05, MOST_PAIRS_PER_SECOND)
            .optional()
            .describe(
                "With a golden set: pairs a second the runner sends during every step, each item (drawn at random) to both versions through their pins: a paired stream the judge weighs beside live traffic, and what judges a service with no live traffic yet (docs/evaluation.md). Unset, none.",
            ),
        when: stringList(new RegExp(`^(${EVALUATION_MOMENTS.join("|")})$`), `moments among ${EVALUATION_MOMENTS.map((m) => `"${m}"`).join(", ")}`)
            .transform((list) => [...new Set(list)] as EvaluationMoment[])
            .default(["beforeTraffic"])
            .describe("When the rollout runs it: before the canary gets traffic, after each step's bake, before the promotion."),
    },
    {
        rules: [
            rule<{ image?: string; goldenSet?: string }>(["image", "goldenSet"], "an evaluation has an image, a golden set, or both", (e, report) => {
                if (e.image === undefined && e.goldenSet === undefined) report("image", undefined, "an image, or a goldenSet: an evaluation needs one");
            }),
            rule<{ image?: string; cpu: number; memory: number }>(
                ["image", "cpu", "memory"],
                "an evaluation image's cpu and memory are a Fargate size",
                (e, report) => {
                    if (e.image !== undefined) checkFargateSize(e, report);
                },
            ),
            rule<{ requestsPerSecond?: number; goldenSet?: string }>(
                ["requestsPerSecond", "goldenSet"],
                "paired evidence (requestsPerSecond) is drawn from a golden set",
                (e, report) => {
                    if (e.requestsPerSecond !== undefined && e.goldenSet === undefined)
                        report("requestsPerSecond", e.requestsPerSecond, "set only with a goldenSet: the runner sends its items");
                },
            ),
            rule<{ toleratedLossPercent: number; detectLossPercent: number }>(
                ["toleratedLossPercent", "detectLossPercent"],
                "toleratedLossPercent is below detectLossPercent",
                (e, report) => {
                    if (e.toleratedLossPercent >= e.detectLossPercent)
                        report("toleratedLossPercent", e.toleratedLossPercent, `less than detectLossPercent (${e.detectLossPercent})`);
                },
            ),
        ],
    },
);
