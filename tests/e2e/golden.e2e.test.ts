/**
 * The golden set end to end: a real `rollout run` reads the set from the stand-in S3, invokes
 * the runner through the stand-in Lambda (which runs `mesh/evaluation/handler.js` itself), whose
 * requests reach two stand-in model servers through a stand-in of the deployed Lattice service
 * and its pin rules; the CLI scores the answers and judges the comparison before any traffic.
 */
import * as fs from "fs";
import * as path from "path";
import { BASE_STACK, RUN, World } from "./harness";
import { PROJECT } from "../../contract/outputs";
import { ModelStandIns, startModelStandIns } from "./standins/models";

const ITEMS = 400;
const GOLDEN = { goldenSet: "s3://e2e-evals/chat/golden.jsonl", scorer: { kind: "exact", caseSensitive: false } };
const STACK = { ...BASE_STACK, [`${PROJECT}:evaluation`]: GOLDEN };

/** Question i's right answer is "answer i"; a version right on a share of items answers the others wrongly. */
const answering = (rightPercent: number) => (question: string) => {
    const i = Number(/\d+/.exec(question)?.[0]);
    return (i * 37) % 100 < rightPercent ? `Answer ${i}` : `I am not sure about ${i}`;
};

let world: World;
let models: ModelStandIns;
afterEach(async () => {
    await world?.close();
    await models?.close();
});

async function start(stable: number, canary: number, lines?: string[]): Promise<void> {
    world = await new World().start(STACK);
    models = await startModelStandIns({ stable: answering(stable), canary: answering(canary) });
    process.env.STANDIN_SERVICE_URL = models.serviceUrl;
    const set =
        lines ??
        Array.from({ length: ITEMS }, (_, i) =>
            JSON.stringify({ id: `q${i}`, request: { messages: [{ role: "user", content: `Question ${i}?` }] }, expected: `answer ${i}` }),
        );
    const file = path.join(world.state, "s3", "e2e-evals", "chat", "golden.jsonl");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, set.join("\n") + "\n");
}

test("a canary that fails 10 points more of the golden set is rolled back at weight 0, before any user traffic", async () => {
    await start(85, 75);
    const run = await world.cli(RUN);
    expect(run.code).toBe(1);
    expect(run.lastLine).toBe("rolled-back: canaryWeight 0 deployed on e2e");
    expect(run.output).toMatch(/golden set: 400 items from s3:\/\/e2e-evals\/chat\/golden\.jsonl, scored by "exact"/);
    expect(run.output).toMatch(
        /golden set before it gets traffic: the canary loses more than 0 points of pass rate on the golden set: stable passed \d+ of \d+ golden items/,
    );
    expect(run.output).not.toMatch(/canaryWeight 10 deployed/);
    // Every item was asked of both versions, through their pins, and of nothing else.
    expect(models.answered.stable).toBe(models.answered.canary);
    expect(models.answered.stable).toBeGreaterThan(0);
});

test("a canary as good as stable is not rolled back: the steps begin", async () => {
    await start(85, 85);
    const run = await world.cli([...RUN, "--to-step", "1"]);
    // The two agree on every item, so the comparison shows it within 5 points before the set is used up.
    const shown =
        /golden set before it gets traffic: the canary is shown to lose less than 5 points on the golden set: stable passed (\d+) of (\d+) golden items \([\d.]+%\), the canary \1 \([\d.]+%\), the canary lost 0/.exec(
            run.output,
        );
    expect(shown).not.toBeNull();
    expect(Number(shown![2])).toBeLessThan(ITEMS);
    expect(models.answered).toEqual({ stable: Number(shown![2]), canary: Number(shown![2]) });
    expect(run.lastLine).toBe("paused: canaryWeight 10 deployed on e2e");
});

test("a golden set with a bad line is refused before anything moves, naming the line and the field", async () => {
    await start(85, 85, ['{"id":"q1","request":{"messages":[]},"expected":"a"}', '{"id":"q2","request":{"messages":[]}}']);
    const run = await world.cli(RUN);
    expect(run.code).toBe(4);
    expect(run.output).toContain('refused: the golden set s3://e2e-evals/chat/golden.jsonl cannot be used: line 2: no field "expected"');
    expect(run.lastLine).toBe("refused: canaryWeight 0 deployed on e2e");
    expect(models.answered).toEqual({ stable: 0, canary: 0 });
});

test("rollout load for a minute at 5 requests a second sends 300 ± 5 to each version, through their pins, and stops on its own", async () => {
    await start(85, 85);
    const run = await world.cli(["load", "--stack", "e2e", "--rps", "5", "--minutes", "1"]);
    expect(run.code).toBe(0);
    expect(run.lastLine).toBe("load: done");
    expect(Math.abs(models.answered.stable - 300)).toBeLessThanOrEqual(5);
    expect(Math.abs(models.answered.canary - 300)).toBeLessThanOrEqual(5);
    expect(run.output).toMatch(/load: 1\.0 of 1 min \| stable 300 sent \(300 2xx\), mean [\d.]+ s \| canary 300 sent \(300 2xx\), mean [\d.]+ s/);
}, 150_000);

test("with a judge model: a canary it prefers less often by 15 points is rolled back before any traffic", async () => {
    await start(85, 70);
    const judged = { ...STACK, [`${PROJECT}:evaluation`]: { ...GOLDEN, scorer: { kind: "judge", model: "us.anthropic.claude-3-5-haiku-20241022-v1:0" } } };
    world.seed("e2e", judged);
    const run = await world.cli(RUN);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/golden set: 400 items from s3:\/\/e2e-evals\/chat\/golden\.jsonl, scored by "judge"/);
    expect(run.output).toMatch(/golden set before it gets traffic: the canary loses more than 0 points of pass rate on the golden set/);
    expect(run.lastLine).toBe("rolled-back: canaryWeight 0 deployed on e2e");
});
