/**
 * A judge model on Amazon Bedrock, through the Converse API (Amazon Bedrock API Reference,
 * "Converse": `modelId` a model id or an inference profile id; the answer in
 * `output.message.content[].text`). The rollout calls it with the operator's credentials, so
 * nothing in the VPC needs Bedrock: the operator needs `bedrock:InvokeModel` on the inference
 * profile and on the foundation models it routes to, in each of its Regions (Amazon Bedrock User
 * Guide, "Prerequisites for inference profiles").
 *
 * The judge sees the prompt and two answers as "A" and "B" and answers with one word; at
 * temperature 0 so that the same pair gets the same verdict. Judge models favour the longer
 * answer: the tokens-per-answer gate is what catches a verbose canary (docs/evaluation.md).
 */
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
import { PairJudge } from "../core/ports";
import { Send } from "./send";

const SYSTEM =
    "You compare two answers to the same request. Reply with exactly one word: A if answer A is better, B if answer B is better, TIE if neither is better. " +
    "Judge by the question you are given, not by length or style.";

export class BedrockJudge implements PairJudge {
    constructor(
        private readonly bedrock: Send<BedrockRuntimeClient>,
        private readonly modelId: string,
        private readonly criteria: string,
    ) {}

    async prefer(prompt: string, first: string, second: string): Promise<{ choice: "first" | "second" | "tie"; words: string }> {
        const text = `${this.criteria}\n\n<request>\n${prompt}\n</request>\n\n<answer_a>\n${first}\n</answer_a>\n\n<answer_b>\n${second}\n</answer_b>`;
        const out = await this.bedrock.send(
            new ConverseCommand({
                modelId: this.modelId,
                system: [{ text: SYSTEM }],
                messages: [{ role: "user", content: [{ text }] }],
                inferenceConfig: { maxTokens: 10, temperature: 0 },
            }),
        );
        const words = (out.output?.message?.content ?? [])
            .map((c) => c.text ?? "")
            .join("")
            .trim();
        const word = /^\W*(A|B|TIE)\b/i.exec(words)?.[1].toUpperCase();
        if (!word) throw new Error(`the judge model ${this.modelId} answered neither A, B nor TIE: ${JSON.stringify(words.slice(0, 200))}`);
        return { choice: word === "A" ? "first" : word === "B" ? "second" : "tie", words };
    }
}
