/**
 * The rollout's AWS adapters, each thin: ECS (is a version running the revision the
 * stack deployed?), the traffic layer (what weight does it really apply?), and SSM
 * Parameter Store (the lease, the published status and the abort request that every
 * runner of the stack sees).
 */
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { AppMeshClient, DescribeRouteCommand } from "@aws-sdk/client-app-mesh";
import { GetListenerCommand, VPCLatticeClient } from "@aws-sdk/client-vpc-lattice";
import { DescribeListenersCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, ParameterAlreadyExists, ParameterNotFound, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { Version } from "../../contract/versions";
import { PROJECT, StackOutputs } from "../../contract/outputs";
import { Clock, ControlPort, LeaseLost, ServicesPort, ServiceRolledBack, TrafficPort, UpdateFailed, Waiting } from "../core/ports";

type Send<C extends { send: unknown }> = Pick<C, "send">;

/** ECS: waits until a version's service runs a given task definition revision in a COMPLETED PRIMARY deployment. */
export class EcsServices implements ServicesPort {
    constructor(
        private readonly ecs: Send<ECSClient>,
        private readonly outputs: Pick<StackOutputs, "clusterName" | "stableServiceName" | "canaryServiceName" | "evaluation">,
        private readonly clock: Clock,
        /** How long a model may take to load on new tasks before the wait gives up. */
        private readonly timeoutMs = 45 * 60_000,
        private readonly pollMs = 15_000,
    ) {}

    async waitRunning(version: Version, taskDefinitionArn: string, { signal, heartbeat }: Waiting = {}): Promise<void> {
        const cluster = this.outputs.clusterName;
        const service = version === "stable" ? this.outputs.stableServiceName : this.outputs.canaryServiceName;
        const deadline = this.clock.now() + this.timeoutMs;
        const revision = (arn?: string) => arn?.split("/").pop();
        for (;;) {
            const { services } = await this.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
            const deployments = services?.[0]?.deployments ?? [];
            const primary = deployments.find((d) => d.status === "PRIMARY");
            const target = deployments.find((d) => d.taskDefinition === taskDefinitionArn);
            if (primary?.taskDefinition === taskDefinitionArn && primary.rolloutState === "COMPLETED" && (primary.runningCount ?? 0) >= (primary.desiredCount ?? 0)) return;
            if (target?.rolloutState === "FAILED" || (primary && primary.taskDefinition !== taskDefinitionArn && !target)) {
                throw new ServiceRolledBack(
                    `ECS did not keep the ${version} service on the deployed revision ${revision(taskDefinitionArn)}: it runs ${revision(primary?.taskDefinition)}` +
                        (target?.rolloutStateReason ? ` (${target.rolloutStateReason})` : " (rolled back by the deployment circuit breaker, or changed outside Pulumi)"),
                );
            }
            if (signal?.aborted) return;
            if (this.clock.now() >= deadline) {
                throw new UpdateFailed(`the ${version} service did not run revision ${revision(taskDefinitionArn)} in a completed deployment within ${this.timeoutMs / 60_000} minutes`);
            }
            await this.clock.sleep(this.pollMs, signal);
            await heartbeat?.();
        }
    }

    /**
     * Counts the version's running tasks of the revision that pass their health checks.
     * ECS says UNKNOWN both while a health check is still in its start period and when a
     * container has none (a gRPC server), so the task definition decides which it means.
     */
    async waitHealthy(version: Version, taskDefinitionArn: string, count: number, { signal, heartbeat, progress }: Waiting = {}): Promise<void> {
        const cluster = this.outputs.clusterName;
        const serviceName = version === "stable" ? this.outputs.stableServiceName : this.outputs.canaryServiceName;
        const { taskDefinition } = await this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn }));
        const checked = (taskDefinition?.containerDefinitions ?? []).some((c) => c.essential !== false && c.healthCheck);
        const deadline = this.clock.now() + this.timeoutMs;
        let said = "";
        for (;;) {
            const { taskArns = [] } = await this.ecs.send(new ListTasksCommand({ cluster, serviceName, desiredStatus: "RUNNING" }));
            // DescribeTasks takes at most 100 tasks; a version never runs more (its maxCount is at most 100).
            const { tasks = [] } = taskArns.length > 0 ? await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: taskArns })) : {};
            const own = tasks.filter((t) => t.taskDefinitionArn === taskDefinitionArn);
            const healthy = own.filter((t) => t.lastStatus === "RUNNING" && (!checked || t.healthStatus === "HEALTHY")).length;
            if (healthy >= count) return;
            const line = `waiting for ${count} healthy ${version} tasks: ${healthy} healthy` + placementNote(own, this.clock.now());
            if (line !== said) progress?.((said = line));
            if (signal?.aborted) return;
            if (this.clock.now() >= deadline) {
                throw new UpdateFailed(`the ${version} service had ${healthy} healthy tasks, not ${count}, after ${this.timeoutMs / 60_000} minutes${placementNote(own, this.clock.now()) || " (the model did not load in time?)"}`);
            }
            await this.clock.sleep(this.pollMs, signal);
            await heartbeat?.();
        }
    }

    evaluate(waiting: Waiting = {}): Promise<{ exitCode?: number; reason: string }> {
        return runEvaluation(this.ecs, this.outputs, this.clock, this.pollMs, waiting);
    }
}

