/**
 * The rollout CLI end to end: a real `rollout run` (Automation API, AWS SDK clients) against
 * the stand-in `pulumi` and AWS endpoint. Each test asserts what is deployed at the end,
 * and that the CLI's last line says the same.
 */
import * as fs from "fs";
import * as path from "path";
import { BASE_STACK, ECR, RUN, World } from "./harness";
import { PROJECT } from "../../contract/outputs";

let world: World;
afterEach(async () => {
    await world?.close();
});

test("a healthy canary is stepped, verified, baked and promoted: stable runs the canary's image and serves everything", async () => {
    world = await new World().start();
    const run = await world.cli(RUN);
    expect(run.code).toBe(0);
    expect(run.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toEqual({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.5.0`, canaryImage: `${ECR}:1.5.0`, sameDefinition: true });
    for (const w of [10, 50, 100, 0]) expect(run.output).toContain(`canaryWeight ${w} deployed and verified at the traffic layer`);
    // The promoted stable kept its own scaling bounds.
    expect(String((world.readConfig()[`${PROJECT}:stable`] as { scaling: { minCount: unknown } }).scaling.minCount)).toBe("2");
    // Capacity followed weight: 10% of 1,200 requests a minute needs 2 tasks of 60, 50% needs 10 (capped at 4), each
    // raised and healthy before the weight moved; back to rest at the end.
    const order = (text: string) => run.output.indexOf(text);
    expect(order("raising the canary's minimum task count from 1 to 2")).toBeGreaterThan(-1);
    expect(order("raising the canary's minimum task count from 1 to 2")).toBeLessThan(order("2 canary tasks are healthy"));
    expect(order("2 canary tasks are healthy")).toBeLessThan(order("canaryWeight 10 deployed and verified"));
    expect(order("raising the canary's minimum task count from 2 to 4")).toBeGreaterThan(order("canaryWeight 10 deployed and verified"));
    expect(order("4 canary tasks are healthy")).toBeLessThan(order("canaryWeight 50 deployed and verified"));
    expect(run.output).toContain("pulumi preview (raise the canary's minimum task count to 4)");
    expect(order("returning the canary's minimum task count from 4 to 1")).toBeGreaterThan(order("canaryWeight 0 deployed and verified"));
    // Stable scaled in while the canary served everything: it is raised for all of the load before it gets it back.
    expect(order("raising the stable's minimum task count from 2 to 4")).toBeGreaterThan(order("promoting"));
    expect(order("4 stable tasks are healthy")).toBeLessThan(order("canaryWeight 0 deployed and verified"));
    expect(order("returning the stable's minimum task count from 4 to 2")).toBeGreaterThan(order("canaryWeight 0 deployed and verified"));
    expect(world.readConfig()).not.toHaveProperty(`${PROJECT}:canaryMinCount`);
    expect(world.readConfig()).not.toHaveProperty(`${PROJECT}:stableMinCount`);
    const texts = world.aws.webhooks.map((w) => (w as { text: string }).text);
    expect(texts).toContain("rollout of e2e: step 1/3: canaryWeight 10");
    expect(texts.at(-1)).toMatch(/^rollout of e2e: promoted: /);
});

test("a failed up mid-rollout is reported with the failing resource and AWS's error, and rolled back", async () => {
    world = await new World().start();
    world.faults({
        failUpdateOf: {
            resource: "inference-lattice-listener",
            whenWeight: 50,
            message: "ValidationException: target group tg-0abc is not in the service's VPC",
        },
    });
    const run = await world.cli(RUN);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(
        /rolling back: pulumi up \(canaryWeight 50\) failed: inference-lattice-listener: updating urn .*ValidationException: target group tg-0abc is not in the service's VPC/,
    );
    expect(run.lastLine).toBe("rolled-back: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.4.0` });
});

test("interrupted during an up, then resumed: the weight the config claims is deployed and baked before anything else", async () => {
    world = await new World().start();
    world.faults({ applyDelayMs: 4000 });
    const first = await world.cli(RUN, { when: /pulumi up \(canaryWeight 50\)/, act: (child) => child.kill("SIGINT") });
    expect(first.code).toBe(130);
    expect(first.lastLine).toBe("interrupted: canaryWeight 10 deployed on e2e");
    expect(world.readConfig()[`${PROJECT}:canaryWeight`]).toBe("50");
    expect(world.deployed()).toMatchObject({ canaryWeight: 10, trafficWeight: 10 });

    world.faults({});
    const second = await world.cli(RUN);
    expect(second.output).toContain("plan: wait-canary -> 50% -> 100% -> verify-canary-full");
    const firstSample = second.output.search(/step 2\/3 weight 50% \+/);
    expect(firstSample).toBeGreaterThan(0);
    expect(firstSample).toBeLessThan(second.output.indexOf("step 3/3: canaryWeight 100"));
    expect(second.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.5.0` });
});

test("a failed promotion keeps traffic on the canary; the rerun runs stable's new revision before the weight returns", async () => {
    world = await new World().start();
    world.faults({ failUpdateOf: { resource: "inference-stable", message: "ClientException: Too many concurrent attempts to create a new revision" } });
    const first = await world.cli(RUN);
    expect(first.code).toBe(2);
    expect(first.output).toContain("promotion did not finish: pulumi up (promote the canary's definition to stable) failed: inference-stable: creating urn");
    expect(first.lastLine).toBe("failed: canaryWeight 100 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 100, trafficWeight: 100, stableImage: `${ECR}:1.4.0` });

    world.faults({ loadSeconds: 600 });
    const second = await world.cli(RUN);
    expect(second.output).toContain("plan: verify-canary-full -> promote -> wait-stable -> return-to-stable");
    expect(second.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    const state = world.stackState();
    const stableService = String(state.outputs.stableServiceName);
    const promotedAt = state.deployments[stableService].at(-1)!.at;
    const returnedAt = state.split.at(-1)!.at;
    // ECS needed 600 s to load the model; the weight went back to stable only after that.
    expect(returnedAt - promotedAt).toBeGreaterThanOrEqual(600_000);
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.5.0` });
});

