/**
 * A stand-in AWS endpoint on 127.0.0.1 for the rollout's SDK clients (pointed at it with
 * `AWS_ENDPOINT_URL`): ECS DescribeServices, CloudWatch GetMetricData and DescribeAlarms,
 * ECS RunTask, DescribeTasks and StopTask (the evaluation), ECS ListTasks, DescribeTasks
 * and DescribeTaskDefinition (a service's healthy tasks), App Mesh DescribeRoute, VPC
 * Lattice GetListener, ELB DescribeListeners, SSM Put/Get/DeleteParameter, S3 GetObject (the
 * golden set, from files under the state directory) and Lambda Invoke (the golden set's runner:
 * its handler, run here, with the service's address swapped for the Lattice stand-in's, as DNS
 * inside the VPC would resolve it), Bedrock Converse (a judge model that prefers the answer
 * matching "Answer <n>" for "Question <n>", the stand-in model servers' right answer), each
 * in the wire protocol its client speaks. It answers from what the stand-in `pulumi`
 * deployed, and is no kinder than AWS where the rollout's mechanics are concerned: a new
 * ECS revision is IN_PROGRESS until its model has loaded, new tasks of a raised minimum
 * are unhealthy until theirs has, the circuit breaker rolls back failing images, metric data arrives late, and SSM refuses to create a parameter that
 * exists. Its counts are the traffic model's expected values, not draws: these tests are
 * about what the CLI deploys and says, and noise would only make them flaky; the noisy,
 * seeded traffic the gates are measured on is the benchmark's (`rollout/simulator/simulate.ts`).
 * It also records webhook posts.
 */
import * as http from "http";
import * as http2 from "http2";
import { AddressInfo } from "net";
import { clock, named, readFaults } from "./world";
import { AwsError } from "./awsError";
import { getMetricData, putMetricData } from "./cloudwatch";
import * as fs from "fs";
import * as path from "path";
import { stateDir } from "./world";

export interface AwsStandIn {
    url: string;
    /** Bedrock Runtime, on its own port: its SDK client speaks HTTP/2 only, as the service does. */
    bedrockUrl: string;
    /** Bodies posted to `/webhook`. */
    webhooks: unknown[];
    close(): Promise<void>;
}

const stacks = () => named().map(([, state]) => state);

function describeServices(input: { services: string[] }) {
    const now = clock().now();
    const faults = readFaults();
    const loadMs = (faults.loadSeconds ?? 120) * 1000;
    const services = input.services.map((name) => {
        const state = stacks().find((s) => s.deployments[name]);
        if (!state) throw new AwsError("ServiceNotFoundException", `service ${name} not found`);
        const list = state.deployments[name];
        const service = state.resources.find((r) => r.type === "aws:ecs/service:Service" && r.state.name === name)!;
        const desired = Math.max(Number((service.inputs as { desiredCount?: number }).desiredCount ?? 1), state.capacity?.[name]?.at(-1)?.minCount ?? 0);
        const last = list.at(-1)!;
        const previous = list.at(-2);
        const deployment = (status: string, taskDefinition: string, rolloutState: string, runningCount: number, rolloutStateReason?: string) => ({
            status,
            taskDefinition,
            rolloutState,
            runningCount,
            desiredCount: desired,
            ...(rolloutStateReason ? { rolloutStateReason } : {}),
        });
        let deployments;
        if (now < last.at + loadMs) {
            deployments = [
                deployment("PRIMARY", last.taskDefinition, "IN_PROGRESS", 0),
                ...(previous ? [deployment("ACTIVE", previous.taskDefinition, "COMPLETED", desired)] : []),
            ];
        } else if (previous && faults.failingImages?.includes(last.image)) {
            deployments = [
                deployment("PRIMARY", previous.taskDefinition, "COMPLETED", desired),
                deployment("ACTIVE", last.taskDefinition, "FAILED", 0, "ECS deployment circuit breaker: tasks failed to start."),
            ];
        } else {
            deployments = [deployment("PRIMARY", last.taskDefinition, "COMPLETED", desired)];
        }
        return { serviceName: name, deployments };
    });
    return { services, failures: [] };
}