/**
 * Tasks that ECS has accepted but not placed: with a capacity provider they wait in
 * PROVISIONING until an instance with room registers (ECS developer guide, "Amazon ECS
 * managed scaling behavior"); for a GPU version that means instances launching, or none to
 * be had (the account's G/P instance vCPU quota, or the AZ's capacity). Said in the wait's
 * progress line and in its timeout, never waited out in silence.
 */
function placementNote(tasks: { lastStatus?: string; createdAt?: Date }[], now: number): string {
    const waiting = tasks.filter((t) => t.lastStatus === "PROVISIONING" || t.lastStatus === "PENDING");
    if (waiting.length === 0) return "";
    const since = Math.min(...waiting.map((t) => t.createdAt?.getTime() ?? now));
    const minutes = Math.floor((now - since) / 60_000);
    return `, ${waiting.length} waiting for capacity (PROVISIONING for ${minutes} min: GPU instances still launching, or the instance quota or the Availability Zone's capacity exhausted)`;
}

/** Runs the evaluation task once (Fargate, in the stack's private subnets) and waits for it to stop. */
async function runEvaluation(
    ecs: Send<ECSClient>,
    outputs: Pick<StackOutputs, "clusterName" | "evaluation">,
    clock: Clock,
    pollMs: number,
    { signal, heartbeat }: Waiting,
): Promise<{ exitCode?: number; reason: string }> {
    const evaluation = outputs.evaluation;
    if (!evaluation) return { exitCode: 0, reason: "the stack declares no evaluation" };
    const cluster = outputs.clusterName;
    const started = await ecs.send(
        new RunTaskCommand({
            cluster,
            taskDefinition: evaluation.taskDefinitionArn,
            launchType: "FARGATE",
            count: 1,
            startedBy: "ai-canary-rollout",
            networkConfiguration: { awsvpcConfiguration: { subnets: evaluation.subnetIds, securityGroups: evaluation.securityGroupIds, assignPublicIp: "DISABLED" } },
        }),
    );
    const taskArn = started.tasks?.[0]?.taskArn;
    if (!taskArn) return { reason: `ECS did not start the evaluation: ${started.failures?.map((f) => f.reason).join(", ") || "no task"}` };
    const deadline = clock.now() + evaluation.timeoutSeconds * 1000;
    for (;;) {
        const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
        const task = tasks?.[0];
        if (task?.lastStatus === "STOPPED") {
            const exitCode = task.containers?.find((c) => c.name === "evaluation")?.exitCode;
            return { exitCode, reason: exitCode === undefined ? `the task stopped without running: ${task.stoppedReason}` : `exit code ${exitCode}` };
        }
        const stop = () => ecs.send(new StopTaskCommand({ cluster, task: taskArn, reason: "the rollout's evaluation timed out or was interrupted" }));
        if (clock.now() >= deadline || signal?.aborted) {
            await stop();
            return { reason: signal?.aborted ? "interrupted" : `no result within ${evaluation.timeoutSeconds} s; the task was stopped` };
        }
        await clock.sleep(pollMs, signal);
        try {
            await heartbeat?.();
        } catch (e) {
            // The rollout is stopping (an abort, a lost lease): the evaluation must not run on without it.
            await stop();
            throw e;
        }
    }
}

