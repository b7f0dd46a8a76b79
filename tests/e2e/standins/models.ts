/**
 * Stand-in model servers and the service in front of them (a VPC Lattice service, or an
 * Application Load Balancer), on 127.0.0.1, for the golden set's runner.
 *
 * Each model server answers `POST /v1/chat/completions` as an OpenAI-compatible server does
 * (OpenAI API reference, "Create chat completion": a `chat.completion` object whose
 * `choices[0].message.content` is the answer, `finish_reason` "stop", and `usage`), with what
 * the test's answer function says for the last user message. The service stand-in routes as the
 * deployed listener does (VPC Lattice User Guide, "Listener rules"): a rule whose header match
 * (exact, case-sensitive as deployed) fits the request forwards to its target group; a request
 * that fits none follows the default action's weights. On an ALB the same, with its rules' HTTP
 * header conditions compared as ELB does: the header's name and the values case-insensitively,
 * `*` and `?` as wildcards (ELB API Reference, "HttpHeaderConditionConfig").
 */
import * as http from "http";
import { AddressInfo } from "net";
import { Version } from "../../../contract/versions";
import { named } from "./world";

type Answer = (question: string) => string;

export interface ModelStandIns {
    /** The Lattice service stand-in: where the runner's requests go. */
    serviceUrl: string;
    /** Requests each version's server answered. */
    answered: Record<Version, number>;
    close(): Promise<void>;
}

const listen = async (server: http.Server) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

const readBody = (request: http.IncomingMessage) =>
    new Promise<string>((resolve) => {
        let body = "";
        request.on("data", (chunk) => (body += chunk));
        request.on("end", () => resolve(body));
    });

function modelServer(version: Version, answer: Answer, answered: Record<Version, number>): http.Server {
    return http.createServer(async (request, response) => {
        const body = await readBody(request);
        if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
            response.writeHead(404, { "content-type": "application/json" });
            response.end(JSON.stringify({ error: { message: `no route ${request.method} ${request.url}` } }));
            return;
        }
        answered[version] += 1;
        const messages = (JSON.parse(body) as { messages: { role: string; content: string }[] }).messages;
        const question = messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
        const content = answer(question);
        response.writeHead(200, { "content-type": "application/json" });
        response.end(
            JSON.stringify({
                id: `chatcmpl-${version}-${answered[version]}`,
                object: "chat.completion",
                created: Math.floor(Date.now() / 1000),
                model: `llama-${version}`,
                choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
                usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
            }),
        );
    });
}

/** The deployed resources the service stand-in routes by: one stack's, or every stack's. */
const deployedResources = (stack?: string) =>
    named()
        .filter(([name]) => stack === undefined || name === stack)
        .flatMap(([, state]) => state.resources);

/** An ALB header condition's value against the request's: case-insensitive, `*` any run of characters, `?` one. */
const albMatches = (pattern: string, value: string | undefined) =>
    value !== undefined &&
    new RegExp(
        `^${pattern
            .replace(/[.+^${}()|[\]\\]/g, "\\$&")
            .replace(/\*/g, ".*")
            .replace(/\?/g, ".")}$`,
        "i",
    ).test(value);

