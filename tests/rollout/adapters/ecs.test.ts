/** The ECS adapter: waiting for a version's tasks to run and be healthy, and the evaluation task. */
import { VirtualClock } from "../../../rollout/simulator/world";
import { EcsServices } from "../../../rollout/adapters/ecs";

describe("ECS", () => {
    const OUT = { clusterName: "c", stableServiceName: "s", canaryServiceName: "k" };
    const ecs = (...responses: object[][]) => {
        const send = jest.fn();
        // The last answer repeats, as a service that stays where it is.
        send.mockResolvedValue({ services: [{ deployments: responses.at(-1) }] });
        for (const deployments of responses) send.mockResolvedValueOnce({ services: [{ deployments }] });
        return { send } as any;
    };
    const primary = (taskDefinition: string, rolloutState: string) => ({ status: "PRIMARY", taskDefinition, rolloutState, runningCount: 2, desiredCount: 2 });

    test("waits until the PRIMARY deployment runs the deployed revision and is COMPLETED", async () => {
        const client = ecs(
            [primary("td:1", "COMPLETED"), { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "IN_PROGRESS" }],
            [primary("td:2", "IN_PROGRESS")],
            [primary("td:2", "COMPLETED")],
        );
        await new EcsServices(client, OUT, new VirtualClock()).waitRunning("canary", "td:2");
        expect(client.send).toHaveBeenCalledTimes(3);
    });

    test("an old revision COMPLETED does not count as the new one running", async () => {
        const client = ecs([primary("td:1", "COMPLETED"), { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "IN_PROGRESS" }]);
        await expect(new EcsServices(client, OUT, new VirtualClock(), 1_000).waitRunning("stable", "td:2")).rejects.toThrow(/did not run revision td:2/);
    });

    test("a long wait keeps the lease at every poll, and stops when the heartbeat says so", async () => {
        const loading = [primary("td:1", "COMPLETED"), { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "IN_PROGRESS" }];
        let beats = 0;
        const heartbeat = async () => {
            if (++beats === 3) throw new Error("aborted by ops@laptop");
        };
        await expect(new EcsServices(ecs(loading), OUT, new VirtualClock()).waitRunning("canary", "td:2", { heartbeat })).rejects.toThrow(
            "aborted by ops@laptop",
        );
        expect(beats).toBe(3);
    });

    test("a circuit-breaker rollback is named", async () => {
        const client = ecs([
            primary("td:1", "IN_PROGRESS"),
            { status: "ACTIVE", taskDefinition: "td:2", rolloutState: "FAILED", rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start" },
        ]);
        await expect(new EcsServices(client, OUT, new VirtualClock()).waitRunning("canary", "td:2")).rejects.toThrow(
            "ECS did not keep the canary service on the deployed revision td:2: it runs td:1 (ECS deployment circuit breaker: tasks failed to start)",
        );
    });
});

describe("ECS: healthy tasks of a raised minimum", () => {
    const OUT = { clusterName: "c", stableServiceName: "s", canaryServiceName: "k" };
    const task = (healthStatus: string, taskDefinitionArn = "td:2") => ({
        taskArn: `t-${Math.random()}`,
        taskDefinitionArn,
        lastStatus: "RUNNING",
        healthStatus,
    });
    /** ECS answers: the task definition first, then ListTasks and DescribeTasks per poll. */
    const ecs = (healthCheck: boolean, ...polls: object[][]) => {
        const send = jest.fn(async (command: { constructor: { name: string } }) => {
            if (command.constructor.name === "DescribeTaskDefinitionCommand")
                return { taskDefinition: { containerDefinitions: [{ name: "model", essential: true, ...(healthCheck ? { healthCheck: {} } : {}) }] } };
            const poll = polls.length > 1 ? polls[0] : polls.at(-1)!;
            if (command.constructor.name === "ListTasksCommand") return { taskArns: poll.map((_, i) => `t${i}`) };
            if (polls.length > 1) polls.shift();
            return { tasks: poll };
        });
        return { send } as any;
    };

    test("counts only tasks of the revision that pass their health check: UNKNOWN is a task still loading", async () => {
        const client = ecs(
            true,
            [task("HEALTHY"), task("UNKNOWN"), task("UNKNOWN")],
            [task("HEALTHY"), task("HEALTHY"), task("HEALTHY", "td:1"), task("UNKNOWN")],
            [task("HEALTHY"), task("HEALTHY"), task("HEALTHY")],
        );
        await new EcsServices(client, OUT, new VirtualClock()).waitHealthy("canary", "td:2", 3);
        expect(client.send.mock.calls.filter(([c]: any[]) => c.constructor.name === "ListTasksCommand")).toHaveLength(3);
    });

    test("a model server without a container health check (gRPC) counts once its tasks run", async () => {
        const client = ecs(false, [task("UNKNOWN"), task("UNKNOWN")]);
        await new EcsServices(client, OUT, new VirtualClock()).waitHealthy("canary", "td:2", 2);
    });

    test("gives up after the timeout, saying how many were healthy", async () => {
        const client = ecs(true, [task("HEALTHY"), task("UNKNOWN")]);
        await expect(new EcsServices(client, OUT, new VirtualClock(), 60_000).waitHealthy("canary", "td:2", 2)).rejects.toThrow(
            "the canary service had 1 healthy tasks, not 2, after 1 minutes",
        );
    });
});

describe("the evaluation task", () => {
    const OUT = {
        clusterName: "c",
        evaluation: {
            taskDefinitionArn: "arn:aws:ecs:us-west-2:123456789012:task-definition/test-inference-evaluation:3",
            subnetIds: ["subnet-a"],
            securityGroupIds: ["sg-1"],
            timeoutSeconds: 600,
        },
    };
    const ecs = (...answers: object[]) => {
        const send = jest.fn();
        for (const a of answers) send.mockResolvedValueOnce(a);
        send.mockResolvedValue(answers.at(-1));
        return send;
    };

    test("runs once on Fargate in the stack's subnets, waits for it to stop, and reports the evaluation container's exit code", async () => {
        const send = ecs(
            { tasks: [{ taskArn: "t1" }] },
            { tasks: [{ lastStatus: "RUNNING" }] },
            {
                tasks: [
                    {
                        lastStatus: "STOPPED",
                        containers: [
                            { name: "envoy", exitCode: 0 },
                            { name: "evaluation", exitCode: 2 },
                        ],
                    },
                ],
            },
        );
        const result = await new EcsServices({ send } as any, OUT as any, new VirtualClock()).evaluate();
        expect(result).toEqual({ exitCode: 2, reason: "exit code 2" });
        expect(send.mock.calls[0][0].input).toMatchObject({
            cluster: "c",
            taskDefinition: OUT.evaluation.taskDefinitionArn,
            launchType: "FARGATE",
            networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-a"], securityGroups: ["sg-1"], assignPublicIp: "DISABLED" } },
        });
    });

    test("a rollout that stops while the evaluation runs stops the task too", async () => {
        const send = ecs({ tasks: [{ taskArn: "t1" }] }, { tasks: [{ lastStatus: "RUNNING" }] });
        const heartbeat = async () => {
            throw new Error("interrupted");
        };
        await expect(new EcsServices({ send } as any, OUT as any, new VirtualClock()).evaluate({ heartbeat })).rejects.toThrow("interrupted");
        expect(send.mock.calls.at(-1)[0].constructor.name).toBe("StopTaskCommand");
    });

    test("one that runs past its timeout is stopped, and fails", async () => {
        const send = ecs({ tasks: [{ taskArn: "t1" }] }, { tasks: [{ lastStatus: "RUNNING" }] });
        const result = await new EcsServices({ send } as any, OUT as any, new VirtualClock()).evaluate();
        expect(result).toEqual({ reason: "no result within 600 s; the task was stopped" });
        expect(send.mock.calls.at(-1)[0].constructor.name).toBe("StopTaskCommand");
    });
});