/** SSM, with parameters by name: creating one that exists fails unless overwriting. */
function ssm(parameters: Map<string, string>, operation: string, input: { Name: string; Value?: string; Overwrite?: boolean }) {
    switch (operation) {
        case "PutParameter":
            if (parameters.has(input.Name) && !input.Overwrite) throw new AwsError("ParameterAlreadyExists", `The parameter ${input.Name} already exists.`);
            parameters.set(input.Name, input.Value ?? "");
            return { Version: 1, Tier: "Standard" };
        case "GetParameter":
            if (!parameters.has(input.Name)) throw new AwsError("ParameterNotFound", `Parameter ${input.Name} not found.`);
            return { Parameter: { Name: input.Name, Type: "String", Value: parameters.get(input.Name), Version: 1 } };
        case "DeleteParameter":
            if (!parameters.delete(input.Name)) throw new AwsError("ParameterNotFound", `Parameter ${input.Name} not found.`);
            return {};
    }
    throw new AwsError("InvalidAction", `SSM ${operation} is not served by the stand-in`);
}

function resourceWhere(type: string, match: (state: Record<string, unknown>) => boolean) {
    for (const state of stacks()) {
        const found = state.resources.find((r) => r.type === type && match(r.state));
        if (found) return found;
    }
    throw new AwsError("NotFoundException", `no ${type} matches`, 404);
}

/**
 * A service's tasks: its minimum task count, of which those added by the last raise are
 * still loading (health UNKNOWN) until the model load time has passed, and those beyond
 * what capacity allows (`faults.capacityTasks`) wait in PROVISIONING, as ECS keeps tasks a
 * capacity provider has no instance for (ECS developer guide, "Amazon ECS managed scaling
 * behavior": provisioning tasks); ListTasks with desiredStatus RUNNING lists them too.
 */
function serviceTasks(cluster: string, serviceName: string) {
    const now = clock().now();
    const faults = readFaults();
    const loadMs = (faults.loadSeconds ?? 120) * 1000;
    const placeable = faults.capacityTasks ?? Infinity;
    const state = stacks().find((s) => s.deployments[serviceName]);
    if (!state) throw new AwsError("ServiceNotFoundException", `service ${serviceName} not found`);
    const changes = state.capacity?.[serviceName] ?? [];
    const last = changes.at(-1);
    const count = last?.minCount ?? 1;
    const loaded = last && now < last.at + loadMs ? (changes.at(-2)?.minCount ?? 0) : count;
    const taskDefinitionArn = state.deployments[serviceName].at(-1)!.taskDefinition;
    return Array.from({ length: count }, (_, i) => ({
        taskArn: `arn:aws:ecs:us-west-2:123456789012:task/${cluster}/${serviceName}/${i + 1}`,
        taskDefinitionArn,
        createdAt: (i < (changes.at(-2)?.minCount ?? 0) ? 0 : (last?.at ?? 0)) / 1000,
        ...(i < placeable
            ? { lastStatus: "RUNNING", healthStatus: i < loaded ? "HEALTHY" : "UNKNOWN" }
            : { lastStatus: "PROVISIONING", healthStatus: "UNKNOWN" }),
    }));
}

function describeTaskDefinition(input: { taskDefinition: string }) {
    const found = resourceWhere("aws:ecs/taskDefinition:TaskDefinition", (s) => s.arn === input.taskDefinition);
    return { taskDefinition: { taskDefinitionArn: input.taskDefinition, containerDefinitions: JSON.parse(String(found.inputs.containerDefinitions)) } };
}