test("a canary whose ECS deployment rolls back fails the rollout before it gets traffic, naming the rollback", async () => {
    world = await new World().start();
    world.faults({ failingImages: [`${ECR}:1.6.0`] });
    world.writeConfig({ ...BASE_STACK, [`${PROJECT}:canary`]: { ...(BASE_STACK[`${PROJECT}:canary`] as object), image: `${ECR}:1.6.0` } });
    const run = await world.cli(RUN);
    expect(run.code).toBe(2);
    expect(run.output).toContain("deploying the canary's new settings at weight 0");
    expect(run.output).toMatch(/ECS did not keep the canary service on the deployed revision .*ECS deployment circuit breaker: tasks failed to start/);
    expect(run.lastLine).toBe("failed: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0 });
});

test("SIGTERM mid-bake stops within seconds: the report is written, the weight stays, exit 143", async () => {
    world = await new World().start();
    let sentAt = 0;
    const run = await world.cli(RUN, {
        when: /step 1\/3 weight 10% \+\d+m/, // the first judged minute of the step (whole minutes: its label may be +0m, +1m or +2m)
        act: (child) => {
            sentAt = Date.now();
            child.kill("SIGTERM");
        },
    });
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(run.code).toBe(143);
    expect(run.lastLine).toBe("interrupted: canaryWeight 10 deployed on e2e");
    const reports = fs.readdirSync(path.join(world.project, "rollout-reports"));
    expect(reports.filter((f) => f.endsWith(".md"))).toHaveLength(1);
    expect(world.deployed()).toMatchObject({ canaryWeight: 10, trafficWeight: 10 });
});

test("a failing evaluation stops the rollout before the canary gets traffic; once it passes, the steps begin", async () => {
    world = await new World().start({ ...BASE_STACK, [`${PROJECT}:evaluation`]: { image: `${ECR}-evals:1.0`, timeoutSeconds: 900 } });
    world.faults({ evaluationExitCode: 1 });
    const failed = await world.cli(RUN);
    expect(failed.code).toBe(2);
    expect(failed.output).toContain("plan: wait-canary -> evaluate -> 10%");
    expect(failed.output).toContain("the evaluation failed (exit code 1); the canary got no traffic");
    expect(failed.lastLine).toBe("failed: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0 });

    world.faults({ evaluationExitCode: 0 });
    const passed = await world.cli([...RUN, "--to-step", "1"]);
    expect(passed.output).toContain("the evaluation task passed (exit code 0)");
    expect(passed.lastLine).toBe("paused: canaryWeight 10 deployed on e2e");
});

test("versions with every field of their definition set are promoted end to end: the command's strings stay strings", async () => {
    const kms = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const version = (tag: string, minCount: number) => ({
        image: `${ECR}:${tag}`,
        compute: "gpu",
        gpu: { instanceType: "g6.xlarge", gpusPerTask: 1, volumeGiB: 200 },
        cpu: 3584,
        memory: 14336,
        scaling: { minCount, maxCount: 4, requestsPerTaskPerMinute: 60 },
        command: ["--model", "/models", "--port", "8000", "--gpu-memory-utilization", "0.90"],
        environment: { MODEL_ID: "llama-3.1-8b", MAX_BATCH: "16" },
        secrets: { HF_TOKEN: "arn:aws:secretsmanager:us-west-2:123456789012:secret:hf-token-AbCdEf" },
        secretsKmsKeyArn: kms,
        weights: { source: `s3://my-model-bucket/llama-3.1-8b-${tag}`, storageGiB: 40, kmsKeyArn: kms },
    });
    world = await new World().start({ ...BASE_STACK, [`${PROJECT}:stable`]: version("1.4.0", 2), [`${PROJECT}:canary`]: version("1.5.0", 1) });
    const run = await world.cli(RUN);
    expect(run.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, stableImage: `${ECR}:1.5.0`, sameDefinition: true });
    // Stable is the canary's definition with its own scaling bounds, every value of the type it was written as.
    expect(world.readConfig()[`${PROJECT}:stable`]).toEqual({ ...version("1.5.0", 2), scaling: { minCount: 2, maxCount: 4, requestsPerTaskPerMinute: 60 } });
});

test("tasks that ECS cannot place wait in PROVISIONING: the progress line says so, and the wait ends", async () => {
    world = await new World().start();
    // ECS can place 2 canary tasks; the 50% step needs 4.
    world.faults({ capacityTasks: 2 });
    const run = await world.cli(RUN);
    expect(run.output).toMatch(
        /waiting for 4 healthy canary tasks: 2 healthy, 2 waiting for capacity \(PROVISIONING for \d+ min: GPU instances still launching, or the instance quota/,
    );
    expect(run.output).toMatch(/the canary service had 2 healthy tasks, not 4, after 45 minutes, 2 waiting for capacity/);
    expect(run.code).not.toBe(0);
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.4.0` });
});

test("a dry run changes nothing and says where slow requests start (stable's 95th percentile, unpinned) and, from the last hour's traffic, what the schedule can catch and how long it takes", async () => {
    world = await new World().start();
    const run = await world.cli([...RUN, "--dry-run"]);
    expect(run.code).toBe(0);
    // The stand-in's p99 of 8 s, as a lognormal with a log-spread of 0.5 has its 95th percentile.
    expect(run.output).toContain("slow requests: over 5.69 s, stable's 95th percentile over its last 3 hours (rollout.slowRequestSeconds pins it)");
    // The stand-in reports whole counts a minute: 2 of 1,200 requests, where 0.2% would be 2.4.
    expect(run.output).toMatch(/power at 20\.0 requests a second, 0\.17% 5xx, 1\.0% slower than 5\.69 s \(the last hour\):/);
    expect(run.output).toContain("expected step times with a healthy canary: 10%");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.4.0` });
});

test("a budget that cannot promise rollout.weakestPromise at stable's traffic refuses before anything moves, saying what it can promise and what would", async () => {
    const stack = {
        ...BASE_STACK,
        [`${PROJECT}:rollout`]: { ...(BASE_STACK[`${PROJECT}:rollout`] as object), budgetSeconds: 900, weakestPromise: 1.1, weakestPromisePoints: 0 },
    };
    world = await new World().start(stack);
    const run = await world.cli(RUN);
    expect({ code: run.code, last: run.lastLine }).toEqual({ code: 4, last: "refused: canaryWeight 0 deployed on e2e" });
    // 20 a second, less a share of the newest minute when its data has not all arrived (a real second is two virtual minutes here).
    expect(run.output).toMatch(/^budget: 15 min from the first step to the decision to promote, at (19\.9|20\.0) requests a second \(stable's last 3 hours\)/m);
    expect(run.output).toMatch(
        /^refused: the budget cannot promise rollout\.weakestPromise \(1\.1x, or a share within rollout\.weakestPromisePoints, 0 points, of stable's\) at this traffic: 5xx: [\d.]+x within 15 min, /m,
    );
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.4.0` });
});
