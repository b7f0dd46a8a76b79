/**
 * SSM Parameter Store: the lease that makes one rollout per stack, the status every runner
 * publishes, and the abort request, which every runner of the stack sees.
 */
import {
    DeleteParameterCommand,
    GetParameterCommand,
    GetParametersByPathCommand,
    ParameterAlreadyExists,
    ParameterNotFound,
    PutParameterCommand,
    SSMClient,
} from "@aws-sdk/client-ssm";
import { PROJECT } from "../../contract/outputs";
import { Clock, ControlPort, LeaseLost } from "../core/ports";
import { Send } from "./send";

/**
 * The rollouts running on a platform: every live lease, of any service stack, that names it
 * (by `org/project/stack`, or by the platform stack's name alone). SSM lists the project's
 * parameters by path, ten a page.
 */
export async function platformLeases(ssm: Send<SSMClient>, platform: string, now: number): Promise<(Lease & { stack: string })[]> {
    const names = (ref?: string) => !!ref && (ref === platform || ref.split("/").pop() === platform);
    const found: (Lease & { stack: string })[] = [];
    let NextToken: string | undefined;
    do {
        const page = await ssm.send(new GetParametersByPathCommand({ Path: `/${PROJECT}/`, Recursive: true, NextToken }));
        for (const p of page.Parameters ?? []) {
            const stack = new RegExp(`^/${PROJECT}/(.+)/rollout/lease$`).exec(p.Name ?? "")?.[1];
            if (!stack || !p.Value) continue;
            const lease = JSON.parse(p.Value) as Lease;
            if (names(lease.platform) && lease.expiresAt > now) found.push({ ...lease, stack });
        }
        NextToken = page.NextToken;
    } while (NextToken);
    return found;
}

/** Parameter names of one stack's rollout: `/ai-inference-canary/<stack>/rollout/<name>`. */
export const rolloutParameter = (stack: string, name: "lease" | "status" | "abort") => `/${PROJECT}/${stack}/rollout/${name}`;

export interface Lease {
    owner: string;
    expiresAt: number;
    /** The platform stack the leased stack is on (`platform` in its config), so the platform's deploy can see it. */
    platform?: string;
}

/** Another rollout holds the stack. */
export class LeaseHeld extends Error {
    constructor(readonly lease: Lease) {
        super(`another rollout holds this stack: ${lease.owner}, until ${new Date(lease.expiresAt).toISOString()}`);
        this.name = "LeaseHeld";
    }
}

/**
 * One rollout per stack, through SSM Parameter Store: the lease is taken by creating its
 * parameter without overwrite, which SSM does atomically (two runners at the same instant:
 * one creates it, the other gets ParameterAlreadyExists). It names its owner and expires
 * unless renewed at every heartbeat; a stale one is broken only on request.
 */
export class SsmControl implements ControlPort {
    constructor(
        private readonly ssm: Send<SSMClient>,
        private readonly stack: string,
        private readonly owner: string,
        private readonly clock: Clock,
        private readonly ttlMs = 15 * 60_000,
        private readonly platform?: string,
    ) {}

    private async get(name: "lease" | "status" | "abort"): Promise<string | undefined> {
        try {
            const { Parameter } = await this.ssm.send(new GetParameterCommand({ Name: rolloutParameter(this.stack, name) }));
            return Parameter?.Value;
        } catch (e) {
            if (e instanceof ParameterNotFound || (e as Error).name === "ParameterNotFound") return undefined;
            throw e;
        }
    }

    private put(name: "lease" | "status" | "abort", value: unknown, overwrite: boolean) {
        return this.ssm.send(
            new PutParameterCommand({ Name: rolloutParameter(this.stack, name), Value: JSON.stringify(value), Type: "String", Overwrite: overwrite }),
        );
    }

    private async delete(name: "lease" | "status" | "abort") {
        try {
            await this.ssm.send(new DeleteParameterCommand({ Name: rolloutParameter(this.stack, name) }));
        } catch (e) {
            if (!(e instanceof ParameterNotFound || (e as Error).name === "ParameterNotFound")) throw e;
        }
    }

    async lease(): Promise<Lease | undefined> {
        const value = await this.get("lease");
        return value === undefined ? undefined : (JSON.parse(value) as Lease);
    }

    /** Takes the lease, or throws `LeaseHeld`; a stale lease is broken first when `breakStale`. */
    async acquire(breakStale = false): Promise<void> {
        const held = await this.lease();
        if (held && breakStale && held.expiresAt < this.clock.now()) await this.delete("lease");
        try {
            await this.put("lease", this.leaseRecord(), false);
        } catch (e) {
            if (e instanceof ParameterAlreadyExists || (e as Error).name === "ParameterAlreadyExists")
                throw new LeaseHeld((await this.lease()) ?? { owner: "?", expiresAt: 0 });
            throw e;
        }
        await this.delete("abort");
    }

    async heartbeat(status: string): Promise<{ abortRequestedBy?: string }> {
        const held = await this.lease();
        if (held?.owner !== this.owner) throw new LeaseLost(`this rollout lost its lease on the stack${held ? ` to ${held.owner}` : ""}`);
        await this.put("lease", this.leaseRecord(), true);
        await this.put("status", { owner: this.owner, at: this.clock.now(), status }, true);
        const abort = await this.get("abort");
        return abort === undefined ? {} : { abortRequestedBy: (JSON.parse(abort) as { by: string }).by };
    }

    private leaseRecord(): Lease {
        return { owner: this.owner, expiresAt: this.clock.now() + this.ttlMs, ...(this.platform ? { platform: this.platform } : {}) };
    }

    async release(): Promise<void> {
        await this.delete("abort");
        const held = await this.lease();
        if (held?.owner === this.owner) await this.delete("lease");
    }

    async requestAbort(by: string): Promise<void> {
        await this.put("abort", { by, at: this.clock.now() }, true);
    }

    async status(): Promise<{ owner: string; at: number; status: string } | undefined> {
        const value = await this.get("status");
        return value === undefined ? undefined : JSON.parse(value);
    }
}