/** The canary's share as the traffic layer applies it: App Mesh's weighted route, Lattice's listener, or the ALB's listener. */
export function trafficLayer(outputs: StackOutputs, region: string | undefined): TrafficPort {
    switch (outputs.trafficBackend) {
        case "appmesh":
            return new AppMeshRoute(new AppMeshClient({ region }), outputs);
        case "lattice":
            return new LatticeListener(new VPCLatticeClient({ region }), outputs);
        case "alb":
            return new AlbListener(new ElasticLoadBalancingV2Client({ region }), outputs);
    }
}

const percent = (canary: number, total: number) => (total === 0 ? 0 : Math.round((100 * canary) / total));

export class AppMeshRoute implements TrafficPort {
    constructor(
        private readonly appmesh: Send<AppMeshClient>,
        private readonly outputs: Extract<StackOutputs, { trafficBackend: "appmesh" }>,
    ) {}

    async canaryWeight(): Promise<number> {
        const { route } = await this.appmesh.send(
            new DescribeRouteCommand({ meshName: this.outputs.meshName, virtualRouterName: this.outputs.virtualRouterName, routeName: this.outputs.weightedRouteName }),
        );
        const spec = route?.spec;
        const targets = (spec?.httpRoute ?? spec?.http2Route ?? spec?.grpcRoute)?.action?.weightedTargets ?? [];
        const total = targets.reduce((n, t) => n + (t.weight ?? 0), 0);
        return percent(targets.find((t) => t.virtualNode === this.outputs.canaryVirtualNodeName)?.weight ?? 0, total);
    }
}

export class LatticeListener implements TrafficPort {
    constructor(
        private readonly lattice: Send<VPCLatticeClient>,
        private readonly outputs: Extract<StackOutputs, { trafficBackend: "lattice" }>,
    ) {}

    async canaryWeight(): Promise<number> {
        const listener = await this.lattice.send(
            new GetListenerCommand({ serviceIdentifier: this.outputs.latticeServiceArn, listenerIdentifier: this.outputs.listenerArn }),
        );
        const groups = listener.defaultAction?.forward?.targetGroups ?? [];
        // The listener may name a target group by id or by ARN; the ARN ends with the id.
        const isCanary = (identifier?: string) => !!identifier && this.outputs.canaryTargetGroupArn.endsWith(identifier.split("/").pop()!);
        const total = groups.reduce((n, g) => n + (g.weight ?? 0), 0);
        return percent(groups.find((g) => isCanary(g.targetGroupIdentifier))?.weight ?? 0, total);
    }
}

export class AlbListener implements TrafficPort {
    constructor(
        private readonly elb: Send<ElasticLoadBalancingV2Client>,
        private readonly outputs: Extract<StackOutputs, { trafficBackend: "alb" }>,
    ) {}

    /** The weights of the listener's default forward action (ELB API, `DescribeListeners`: `ForwardConfig.TargetGroups`). */
    async canaryWeight(): Promise<number> {
        const { Listeners } = await this.elb.send(new DescribeListenersCommand({ ListenerArns: [this.outputs.listenerArn] }));
        const forward = Listeners?.[0]?.DefaultActions?.find((a) => a.Type === "forward");
        const groups = forward?.ForwardConfig?.TargetGroups ?? (forward?.TargetGroupArn ? [{ TargetGroupArn: forward.TargetGroupArn, Weight: 1 }] : []);
        const total = groups.reduce((n, g) => n + (g.Weight ?? 1), 0);
        return percent(groups.find((g) => g.TargetGroupArn === this.outputs.canaryTargetGroupArn)?.Weight ?? 0, total);
    }
}

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
        return this.ssm.send(new PutParameterCommand({ Name: rolloutParameter(this.stack, name), Value: JSON.stringify(value), Type: "String", Overwrite: overwrite }));
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
            if (e instanceof ParameterAlreadyExists || (e as Error).name === "ParameterAlreadyExists") throw new LeaseHeld((await this.lease()) ?? { owner: "?", expiresAt: 0 });
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
