/**
 * ECS, thinly: is a version running the revision the stack deployed (and healthy, at the count
 * asked)? and the evaluation task, run once.
 */
import {
    DescribeServicesCommand,
    DescribeTaskDefinitionCommand,
    DescribeTasksCommand,
    ECSClient,
    ListTasksCommand,
    RunTaskCommand,
    StopTaskCommand,
} from "@aws-sdk/client-ecs";
import { Version } from "../../contract/versions";
import { StackOutputs } from "../../contract/outputs";
import { Clock, ServicesPort, ServiceRolledBack, UpdateFailed, Waiting } from "../core/ports";
import { Send } from "./send";

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
            if (
                primary?.taskDefinition === taskDefinitionArn &&
                primary.rolloutState === "COMPLETED" &&
                (primary.runningCount ?? 0) >= (primary.desiredCount ?? 0)
            )
                return;
            if (target?.rolloutState === "FAILED" || (primary && primary.taskDefinition !== taskDefinitionArn && !target)) {
                throw new ServiceRolledBack(
                    `ECS did not keep the ${version} service on the deployed revision ${revision(taskDefinitionArn)}: it runs ${revision(primary?.taskDefinition)}` +
                        (target?.rolloutStateReason
                            ? ` (${target.rolloutStateReason})`
                            : " (rolled back by the deployment circuit breaker, or changed outside Pulumi)"),
                );
            }
            if (signal?.aborted) return;
            if (this.clock.now() >= deadline) {
                throw new UpdateFailed(
                    `the ${version} service did not run revision ${revision(taskDefinitionArn)} in a completed deployment within ${this.timeoutMs / 60_000} minutes`,
                );
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
                throw new UpdateFailed(
                    `the ${version} service had ${healthy} healthy tasks, not ${count}, after ${this.timeoutMs / 60_000} minutes${placementNote(own, this.clock.now()) || " (the model did not load in time?)"}`,
                );
            }
            await this.clock.sleep(this.pollMs, signal);
            await heartbeat?.();
        }
    }

    evaluate(waiting: Waiting = {}): Promise<{ exitCode?: number; reason: string } | undefined> {
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
): Promise<{ exitCode?: number; reason: string } | undefined> {
    const evaluation = outputs.evaluation;
    if (!evaluation?.taskDefinitionArn) return undefined;
    const cluster = outputs.clusterName;
    const started = await ecs.send(
        new RunTaskCommand({
            cluster,
            taskDefinition: evaluation.taskDefinitionArn,
            launchType: "FARGATE",
            count: 1,
            startedBy: "ai-canary-rollout",
            networkConfiguration: {
                awsvpcConfiguration: { subnets: evaluation.subnetIds, securityGroups: evaluation.securityGroupIds, assignPublicIp: "DISABLED" },
            },
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