/** One-off tasks (the evaluation): started at a virtual time, stopped with the exit code faults.json gives once they have run. */
function ecsTasks(
    tasks: Map<string, number>,
    operation: string,
    input: { cluster?: string; serviceName?: string; taskDefinition?: string; tasks?: string[]; task?: string },
) {
    const now = clock().now();
    const faults = readFaults();
    switch (operation) {
        case "RunTask": {
            const taskArn = `arn:aws:ecs:us-west-2:123456789012:task/${input.cluster}/${tasks.size + 1}`;
            tasks.set(taskArn, now);
            return { tasks: [{ taskArn, lastStatus: "PROVISIONING", taskDefinitionArn: input.taskDefinition }], failures: [] };
        }
        case "ListTasks":
            return { taskArns: serviceTasks(String(input.cluster), String(input.serviceName)).map((t) => t.taskArn) };
        case "DescribeTaskDefinition":
            return describeTaskDefinition(input as { taskDefinition: string });
        case "DescribeTasks":
            return {
                tasks: (input.tasks ?? []).map((taskArn) => {
                    const service = /task\/([^/]+)\/([^/]+)\/\d+$/.exec(taskArn);
                    if (service) return serviceTasks(service[1], service[2]).find((t) => t.taskArn === taskArn) ?? { taskArn, lastStatus: "STOPPED" };
                    const started = tasks.get(taskArn);
                    if (started === undefined) throw new AwsError("InvalidParameterException", `no task ${taskArn}`);
                    if (started === -1 || now >= started + (faults.evaluationSeconds ?? 300) * 1000) {
                        const exitCode = started === -1 ? undefined : (faults.evaluationExitCode ?? 0);
                        return {
                            taskArn,
                            lastStatus: "STOPPED",
                            stoppedReason: started === -1 ? "Task stopped by user" : "Essential container in task exited",
                            containers: [{ name: "evaluation", exitCode }],
                        };
                    }
                    return { taskArn, lastStatus: "RUNNING", containers: [{ name: "evaluation" }] };
                }),
                failures: [],
            };
        case "StopTask":
            tasks.set(input.task ?? "", -1);
            return { task: { taskArn: input.task, lastStatus: "STOPPED" } };
    }
    throw new AwsError("UnknownOperationException", `ECS ${operation} is not served by the stand-in`);
}

function route(request: http.IncomingMessage, body: string, parameters: Map<string, string>, tasks: Map<string, number>): unknown {
    const target = request.headers["x-amz-target"] as string | undefined;
    const url = new URL(request.url ?? "/", "http://localhost");
    if (target) {
        const [service, operation] = target.split(".");
        const input = JSON.parse(body || "{}");
        if (service === "AmazonEC2ContainerServiceV20141113" && operation === "DescribeServices") return describeServices(input);
        if (service === "AmazonEC2ContainerServiceV20141113") return ecsTasks(tasks, operation, input);
        if (service === "GraniteServiceVersion20100801" && operation === "GetMetricData") return getMetricData(input);
        if (service === "GraniteServiceVersion20100801" && operation === "PutMetricData") return putMetricData(input);
        if (service === "GraniteServiceVersion20100801" && operation === "DescribeAlarms") {
            return { MetricAlarms: (input.AlarmNames ?? []).map((AlarmName: string) => ({ AlarmName, StateValue: "OK" })) };
        }
        if (service === "AmazonSSM") return ssm(parameters, operation, input);
        throw new AwsError("UnknownOperationException", `${target} is not served by the stand-in`);
    }
    const mesh = /^\/v20190125\/meshes\/([^/]+)\/virtualRouter\/([^/]+)\/routes\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && mesh) {
        const [, meshName, virtualRouterName, routeName] = mesh.map(decodeURIComponent);
        const found = resourceWhere(
            "aws:appmesh/route:Route",
            (s) => s.name === routeName && s.meshName === meshName && s.virtualRouterName === virtualRouterName,
        );
        // DescribeRoute's output is its `route` member alone (the HTTP payload).
        return { meshName, virtualRouterName, routeName, spec: (found.inputs as { spec: unknown }).spec };
    }
    const listener = /^\/services\/([^/]+)\/listeners\/([^/]+)$/.exec(url.pathname);
    if (request.method === "GET" && listener) {
        const listenerArn = decodeURIComponent(listener[2]);
        const found = resourceWhere("aws:vpclattice/listener:Listener", (s) => s.arn === listenerArn);
        const forwards = (found.inputs as { defaultAction: { forwards: { targetGroups: unknown[] }[] } }).defaultAction.forwards;
        return { arn: listenerArn, defaultAction: { forward: { targetGroups: forwards[0].targetGroups } } };
    }
    throw new AwsError("UnknownOperationException", `${request.method} ${url.pathname} is not served by the stand-in`, 404);
}

const ELB_XMLNS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
const xml = (tag: string, body: string) => `<${tag}>${body}</${tag}>`;
const members = (items: string[]) => items.map((i) => xml("member", i)).join("");

/**
 * ELB's query protocol (form-encoded `Action=...`, XML answers, ELB API reference):
 * DescribeListeners by `ListenerArns.member.N`, with each listener's default actions as
 * deployed; an unknown ARN is `ListenerNotFound`.
 */
