/** The Automation API calls a promotion makes, and how the stack's outputs and errors are read. */
import { AutomationStack, explainStartupError, PulumiStack, wholeValueJson } from "../../../rollout/adapters/pulumiStack";

import { deploy } from "../../harness/program";
import { BASE_CONFIG } from "../../harness/stacks";
import { PROJECT } from "../../../contract/outputs";

describe("PulumiStack", () => {
    const P = PROJECT;
    /** The outputs a real run of the program exports, as `pulumi stack output --json` would give them. */
    let outputs: Record<string, any>;
    beforeAll(async () => {
        outputs = (await deploy(BASE_CONFIG)).outputs;
    });
    const resource = (urn: string, op: string, parent: string, diffs?: string[]) => ({
        resourcePreEvent: { metadata: { op, urn, type: urn.split("::")[2].split("$").pop(), new: { parent }, ...(diffs ? { diffs } : {}) } },
    });

    /** An Automation API stack whose preview reports `changes` ([urn, op, parent, diffs]) and whose up can fail with engine diagnostics. */
    function fakeStack(config: Record<string, string>, changes: [string, string, string, string[]?][] = [], upFailure?: { urn: string; message: string }) {
        const calls: string[] = [];
        const stack: AutomationStack = {
            name: "test",
            getAllConfig: async () => Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value, secret: false }])),
            setConfig: async (key, value, path) => {
                calls.push(`set ${key}=${value.value}${path ? " (path)" : ""}`);
                if (!path) config[key] = value.value;
            },
            setAllConfigJson: async (json) => {
                for (const [key, entry] of Object.entries(JSON.parse(json) as Record<string, { value: string; objectValue: unknown }>)) {
                    calls.push(`set-all ${key}`);
                    config[key] = JSON.stringify(entry.objectValue);
                }
            },
            removeConfig: async (key, path) => {
                calls.push(`rm ${key}${path ? " (path)" : ""}`);
            },
            preview: (async (opts) => {
                calls.push("preview");
                for (const [urn, op, parent, diffs] of changes) opts!.onEvent!(resource(urn, op, parent, diffs) as any);
                return {} as any;
            }) as AutomationStack["preview"],
            up: (async (opts) => {
                calls.push("up");
                if (upFailure) {
                    opts!.onEvent!({ diagnosticEvent: { urn: upFailure.urn, message: upFailure.message, severity: "error", color: "never" } } as any);
                    throw new Error("code: 255\n stdout: Updating (test):\n stderr: Command failed with exit code 255");
                }
                return {} as any;
            }) as AutomationStack["up"],
            outputs: async () => Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }])),
        };
        return { stack, calls };
    }
    const adapter = (stack: AutomationStack) =>
        new PulumiStack(
            stack,
            () => {},
            () => {},
        );
    const base = { [`${P}:trafficBackend`]: "appmesh", [`${P}:canaryWeight`]: "10", [`${P}:stable`]: BASE_CONFIG.stable, [`${P}:canary`]: BASE_CONFIG.canary };

    test("the deployed state comes from the outputs, the intended one from config", async () => {
        const { stack } = fakeStack({ ...base, [`${P}:canaryWeight`]: "25" });
        const pulumiStack = adapter(stack);
        expect(await pulumiStack.deployed()).toEqual({
            canaryWeight: 10,
            versions: outputs.versions,
            scaling: {
                stable: { minCount: 2, restingMinCount: 2, maxCount: 4, requestsPerTaskPerMinute: 60 },
                canary: { minCount: 1, restingMinCount: 1, maxCount: 4, requestsPerTaskPerMinute: 60 },
            },
        });
        const intended = await pulumiStack.intended();
        expect(intended.canaryWeight).toBe(25);
        expect(intended.fingerprints).toEqual({ stable: outputs.versions.stable.fingerprint, canary: outputs.versions.canary.fingerprint });
    });

    test("a weight step previews, and updates when only the split would change", async () => {
        const { stack, calls } = fakeStack(base, [[outputs.trafficResourceUrn, "update", "urn:parent"]]);
        await adapter(stack).setWeight(25);
        expect(calls).toEqual([`set ${P}:canaryWeight=25`, "preview", "up"]);
    });

    test("a capacity step sets canaryMinCount and updates when only the canary's scalable target would change; back to rest removes the key", async () => {
        const target = outputs.versions.canary.scaling.targetUrn;
        const { stack, calls } = fakeStack(base, [[target, "update", outputs.versions.canary.serviceUrn]]);
        await adapter(stack).setMinCount("canary", 3);
        await adapter(stack).setMinCount("canary", undefined);
        expect(calls).toEqual([`set ${P}:canaryMinCount=3`, "preview", "up", `rm ${P}:canaryMinCount`, "preview", "up"]);
        const stable = fakeStack(base, [[outputs.versions.stable.scaling.targetUrn, "update", outputs.versions.stable.serviceUrn]]);
        await adapter(stable.stack).setMinCount("stable", 4);
        expect(stable.calls).toEqual([`set ${P}:stableMinCount=4`, "preview", "up"]);
    });

    test("a step admits updates that change only tags (a new release's stack tags), and refuses tags with anything else", async () => {
        const service =
            "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:FargateService$aws:ecs/service:Service::inference-canary";
        const tagsOnly = fakeStack(base, [
            [outputs.trafficResourceUrn, "update", "urn:parent"],
            [service, "update", outputs.versions.canary.serviceUrn, ["tags", "tagsAll"]],
        ]);
        await adapter(tagsOnly.stack).setWeight(25);
        expect(tagsOnly.calls).toContain("up");
        const more = fakeStack(base, [
            [outputs.trafficResourceUrn, "update", "urn:parent"],
            [service, "update", outputs.versions.canary.serviceUrn, ["tags", "taskDefinition"]],
        ]);
        await expect(adapter(more.stack).setWeight(25)).rejects.toThrow(`the update would update ${service}`);
        expect(more.calls).not.toContain("up");
    });

    test("a capacity step that would change the service itself is refused, naming it", async () => {
        const service =
            "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:FargateService$aws:ecs/service:Service::inference-canary";
        const { stack, calls } = fakeStack(base, [
            [outputs.versions.canary.scaling.targetUrn, "update", outputs.versions.canary.serviceUrn],
            [service, "update", outputs.versions.canary.serviceUrn],
        ]);
        await expect(adapter(stack).setMinCount("canary", 3)).rejects.toThrow(
            `besides the canary's scalable target, the update would update ${service}; nothing was deployed`,
        );
        expect(calls).not.toContain("up");
    });

    test("a weight step that would change anything else is refused before any update, naming it", async () => {
        const taskDef =
            "urn:pulumi:test::ai-inference-canary::ai-canary:index:InferenceCanary$ai-canary:compute:FargateService$aws:ecs/taskDefinition:TaskDefinition::inference-canary";
        const { stack, calls } = fakeStack(base, [
            [outputs.trafficResourceUrn, "update", "urn:parent"],
            [taskDef, "replace", outputs.versions.canary.serviceUrn],
        ]);
        await expect(adapter(stack).setWeight(25)).rejects.toThrow(
            `besides the resource that carries the split, the update would replace ${taskDef}; nothing was deployed`,
        );
        expect(calls).not.toContain("up");
    });

    test("promotion copies what defines the canary onto stable, keeps stable's scaling bounds, and may change only stable's service", async () => {
        const stableOf = (child: string) => [child, "update", outputs.versions.stable.serviceUrn] as [string, string, string];
        const config: Record<string, string> = {
            ...base,
            [`${P}:canaryWeight`]: "100",
            [`${P}:stable`]: JSON.stringify({ image: "repo/llm:1", scaling: { minCount: 4 }, environment: { OLD: "x" } }),
            [`${P}:canary`]: JSON.stringify({
                image: "repo/llm:2",
                scaling: { minCount: 1 },
                cpu: 8192,
                memory: 32768,
                environment: { MODEL_ID: "m", PAD_TOKEN: "<pad>" },
                notSecret: ["PAD_TOKEN"],
            }),
        };
        const { stack, calls } = fakeStack(config, [
            stableOf("urn:pulumi:test::p::a:b:C$aws:ecs/taskDefinition:TaskDefinition::inference-stable"),
            stableOf("urn:pulumi:test::p::a:b:C$aws:ecs/service:Service::inference-stable"),
        ]);
        await adapter(stack).promote();
        expect(calls).toEqual([`set-all ${P}:stable`, "preview", "up"]);
        // notSecret travels with the environment it vouches for: the promoted stable is accepted as the canary was.
        expect(JSON.parse(config[`${P}:stable`])).toEqual({
            image: "repo/llm:2",
            scaling: { minCount: 4 },
            cpu: 8192,
            memory: 32768,
            environment: { MODEL_ID: "m", PAD_TOKEN: "<pad>" },
            notSecret: ["PAD_TOKEN"],
        });
    });

    test("promotion copies the compute kind and size (a canary on GPUs makes stable a GPU version), never the scaling bounds; a Fargate canary drops stable's GPU settings", async () => {
        const stableOf = (child: string) => [child, "update", outputs.versions.stable.serviceUrn] as [string, string, string];
        const gpu = {
            image: "repo/llm:2",
            compute: "gpu",
            cpu: 4096,
            memory: 14336,
            gpu: { instanceType: "g6e.xlarge" },
            scaling: { minCount: 1, maxCount: 8 },
        };
        const fargate = { image: "repo/llm:1", scaling: { minCount: 4, maxCount: 6 } };
        const promote = async (stable: object, canary: object) => {
            const config: Record<string, string> = {
                ...base,
                [`${P}:canaryWeight`]: "100",
                [`${P}:stable`]: JSON.stringify(stable),
                [`${P}:canary`]: JSON.stringify(canary),
            };
            const { stack } = fakeStack(config, [stableOf("urn:pulumi:test::p::a:b:C$aws:ecs/service:Service::inference-stable")]);
            await adapter(stack).promote();
            return JSON.parse(config[`${P}:stable`]);
        };
        expect(await promote(fargate, gpu)).toEqual({
            image: "repo/llm:2",
            compute: "gpu",
            cpu: 4096,
            memory: 14336,
            gpu: { instanceType: "g6e.xlarge", gpusPerTask: 1, volumeGiB: 200 },
            environment: {},
            scaling: { minCount: 4, maxCount: 6 },
        });
        const back = await promote({ ...gpu, image: "repo/llm:1", scaling: { minCount: 4, maxCount: 6 } }, { ...fargate, image: "repo/llm:3" });
        // A Fargate canary's definition names no compute kind (Fargate is the default) and no GPU: stable loses both.
        expect(back).not.toHaveProperty("gpu");
        expect(back).not.toHaveProperty("compute");
        expect(back).toMatchObject({ image: "repo/llm:3", scaling: { minCount: 4, maxCount: 6 } });
    });

    test("a promotion that moves stable to GPUs may create its GPU capacity and change the cluster's capacity providers, and nothing of the canary's", async () => {
        const stable = outputs.versions.stable;
        const created = [
            [`${stable.capacityUrn}$aws:autoscaling/group:Group::inference-stable-gpu`, "create", stable.capacityUrn],
            [outputs.capacityProvidersUrn, "create", "urn:parent"],
            [`${stable.serviceUrn}$aws:ecs/service:Service::inference-stable`, "update", stable.serviceUrn],
        ] as [string, string, string][];
        const config = {
            ...base,
            [`${P}:canaryWeight`]: "100",
            [`${P}:canary`]: JSON.stringify({ image: "repo/llm:2", compute: "gpu", memory: 14336, gpu: { instanceType: "g6.xlarge" } }),
        };
        const { stack, calls } = fakeStack({ ...config }, created);
        await adapter(stack).promote();
        expect(calls.slice(-2)).toEqual(["preview", "up"]);
        const canaryCapacity = `${outputs.versions.canary.capacityUrn}$aws:ec2/launchTemplate:LaunchTemplate::inference-canary-gpu`;
        const refused = fakeStack({ ...config }, [...created, [canaryCapacity, "update", outputs.versions.canary.capacityUrn]]);
        await expect(adapter(refused.stack).promote()).rejects.toThrow(
            `besides the stable service and its GPU capacity, the update would update ${canaryCapacity}`,
        );
    });

    test("a failed update names the failing resource and AWS's error, from the engine's events", async () => {
        const route = "urn:pulumi:test::ai-inference-canary::ai-canary:traffic:AppMeshTraffic$aws:appmesh/route:Route::inference-appmesh-weighted";
        const { stack } = fakeStack(base, [[outputs.trafficResourceUrn, "update", "urn:parent"]], {
            urn: route,
            message: "updating App Mesh Route: BadRequestException: weights must add up to 100",
        });
        await expect(adapter(stack).setWeight(25)).rejects.toThrow(
            "pulumi up (canaryWeight 25) failed: inference-appmesh-weighted: updating App Mesh Route: BadRequestException: weights must add up to 100",
        );
    });

    test("wholeValueJson is the shape `pulumi config --json` prints: the value as JSON text and as the object", () => {
        expect(JSON.parse(wholeValueJson("p:stable", { command: ["--port", "8000"], scaling: { minCount: 2 } }))).toEqual({
            "p:stable": {
                value: '{"command":["--port","8000"],"scaling":{"minCount":2}}',
                objectValue: { command: ["--port", "8000"], scaling: { minCount: 2 } },
                secret: false,
            },
        });
    });

    test("a missing CLI or login is explained, not reported as spawn ENOENT", () => {
        expect(explainStartupError(new Error("spawn pulumi ENOENT")).message).toContain("the Pulumi CLI is not on PATH: install it");
        expect(explainStartupError(new Error("PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions")).message).toContain(
            "run `pulumi login`",
        );
        // The Automation API's wrapper first, the CLI's words further down: the stack and the cause both reach the user.
        const missing = new Error("code: -2\n stdout: \n stderr: error: no stack named 'prdo' found\n");
        expect(explainStartupError(missing, "prdo").message).toBe(
            "stack prdo does not exist here (no stack named 'prdo' found): check the name and `pulumi whoami`'s organization, or create it with `pulumi stack init` and `pulumi up`",
        );
    });
});