/** Where the load balancer sends a request with these headers: the first matching rule's target group's version, else the default action's weights. */
function albVersionFor(resources: ReturnType<typeof deployedResources>, headers: http.IncomingHttpHeaders, turn: number): Version {
    const groupVersion = (arn: unknown): Version => {
        const group = resources.find((r) => r.type === "aws:lb/targetGroup:TargetGroup" && r.state.arn === arn)!;
        return group.name.endsWith("-canary") ? "canary" : "stable";
    };
    const rules = resources
        .filter((r) => r.type === "aws:lb/listenerRule:ListenerRule")
        .map(
            (r) =>
                r.inputs as {
                    priority: number;
                    conditions: { httpHeader: { httpHeaderName: string; values: string[] } }[];
                    actions: { targetGroupArn: string }[];
                },
        )
        .sort((a, b) => a.priority - b.priority);
    for (const rule of rules) {
        const fits = rule.conditions.every((c) =>
            c.httpHeader.values.some((v) => albMatches(v, headers[c.httpHeader.httpHeaderName.toLowerCase()] as string | undefined)),
        );
        if (fits) return groupVersion(rule.actions[0].targetGroupArn);
    }
    const listener = resources.find(
        (r) => r.type === "aws:lb/listener:Listener" && (r.inputs as { defaultActions: { forward?: unknown }[] }).defaultActions[0].forward,
    )!;
    const groups = (listener.inputs as { defaultActions: { forward: { targetGroups: { arn: string; weight: number }[] } }[] }).defaultActions[0].forward
        .targetGroups;
    const total = groups.reduce((n, g) => n + g.weight, 0);
    const canary = groups.find((g) => groupVersion(g.arn) === "canary")?.weight ?? 0;
    return turn % total < canary ? "canary" : "stable";
}

/** Where the deployed listener sends a request with these headers: the first matching rule's target group's version, else the default action's. */
function versionFor(headers: http.IncomingHttpHeaders, turn: number, stack?: string): Version {
    const resources = deployedResources(stack);
    if (resources.some((r) => r.type === "aws:lb/loadBalancer:LoadBalancer")) return albVersionFor(resources, headers, turn);
    const groupVersion = (id: unknown): Version => {
        const group = resources.find((r) => r.type === "aws:vpclattice/targetGroup:TargetGroup" && r.id === id)!;
        return group.name.endsWith("-canary") ? "canary" : "stable";
    };
    const rules = resources
        .filter((r) => r.type === "aws:vpclattice/listenerRule:ListenerRule")
        .map(
            (r) =>
                r.inputs as {
                    priority: number;
                    match: { httpMatch: { headerMatches: { name: string; match: { exact: string } }[] } };
                    action: { forward: { targetGroups: { targetGroupIdentifier: string }[] } };
                },
        )
        .sort((a, b) => a.priority - b.priority);
    for (const rule of rules) {
        const fits = rule.match.httpMatch.headerMatches.every((h) => headers[h.name] === h.match.exact);
        if (fits) return groupVersion(rule.action.forward.targetGroups[0].targetGroupIdentifier);
    }
    const listener = resources.find((r) => r.type === "aws:vpclattice/listener:Listener")!;
    const groups = (listener.inputs as { defaultAction: { forwards: { targetGroups: { targetGroupIdentifier: string; weight: number }[] }[] } }).defaultAction
        .forwards[0].targetGroups;
    const canary = groups.find((g) => groupVersion(g.targetGroupIdentifier) === "canary")?.weight ?? 0;
    return turn % 100 < canary ? "canary" : "stable";
}

/** Starts both versions' model servers and the service in front of them: `stack`'s, where several are deployed. */
export async function startModelStandIns(answers: Record<Version, Answer>, stack?: string): Promise<ModelStandIns> {
    const answered = { stable: 0, canary: 0 };
    const servers = { stable: modelServer("stable", answers.stable, answered), canary: modelServer("canary", answers.canary, answered) };
    const urls = { stable: await listen(servers.stable), canary: await listen(servers.canary) };
    let turn = 0;
    const service = http.createServer(async (request, response) => {
        const body = await readBody(request);
        const target = urls[versionFor(request.headers, turn++, stack)];
        const forwarded = await fetch(`${target}${request.url}`, {
            method: request.method,
            headers: { "content-type": String(request.headers["content-type"]) },
            body,
        });
        response.writeHead(forwarded.status, { "content-type": forwarded.headers.get("content-type") ?? "text/plain" });
        response.end(await forwarded.text());
    });
    const serviceUrl = await listen(service);
    const close = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));
    return { serviceUrl, answered, close: async () => void (await Promise.all([close(service), close(servers.stable), close(servers.canary)])) };
}