function elb(body: string): string {
    const form = new URLSearchParams(body);
    const action = form.get("Action");
    if (action !== "DescribeListeners") throw new AwsError("InvalidAction", `ELB ${action} is not served by the stand-in`);
    const arns = [...form.entries()].filter(([k]) => /^ListenerArns\.member\.\d+$/.test(k)).map(([, v]) => v);
    const listeners = arns.map((arn) => {
        const found = stacks()
            .flatMap((state) => state.resources)
            .find((r) => r.type === "aws:lb/listener:Listener" && r.state.arn === arn);
        if (!found) throw new AwsError("ListenerNotFound", "One or more listeners not found");
        const actions = (
            found.inputs as {
                defaultActions: {
                    type: string;
                    forward?: { targetGroups: { arn: string; weight: number }[]; stickiness?: { enabled: boolean; duration: number } };
                }[];
            }
        ).defaultActions;
        const action = (a: (typeof actions)[number]) =>
            xml("Type", a.type) +
            (a.forward
                ? xml(
                      "ForwardConfig",
                      xml("TargetGroups", members(a.forward.targetGroups.map((g) => xml("TargetGroupArn", g.arn) + xml("Weight", String(g.weight))))) +
                          xml(
                              "TargetGroupStickinessConfig",
                              xml("Enabled", String(!!a.forward.stickiness?.enabled)) +
                                  (a.forward.stickiness?.enabled ? xml("DurationSeconds", String(a.forward.stickiness.duration)) : ""),
                          ),
                  )
                : "");
        return xml("ListenerArn", arn) + xml("DefaultActions", members(actions.map(action)));
    });
    return `<DescribeListenersResponse xmlns="${ELB_XMLNS}">${xml("DescribeListenersResult", xml("Listeners", members(listeners)))}${xml("ResponseMetadata", xml("RequestId", "stand-in"))}</DescribeListenersResponse>`;
}

/**
 * S3 GetObject, path-style as the SDK addresses an IP endpoint: the object's bytes, or S3's XML
 * error `NoSuchKey` with status 404 (Amazon S3 API Reference, "Error responses").
 */
