/**
 * Two services on one platform, rolled out at the same time by two runners: each rollout
 * ends as deployed and as reported, and neither touches the other's stack. Each service's
 * `StackReference` to the platform is answered with the committed platform stack's render.
 */
import { ECR, World } from "./harness";
import { readStack } from "./standins/world";
import { PROJECT } from "../../mesh/contract";

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
    expect(world.deployed("rag-embedder")).toEqual({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}-embedder:1.1.0`, canaryImage: `${ECR}-embedder:1.1.0`, sameDefinition: true });
    expect(world.deployed("rag-gateway")).toEqual({ canaryWeight: 0, trafficWeight: 0, stableImage: `${ECR}-gateway:1.1.0`, canaryImage: `${ECR}-gateway:1.1.0`, sameDefinition: true });
    // Each rollout's updates named only its own stack's resources.
    for (const [stack, other] of [
        ["rag-embedder", "gateway"],
        ["rag-gateway", "embedder"],
    ] as const) {
        const state = readStack(stack)!;
        expect(state.resources.some((r) => r.name.startsWith(`${other}-`))).toBe(false);
        expect(state.history.length).toBeGreaterThan(1);
    }
    // Both ran on the same platform's service network, and the gateway calls the embedder by its stable name.
    const association = readStack("rag-embedder")!.resources.find((r) => r.type === "aws:vpclattice/serviceNetworkServiceAssociation:ServiceNetworkServiceAssociation")!;
    expect(association.inputs.serviceNetworkIdentifier).toBe(before.embedder.resources.find((r) => r.type === association.type)!.inputs.serviceNetworkIdentifier);
    const taskDefinition = readStack("rag-gateway")!.resources.find((r) => r.type === "aws:ecs/taskDefinition:TaskDefinition" && r.name === "gateway-canary")!;
    expect(JSON.parse(String(taskDefinition.inputs.containerDefinitions))[0].environment).toEqual([{ name: "EMBEDDER_URL", value: "http://embedder.rag.internal" }]);
});
