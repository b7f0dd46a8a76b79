/** The lease, status and abort in SSM. */
import { VirtualClock } from "../../../rollout/simulator/world";
import { LeaseHeld, platformLeases, rolloutParameter, SsmControl } from "../../../rollout/adapters/ssm";

describe("the lease, status and abort in SSM", () => {
    /** SSM's semantics where they matter: a create without overwrite fails on an existing name. */
    function fakeSsm() {
        const params = new Map<string, string>();
        const send = jest.fn(async (command: any) => {
            const input = command.input;
            switch (command.constructor.name) {
                case "PutParameterCommand":
                    if (!input.Overwrite && params.has(input.Name)) throw Object.assign(new Error("exists"), { name: "ParameterAlreadyExists" });
                    params.set(input.Name, input.Value);
                    return {};
                case "GetParameterCommand":
                    if (!params.has(input.Name)) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
                    return { Parameter: { Value: params.get(input.Name) } };
                case "DeleteParameterCommand":
                    if (!params.delete(input.Name)) throw Object.assign(new Error("not found"), { name: "ParameterNotFound" });
                    return {};
                case "GetParametersByPathCommand": {
                    // As SSM pages it: at most 10 a page, the rest behind NextToken.
                    const all = [...params].filter(([name]) => name.startsWith(input.Path)).map(([Name, Value]) => ({ Name, Value }));
                    const from = Number(input.NextToken ?? 0);
                    return { Parameters: all.slice(from, from + 10), NextToken: from + 10 < all.length ? String(from + 10) : undefined };
                }
            }
            throw new Error(`unexpected ${command.constructor.name}`);
        });
        return { send, params } as any;
    }

    test("one rollout holds the lease; a second is refused, naming the first; release frees it", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        const first = new SsmControl(ssm, "dev", "alice@a", clock);
        const second = new SsmControl(ssm, "dev", "bob@b", clock);
        await first.acquire();
        await expect(second.acquire()).rejects.toThrow("another rollout holds this stack: alice@a");
        expect(ssm.params.has(rolloutParameter("dev", "lease"))).toBe(true);
        await first.release();
        await expect(second.acquire()).resolves.toBeUndefined();
    });

    test("a platform's guard sees every live lease of a service on it, over pages, and no other", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        const REF = "acme/ai-inference-platform/rag";
        // Twelve stacks of other platforms or none fill the first page.
        for (let i = 0; i < 12; i++)
            await new SsmControl(ssm, `other-${i}`, "x@y", clock, undefined, i % 2 ? "acme/ai-inference-platform/search" : undefined).acquire();
        expect(await platformLeases(ssm, "rag", clock.now())).toEqual([]);
        await new SsmControl(ssm, "rag-embedder", "alice@a", clock, 60_000, REF).acquire();
        await new SsmControl(ssm, "rag-gateway", "bob@b", clock, undefined, REF).acquire();
        const held = await platformLeases(ssm, "rag", clock.now());
        expect(held.map((l) => [l.stack, l.owner])).toEqual([
            ["rag-embedder", "alice@a"],
            ["rag-gateway", "bob@b"],
        ]);
        expect((await platformLeases(ssm, REF, clock.now())).length).toBe(2);
        // A lease left to expire no longer holds the platform.
        await clock.sleep(120_000);
        expect((await platformLeases(ssm, "rag", clock.now())).map((l) => l.stack)).toEqual(["rag-gateway"]);
    });

    test("a stale lease is broken only when asked", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        await new SsmControl(ssm, "dev", "crashed@ci", clock, 60_000).acquire();
        await clock.sleep(120_000);
        const next = new SsmControl(ssm, "dev", "bob@b", clock);
        await expect(next.acquire()).rejects.toBeInstanceOf(LeaseHeld);
        await expect(next.acquire(true)).resolves.toBeUndefined();
    });

    test("an abort request reaches the holder's next heartbeat, which also publishes its status", async () => {
        const ssm = fakeSsm();
        const clock = new VirtualClock();
        const holder = new SsmControl(ssm, "dev", "alice@a", clock);
        await holder.acquire();
        expect(await holder.heartbeat("step 1 at 10%: baking")).toEqual({});
        await new SsmControl(ssm, "dev", "ops@laptop", clock).requestAbort("ops@laptop");
        expect(await holder.heartbeat("step 1 at 10%: baking")).toEqual({ abortRequestedBy: "ops@laptop" });
        expect((await holder.status())?.status).toBe("step 1 at 10%: baking");
    });
});
