/**
 * The rollout as the workflow runs it: after `rollout run` and `scripts/commit-stack-config`
 * (the workflow's last step), the default branch agrees with what is deployed: a fresh
 * checkout of it passes the deploy job's guard and previews no change, while a checkout
 * from before the rollout is refused by the guard.
 */
import * as path from "path";
import { ROOT, STACK, World } from "./harness";

let world: World;
afterEach(async () => {
    await world?.close();
});

test("after a rollout run by the workflow, `pulumi up` from the default branch changes nothing, and a stale branch cannot undo it", async () => {
    world = await new World().start();
    const git = (args: string[], cwd = world.project) => {
        const r = world.run("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], cwd);
        if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.output}`);
        return r.output;
    };
    const remote = path.join(world.dir, "remote.git");
    const stale = path.join(world.dir, "stale");
    const fresh = path.join(world.dir, "fresh");
    git(["init", "--quiet", "--initial-branch", "main"]);
    git(["add", "."]);
    git(["commit", "--quiet", "-m", "the stack as first deployed"]);
    git(["clone", "--quiet", "--bare", world.project, remote], world.dir);
    git(["remote", "add", "origin", remote]);
    git(["fetch", "--quiet", "origin"]);
    git(["clone", "--quiet", remote, stale], world.dir);

    const rollout = await world.cli(["run", "--stack", STACK, "--yes"]);
    expect(rollout.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    const committed = world.run(path.join(ROOT, "scripts/commit-stack-config"), [STACK, "main", "rollout of e2e, the stack file as deployed"]);
    expect(committed.output).toContain("committed Pulumi.e2e.yaml to main");

    git(["clone", "--quiet", remote, fresh], world.dir);
    const guard = await world.cli(["guard", "--stack", STACK], undefined, {}, fresh);
    expect(guard.code).toBe(0);
    expect(guard.lastLine).toBe("guard: e2e may be deployed from this config");
    const preview = world.run("pulumi", ["preview", "--stack", STACK], fresh);
    expect(preview.status).toBe(0);
    expect(preview.output.trim()).toBe("Previewing update (e2e):");

    const refused = await world.cli(["guard", "--stack", STACK], undefined, {}, stale);
    expect(refused.code).toBe(4);
    expect(refused.lastLine).toContain("refused: this config would change stable's definition away from what is deployed");
});
