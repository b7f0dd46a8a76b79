/**
 * Two services on one platform, rolled out at the same time by two runners: each rollout
 * ends as deployed and as reported, and neither touches the other's stack. Each service's
 * `StackReference` to the platform is answered with the committed platform stack's render.
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { ECR, World } from "./harness";
import { readStack } from "./standins/world";
import { PROJECT } from "../../contract/outputs";

const P = PROJECT;
const service = (name: string, backend: "lattice" | "alb", calls?: string[]) => ({
    "aws:region": "us-west-2",
    [`${P}:platform`]: "organization/ai-inference-platform/rag",
    [`${P}:trafficBackend`]: backend,
    [`${P}:serviceName`]: name,
    [`${P}:canaryWeight`]: "0",
    ...(backend === "alb" ? { [`${P}:alb`]: { scheme: "internal", allowedCidrs: ["10.60.0.0/16"] } } : {}),
    ...(calls ? { [`${P}:calls`]: calls } : {}),
    [`${P}:stable`]: { image: `${ECR}-${name}:1.0.0`, cpu: 1024, memory: 2048, scaling: { minCount: 1 } },
    [`${P}:canary`]: { image: `${ECR}-${name}:1.1.0`, cpu: 1024, memory: 2048, scaling: { minCount: 1 } },
    [`${P}:rollout`]: { steps: [10, 50, 100], bakeSeconds: 120, sampleSeconds: 60, minRequests: 5, trafficWaitSeconds: 120 },
});

let world: World;
afterEach(async () => {
    await world?.close();
});

test("two services on one platform roll out at once: both promoted, each as deployed and reported, neither touching the other", async () => {
    world = await new World().startMany({ "rag-embedder": service("embedder", "lattice"), "rag-gateway": service("gateway", "alb", ["embedder"]) });
    const before = { embedder: readStack("rag-embedder")!, gateway: readStack("rag-gateway")! };
    const [embedder, gateway] = await Promise.all([
        world.cli(["run", "--stack", "rag-embedder", "--yes"]),
        world.cli(["run", "--stack", "rag-gateway", "--yes"]),
    ]);
    expect([embedder.code, gateway.code]).toEqual([0, 0]);
    expect(embedder.lastLine).toBe("promoted: canaryWeight 0 deployed on rag-embedder");
    expect(gateway.lastLine).toBe("promoted: canaryWeight 0 deployed on rag-gateway");
    expect(world.deployed("rag-embedder")).toEqual({
        canaryWeight: 0,
        trafficWeight: 0,
        stableImage: `${ECR}-embedder:1.1.0`,
        canaryImage: `${ECR}-embedder:1.1.0`,
        sameDefinition: true,
    });
    expect(world.deployed("rag-gateway")).toEqual({
        canaryWeight: 0,
        trafficWeight: 0,
        stableImage: `${ECR}-gateway:1.1.0`,
        canaryImage: `${ECR}-gateway:1.1.0`,
        sameDefinition: true,
    });
    // Each rollout's updates named only its own stack's resources.
    for (const [stack, other] of [
        ["rag-embedder", "gateway"],
        ["rag-gateway", "embedder"],
    ] as const) {
        const state = readStack(stack)!;
        expect(state.resources.some((r) => r.name.startsWith(`${other}-`))).toBe(false);
        expect(state.history.length).toBeGreaterThan(1);
    }
    // Both ran in the platform's cluster and on its service network, and the gateway calls the embedder by its stable name.
    expect(readStack("rag-embedder")!.outputs.clusterName).toBe(readStack("rag-gateway")!.outputs.clusterName);
    const association = readStack("rag-embedder")!.resources.find(
        (r) => r.type === "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation",
    )!;
    expect(association.inputs.serviceNetworkIdentifier).toBe(
        before.embedder.resources.find((r) => r.type === association.type)!.inputs.serviceNetworkIdentifier,
    );
    const taskDefinition = readStack("rag-gateway")!.resources.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name === "gateway-canary")!;
    expect(JSON.parse(String(taskDefinition.inputs.containerDefinitions))[0].environment).toEqual([
        { name: "CANARY_METRIC_NAMESPACE", value: "AICanary/rag-gateway-gateway" },
        { name: "CANARY_VERSION", value: "canary" },
        { name: "EMBEDDER_URL", value: "http://embedder.rag.internal" },
    ]);
});

test("a callee rolled back for its 5xx shows its callers' 5xx beside its own, as a hint: the gateway's rose with the embedder's canary weight", async () => {
    world = await new World().startMany({ "rag-embedder": service("embedder", "lattice"), "rag-gateway": service("gateway", "alb", ["embedder"]) });
    // The gateway's requests fail when its call to the embedder does; the embedder's canary fails 5% of its requests.
    world.traffic({ canary: { errorRate: 0.05, p99Ms: 8200, slowRate: 0.01 }, callers: { "rag-gateway": ["rag-embedder"] } });
    // A caller whose stack file is here but which was never deployed: named in the report, not fatal.
    fs.writeFileSync(path.join(world.project, "Pulumi.rag-search.yaml"), yaml.dump({ config: service("search", "lattice", ["embedder"]) }));

    const run = await world.cli(["run", "--stack", "rag-embedder", "--yes"]);
    expect(run.code).toBe(1);
    expect(run.lastLine).toBe("rolled-back: canaryWeight 0 deployed on rag-embedder");
    const said =
        /caller rag-gateway \(gateway\): 5xx ([0-9.]+)% \(\d+\/\d+\) during the rollout, ([0-9.]+)% \(\d+\/\d+\) the hour before \(a hint, not a gate\)/.exec(
            run.output,
        );
    const [during, before] = [Number(said?.[1]), Number(said?.[2])];
    // Before: the gateway's own 0.2% and its calls' 0.2%; during the 10% step: 0.2% + 0.1 x 5% + 0.9 x 0.2%.
    expect(before).toBeCloseTo(0.4, 1);
    expect(during).toBeGreaterThan(0.7);
    expect(run.output).toMatch(/caller rag-search: stack rag-search does not exist here .*\(its 5xx are left out of the report\)/);

    const reports = path.join(world.project, "rollout-reports");
    const report = JSON.parse(
        fs.readFileSync(
            path.join(
                reports,
                fs.readdirSync(reports).find((f) => f.endsWith(".json"))!,
            ),
            "utf8",
        ),
    );
    expect(report.outcome).toBe("rolled-back");
    expect(report.callers.callers.map((c: { stack: string }) => c.stack)).toEqual(["rag-gateway"]);
    const markdown = fs.readFileSync(
        path.join(
            reports,
            fs.readdirSync(reports).find((f) => f.endsWith(".md"))!,
        ),
        "utf8",
    );
    // A column per step beside the hour before: the gateway's 5xx rise with each step's weight (10%, then 50%).
    const row = /^\| rag-gateway \(gateway\) \| (.*) \|$/m
        .exec(markdown)![1]
        .split(" | ")
        .map((cell) => Number(/^([0-9.]+)% \(\d+\/\d+\)$/.exec(cell)![1]));
    expect(row).toHaveLength(1 + report.steps.length);
    expect(row[0]).toBeCloseTo(0.4, 1);
    for (let i = 1; i < row.length; i++) expect(row[i]).toBeGreaterThan(row[i - 1]);
    // The gateway was only read: its stack was never updated.
    expect(readStack("rag-gateway")!.history).toHaveLength(1);
});
