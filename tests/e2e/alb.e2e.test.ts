/**
 * The rollout on the Application Load Balancer backend end to end: weights verified with
 * ELB's DescribeListeners at the stand-in, and conversation affinity that a rollback ends
 * for every client at once.
 */
import { BASE_STACK, ECR, RUN, World } from "./harness";
import { albRoute, AlbClient, readJson } from "./standins/world";
import { PROJECT } from "../../contract/outputs";

/** The test stack behind an ALB, with affinity for an hour. */
const ALB_STACK = {
    ...BASE_STACK,
    [`${PROJECT}:trafficBackend`]: "alb",
    [`${PROJECT}:alb`]: { allowedCidrs: ["203.0.113.0/24"], stickiness: { durationSeconds: 3600 } },
};

let world: World;
afterEach(async () => {
    await world?.close();
});

test("a healthy canary behind the ALB is stepped, verified with DescribeListeners, and promoted", async () => {
    world = await new World().start(ALB_STACK);
    const run = await world.cli(RUN);
    expect(run.code).toBe(0);
    expect(run.lastLine).toBe("promoted: canaryWeight 0 deployed on e2e");
    for (const w of [10, 50, 100, 0]) expect(run.output).toContain(`canaryWeight ${w} deployed and verified at the traffic layer`);
    expect(world.deployed()).toEqual({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.5.0`, canaryImage: `${ECR}:1.5.0`, sameDefinition: true });
    // Affinity was on while the canary had traffic, and off at rest.
    const split = world.stackState().split;
    expect(split.filter((s) => s.canaryWeight > 0).every((s) => s.stickySeconds === 3600)).toBe(true);
    expect(split.at(-1)).toMatchObject({ canaryWeight: 0 });
    expect(split.at(-1)!.stickySeconds).toBeUndefined();
    // Each verified weight was published where the dashboard graphs it.
    const published = readJson<{ namespace: string; name: string; value: number }[]>("published-metrics.json", []);
    expect(published.map((p) => [p.namespace, p.name, p.value])).toEqual([10, 50, 100, 0].map((w) => ["AICanary/e2e-inference", "CanaryWeight", w]));
});

test("a bad canary is rolled back, and afterwards no request of a client stuck to it reaches it", async () => {
    world = await new World().start(ALB_STACK, { canary: { errorRate: 0.08, p99Ms: 8200, slowRate: 0.01 } });
    const run = await world.cli(RUN);
    expect(run.lastLine).toBe("rolled-back: canaryWeight 0 deployed on e2e");
    expect(world.deployed()).toMatchObject({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}:1.4.0` });

    // 1,000 cookie-keeping clients first arrive while the canary has its first step.
    const state = world.stackState();
    const step = state.split.find((s) => s.canaryWeight > 0)!;
    expect(step.stickySeconds).toBe(3600);
    const clients: AlbClient[] = Array.from({ length: 1000 }, () => ({}));
    clients.forEach((c, i) => albRoute(state, step.at + 1000, c, (i + 0.5) / clients.length));
    const stuck = clients.filter((c) => c.cookie?.version === "canary");
    expect(stuck.length).toBe(step.canaryWeight * 10);
    // While affinity was on, they stayed on the canary whatever the draw.
    expect(stuck.every((c) => albRoute(state, step.at + 2000, { cookie: { ...c.cookie! } }, 0.99) === "canary")).toBe(true);
    // After the rollback, well within their cookie's hour, not one of their requests reaches it.
    const after = state.split.at(-1)!.at + 1000;
    expect(after).toBeLessThan(stuck[0].cookie!.until);
    expect(stuck.map((c, i) => albRoute(state, after, c, i / stuck.length)).filter((v) => v === "canary")).toEqual([]);
});
