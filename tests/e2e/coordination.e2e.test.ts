/**
 * One rollout per stack, `abort` and `status` from other processes, and what promotion
 * leaves of settings that do not define a version, end to end.
 */
import { BASE_STACK, ECR, RUN, World } from "./harness";
import { PROJECT } from "../../contract/outputs";

let world: World;
afterEach(async () => {
    await world?.close();
});

test("two rollouts started at the same instant: exactly one proceeds, the other is refused and changes nothing", async () => {
    world = await new World().start();
    const [a, b] = await Promise.all([world.cli(RUN, undefined, { ROLLOUT_OWNER: "runner-a" }), world.cli(RUN, undefined, { ROLLOUT_OWNER: "runner-b" })]);
    const runs = [a, b].sort((x, y) => (x.code ?? 0) - (y.code ?? 0));
    expect(runs.map((r) => r.code)).toEqual([0, 4]);
    expect(runs[0].lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    expect(runs[1].output).toMatch(/another rollout holds this stack: runner-[ab], until .*; nothing was changed/);
    expect(runs[1].lastLine).toBe("refused: canaryWeight 0 deployed on e2e");
    expect(runs[1].output).not.toContain("pulumi preview");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, stableImage: `${ECR}:1.5.0` });
});

test("a rollout started mid-bake of another is refused; `status` names the holder; `abort` rolls the first back", async () => {
    world = await new World().start();
    let second: Promise<import("./harness").CliRun> | undefined;
    let status: Promise<import("./harness").CliRun> | undefined;
    const first = await world.cli(
        RUN,
        {
            when: /step 1\/3 weight 10% \+\d+m/, // the first judged minute of the step (whole minutes: its label may be +0m, +1m or +2m)
            act: () => {
                second = world.cli(RUN, undefined, { ROLLOUT_OWNER: "runner-b" });
                status = world.cli(["status", "--stack", "e2e"]);
                void Promise.all([second, status]).then(() => world.cli(["abort", "--stack", "e2e"], undefined, { ROLLOUT_OWNER: "ops@laptop" }));
            },
        },
        { ROLLOUT_OWNER: "runner-a" },
    );
    const refused = await second!;
    expect(refused.code).toBe(4);
    expect(refused.output).toContain("another rollout holds this stack: runner-a");
    expect(refused.lastLine).toMatch(/^refused: canaryWeight 10 deployed on e2e$/);
    const shown = await status!;
    expect(shown.output).toContain("stack e2e: canaryWeight 10 deployed (lattice)");
    expect(shown.output).toContain("lease: held by runner-a");
    expect(shown.output).toMatch(/step 1 at 10%: (baking|judging the last minutes of the step)/);

    expect(first.code).toBe(1);
    expect(first.output).toContain("rolling back: aborted by ops@laptop");
    expect(first.lastLine).toBe("rolled-back: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.4.0` });

    // Afterwards, status shows the outcome, the images and the next step, not the last step's progress.
    const after = await world.cli(["status", "--stack", "e2e"]);
    expect(after.output).toContain("lease: free (no rollout running)");
    expect(after.output).toContain("rolled-back: canaryWeight 0 deployed; aborted by ops@laptop");
    expect(after.output).toContain(`images when it began: stable ${ECR}:1.4.0, canary ${ECR}:1.5.0`);
    expect(after.output).toMatch(/next: Stable serves everything again/);
    // With AWS unreachable, it still prints what the stack says, then one clear line.
    const unreachable = await world.cli(["status", "--stack", "e2e"], undefined, { AWS_ENDPOINT_URL: "http://127.0.0.1:9" });
    expect(unreachable.code).toBe(2);
    expect(unreachable.output).toContain("stack e2e: canaryWeight 0 deployed (lattice)");
    expect(unreachable.lastLine).toMatch(/^error: AWS is unreachable from here \(.*\): check the network or proxy/);
});

test("an environment-only change is a canary like any other", async () => {
    const env = { MODEL_ID: "llama-3.2-1b" };
    const version = { image: `${ECR}:1.4.0`, cpu: 4096, memory: 16384, environment: env };
    const config = {
        ...BASE_STACK,
        [`${PROJECT}:stable`]: { ...version, scaling: { minCount: 2 } },
        [`${PROJECT}:canary`]: { ...version, scaling: { minCount: 1 } },
    };
    world = await new World().start(config);
    expect((await world.cli(RUN)).lastLine).toBe("nothing-to-do: canaryWeight 0 deployed on e2e");

    world.writeConfig({ ...config, [`${PROJECT}:canary`]: { ...version, scaling: { minCount: 1 }, environment: { MODEL_ID: "llama-3.2-3b" } } });
    const run = await world.cli(RUN);
    expect(run.output).toContain("plan: deploy-canary -> wait-canary -> 10%");
    expect(run.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    const after = world.readConfig();
    expect(after[`${PROJECT}:stable`]).toMatchObject({ environment: { MODEL_ID: "llama-3.2-3b" } });
    expect(String((after[`${PROJECT}:stable`] as { scaling: { minCount: unknown } }).scaling.minCount)).toBe("2");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, sameDefinition: true });
});