function s3GetObject(url: URL, response: http.ServerResponse): void {
    const [, bucket, ...key] = decodeURIComponent(url.pathname).split("/");
    const file = path.join(stateDir(), "s3", bucket, ...key);
    if (!fs.existsSync(file)) {
        response.writeHead(404, { "content-type": "application/xml" });
        response.end(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key.join("/")}</Key><RequestId>stand-in</RequestId></Error>`,
        );
        return;
    }
    response.writeHead(200, { "content-type": "application/octet-stream" });
    response.end(fs.readFileSync(file));
}

/**
 * Lambda Invoke (RequestResponse): the deployed function's handler run with the event. A handler
 * that throws is still a 200, with `X-Amz-Function-Error: Unhandled` and the error as the payload;
 * an unknown function is a 404 `ResourceNotFoundException` (AWS Lambda API Reference, "Invoke").
 */
async function lambdaInvoke(name: string, body: string, response: http.ServerResponse): Promise<void> {
    const deployed = stacks()
        .flatMap((state) => state.resources)
        .find((r) => r.type === "aws:lambda/function:Function" && (r.state.name === name || r.state.arn === name));
    if (!deployed) {
        response.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "ResourceNotFoundException" });
        response.end(JSON.stringify({ Type: "User", message: `Function not found: ${name}` }));
        return;
    }
    const handler = require(path.join(__dirname, "..", "..", "..", "mesh", "evaluation", "handler.js")) as { handler: (event: unknown) => Promise<unknown> };
    const event = { ...JSON.parse(body), url: process.env.STANDIN_SERVICE_URL };
    const headers = { "content-type": "application/json", "x-amz-executed-version": "$LATEST" };
    try {
        const result = await handler.handler(event);
        response.writeHead(200, headers);
        response.end(JSON.stringify(result));
    } catch (e) {
        response.writeHead(200, { ...headers, "x-amz-function-error": "Unhandled" });
        response.end(JSON.stringify({ errorType: (e as Error).name, errorMessage: (e as Error).message }));
    }
}

/**
 * Bedrock Converse as the API reference gives it ("Converse": the reply in
 * `output.message.content[].text`, with `stopReason`, `usage` and `metrics`): a judge that
 * answers A, B or TIE by which answer is right for the request's question.
 */
function converse(body: string): unknown {
    const input = JSON.parse(body) as { messages: { content: { text: string }[] }[]; inferenceConfig?: { maxTokens?: number } };
    const text = input.messages[0].content[0].text;
    const n = /Question (\d+)/.exec(text)?.[1];
    const between = (tag: string) => new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(text)?.[1] ?? "";
    const right = (answer: string) => answer.trim().toLowerCase() === `answer ${n}`;
    const [a, b] = [right(between("answer_a")), right(between("answer_b"))];
    const verdict = a === b ? "TIE" : a ? "A" : "B";
    return {
        output: { message: { role: "assistant", content: [{ text: verdict }] } },
        stopReason: "end_turn",
        usage: { inputTokens: Math.ceil(text.length / 4), outputTokens: 1, totalTokens: Math.ceil(text.length / 4) + 1 },
        metrics: { latencyMs: 300 },
    };
}

/** Starts the endpoint on an ephemeral port of 127.0.0.1. */
export async function startAwsStandIn(): Promise<AwsStandIn> {
    const webhooks: unknown[] = [];
    const parameters = new Map<string, string>();
    const tasks = new Map<string, number>();
    const server = http.createServer((request, response) => {
        let body = "";
        request.on("data", (chunk) => (body += chunk));
        request.on("end", () => {
            const json = (status: number, value: unknown, type?: string) => {
                response.writeHead(status, { "content-type": "application/x-amz-json-1.1", ...(type ? { "x-amzn-errortype": type } : {}) });
                response.end(JSON.stringify(value));
            };
            if (request.url === "/webhook") {
                webhooks.push(JSON.parse(body));
                return json(200, {});
            }
            const url = new URL(request.url ?? "/", "http://localhost");
            const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
            if (request.method === "POST" && invoke) return void lambdaInvoke(decodeURIComponent(invoke[1]), body, response);
            if (
                request.method === "GET" &&
                request.headers["x-amz-content-sha256"] &&
                !url.pathname.startsWith("/services/") &&
                !url.pathname.startsWith("/v2019")
            )
                return s3GetObject(url, response);
            if (/x-www-form-urlencoded/.test(String(request.headers["content-type"])) && /(^|&)Version=2015-12-01(&|$)/.test(body)) {
                const reply = (status: number, text: string) => {
                    response.writeHead(status, { "content-type": "text/xml" });
                    response.end(text);
                };
                try {
                    return reply(200, elb(body));
                } catch (e) {
                    const { type, message } = e instanceof AwsError ? e : { type: "InternalFailure", message: String(e) };
                    return reply(
                        400,
                        `<ErrorResponse xmlns="${ELB_XMLNS}">${xml("Error", xml("Type", "Sender") + xml("Code", type) + xml("Message", message))}${xml("RequestId", "stand-in")}</ErrorResponse>`,
                    );
                }
            }
            try {
                json(200, route(request, body, parameters, tasks));
            } catch (e) {
                if (e instanceof AwsError) json(e.status, { __type: e.type, message: e.message }, e.type);
                else json(500, { __type: "InternalFailure", message: String(e) }, "InternalFailure");
            }
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    // The SDK's Bedrock Runtime client opens an HTTP/2 session (its default handler), so this one answers in HTTP/2 (cleartext, on 127.0.0.1).
    const bedrock = http2.createServer((request, response) => {
        let body = "";
        request.on("data", (chunk) => (body += chunk));
        request.on("end", () => {
            if (request.method === "POST" && /^\/model\/[^/]+\/converse$/.test(request.url)) {
                response.writeHead(200, { "content-type": "application/json" });
                return void response.end(JSON.stringify(converse(body)));
            }
            response.writeHead(404, { "content-type": "application/json", "x-amzn-errortype": "UnknownOperationException" });
            response.end(JSON.stringify({ message: `${request.method} ${request.url} is not served by the stand-in` }));
        });
    });
    await new Promise<void>((resolve) => bedrock.listen(0, "127.0.0.1", resolve));
    return {
        url: `http://127.0.0.1:${port}`,
        bedrockUrl: `http://127.0.0.1:${(bedrock.address() as AddressInfo).port}`,
        webhooks,
        close: async () => {
            await new Promise<void>((resolve) => bedrock.close(() => resolve()));
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
