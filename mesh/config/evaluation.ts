/** The evaluation task the rollout runs against the canary. */
import { fargateSize } from "./versionSection";
import { IMAGE, ENV_NAME } from "./patterns";
import { integer, matching, section, stringList, stringMap } from "../../contract/fields";
import { EVALUATION_MOMENTS, EvaluationMoment } from "../../contract/outputs";

/**
 * An optional check of the canary before it gets traffic: the user's evaluation image
 * (an eval suite, smoke tests), run once as an ECS task inside the stack's network, with
 * the service's address and the pin header in its environment. A non-zero exit stops
 * the rollout with the weight at 0.
 */
export const evaluation = section(
    {
        image: matching(IMAGE, 'a container image reference, e.g. "repo/llm-evals:1.0"').describe(
            "The evaluation's image: an eval suite or smoke tests, run as an ECS task in the stack's network.",
        ),
        command: stringList(/^.+$/, "arguments").optional().describe("Overrides the image's command."),
        environment: stringMap(ENV_NAME, "an environment variable name")
            .default({})
            .describe("Its environment, besides `SERVICE_URL`, `PIN_HEADER` and `PIN_VALUE`, which it always gets."),
        cpu: integer(256, 16384).default(1024).describe("CPU units of the task (with memory, a Fargate size)."),
        memory: integer(512, 122880).default(2048).describe("Memory of the task, MiB."),
        timeoutSeconds: integer(60, 86400).default(1800).describe("How long the evaluation may run before the rollout stops it and fails."),
        when: stringList(new RegExp(`^(${EVALUATION_MOMENTS.join("|")})$`), `moments among ${EVALUATION_MOMENTS.map((m) => `"${m}"`).join(", ")}`)
            .transform((list) => [...new Set(list)] as EvaluationMoment[])
            .default(["beforeTraffic"])
            .describe("When the rollout runs it: before the canary gets traffic, after each step's bake, before the promotion."),
    },
    {
        rules: [fargateSize],
    },
);
