/**
 * The model server's metrics, end to end: a stack with vLLM's metrics deployed by the
 * stand-in `pulumi` (the real program), its collector configuration read back by the
 * stand-in CloudWatch, which holds what that collector would export from each version's
 * cumulative series (`standins/serverMetrics.ts`: two tasks, a server restart, the canary
 * slower from a moment on). The dashboard's queries and the alarm's, sent to the stand-in as
 * GetMetricData queries with their metric math, give each minute's mean time to first token,
 * the share of answers cut off, the share above the bound and tokens per answer within 1% of the
 * truth. And the model's gates, run by the CLI against those series: a healthy canary is
 * promoted, one whose only fault is twice the answers cut off, or 40% more tokens per answer, is
 * rolled back.
 */
import { CloudWatchClient, GetMetricDataCommand, MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { BASE_STACK, RUN, World } from "./harness";
import { PROJECT } from "../../contract/outputs";

const MINUTE = 60_000;
const STABLE = { ttftSeconds: 0.8, aboveBoundShare: 0.04, cutOffShare: 0.02, tokensPerAnswer: 300 };
const CANARY_BEFORE = 0.9;
const CANARY_SLOWER = 1.8;
const CANARY = { aboveBoundShare: 0.09, cutOffShare: 0.07, tokensPerAnswer: 420 };

let world: World;
afterEach(async () => {
    await world?.close();
});

/** A dashboard widget's metric rows as GetMetricData queries (ids as the rows give them, or made up). */
function widgetQueries(rows: unknown[][], widget: number): MetricDataQuery[] {
    return rows.map((row, i) => {
        const last = row.at(-1) as Record<string, unknown>;
        if (typeof row[0] === "object") return { Id: String(last.id), Expression: String(last.expression), ReturnData: true };
        const [namespace, metricName, ...rest] = row as [string, string, ...unknown[]];
        const pairs = rest.slice(0, -1) as string[];
        return {
            Id: String(last.id ?? `w${widget}_${i}`),
            ReturnData: last.visible !== false,
            Label: last.label as string | undefined,
            MetricStat: {
                Metric: {
                    Namespace: namespace,
                    MetricName: metricName,
                    Dimensions: pairs.flatMap((_, j) => (j % 2 ? [] : [{ Name: pairs[j], Value: pairs[j + 1] }])),
                },
                Period: Number(last.period),
                Stat: String(last.stat),
            },
        };
    });
}

test("the dashboard and the alarm read per-minute means and shares that match the servers' truth within 1%, across a restart and a slower canary", async () => {
    world = new World();
    const origin = Number(world.env.ROLLOUT_TIME_ORIGIN);
    const slowerFrom = Math.floor((origin - 30 * MINUTE) / MINUTE) * MINUTE;
    const restartAt = Math.floor((origin - 36 * MINUTE) / 1000) * 1000 + 7_000;
    await world.start(
        {
            ...BASE_STACK,
            [`${PROJECT}:canaryWeight`]: "50",
            [`${PROJECT}:metrics`]: { prometheus: { server: "vllm", countAbove: { timeToFirstToken: 2.5 } } },
            [`${PROJECT}:alarms`]: { timeToFirstTokenIncreasePercent: 50 },
        },
        {
            requestsPerSecond: 2,
            delaySeconds: 60,
            serverRestartAt: restartAt,
            stable: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01, server: STABLE },
            canary: {
                errorRate: 0.002,
                p99Ms: 8000,
                slowRate: 0.01,
                server: { ...CANARY, ttftSeconds: CANARY_BEFORE, slowerFrom: { at: slowerFrom, ttftSeconds: CANARY_SLOWER } },
            },
        },
    );
    const state = world.stackState();
    const dashboard = JSON.parse(String(state.resources.find((r) => r.type === "aws:cloudwatch/dashboard:Dashboard")!.inputs.dashboardBody));
    const alarm = state.resources.find((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm" && r.name.endsWith("-canary-time-to-first-token"))!;
    const cloudwatch = new CloudWatchClient({
        region: "us-west-2",
        endpoint: world.aws.url,
        credentials: { accessKeyId: "stand-in", secretAccessKey: "stand-in" },
    });
    const first = Math.floor((origin - 42 * MINUTE) / MINUTE) * MINUTE;
    const window = { StartTime: new Date(first), EndTime: new Date(first + 22 * MINUTE) };
    const read = async (queries: MetricDataQuery[]) => {
        const { MetricDataResults } = await cloudwatch.send(new GetMetricDataCommand({ ...window, MetricDataQueries: queries, ScanBy: "TimestampAscending" }));
        return new Map(MetricDataResults!.map((r) => [r.Id!, new Map(r.Timestamps!.map((t, i) => [t.getTime(), r.Values![i]]))]));
    };
    const widget = (title: string) => {
        const index = dashboard.widgets.findIndex((w: { properties: { title?: string } }) => w.properties.title === title);
        expect(index).toBeGreaterThanOrEqual(0);
        return widgetQueries(dashboard.widgets[index].properties.metrics, index);
    };
    // The minutes the window holds: the one the canary turned slower in mixes a scrape's 15 s from before it, so it is left out.
    const minutes = Array.from({ length: 22 }, (_, i) => first + i * MINUTE).filter((m) => m !== slowerFrom);
    const canaryMean = (m: number) => (m >= slowerFrom ? CANARY_SLOWER : CANARY_BEFORE);
    const within1 = (got: number | undefined, truth: number) => expect(Math.abs((got ?? NaN) - truth) / truth).toBeLessThan(0.01);

    const ttft = await read(widget("Average time to first token"));
    const [stableLine, canaryLine] = [...ttft.values()];
    for (const m of minutes) {
        within1(stableLine.get(m), STABLE.ttftSeconds);
        within1(canaryLine.get(m), canaryMean(m));
    }

    const cutOff = await read(widget("Answers cut off at max_tokens"));
    const above = await read(widget("Time to first token over 2.5 s (the server's)"));
    const tokens = await read(widget("Tokens per answer"));
    for (const m of minutes) {
        within1(tokens.get("share_stable")!.get(m), STABLE.tokensPerAnswer);
        within1(tokens.get("share_canary")!.get(m), CANARY.tokensPerAnswer);
        within1(cutOff.get("share_stable")!.get(m), 100 * STABLE.cutOffShare);
        within1(cutOff.get("share_canary")!.get(m), 100 * CANARY.cutOffShare);
        within1(above.get("share_stable")!.get(m), 100 * STABLE.aboveBoundShare);
        within1(above.get("share_canary")!.get(m), 100 * CANARY.aboveBoundShare);
    }

    // The alarm's own queries, as Pulumi declared them.
    const alarmQueries = (alarm.inputs.metricQueries as { id: string; expression?: string; returnData?: boolean; metric?: Record<string, any> }[]).map(
        (q): MetricDataQuery =>
            q.expression
                ? { Id: q.id, Expression: q.expression, ReturnData: q.returnData }
                : {
                      Id: q.id,
                      ReturnData: q.returnData,
                      MetricStat: {
                          Metric: {
                              Namespace: q.metric!.namespace,
                              MetricName: q.metric!.metricName,
                              Dimensions: Object.entries(q.metric!.dimensions as Record<string, string>).map(([Name, Value]) => ({ Name, Value })),
                          },
                          Period: q.metric!.period,
                          Stat: q.metric!.stat,
                      },
                  },
    );
    const value = (await read(alarmQueries)).get("value")!;
    for (const m of minutes) within1(value.get(m), (100 * (canaryMean(m) - STABLE.ttftSeconds)) / STABLE.ttftSeconds);
    // It would fire from the slower minute on (threshold 50%), not before.
    expect(alarm.inputs.threshold).toBe(50);
    expect(value.get(slowerFrom - MINUTE)!).toBeLessThan(50);
    expect(value.get(slowerFrom + MINUTE)!).toBeGreaterThan(50);
});

describe("the model's gates, run by the CLI against the server's series", () => {
    const stack = (gates: object) => ({
        ...BASE_STACK,
        [`${PROJECT}:metrics`]: { prometheus: { server: "vllm" } },
        [`${PROJECT}:rollout`]: { ...(BASE_STACK[`${PROJECT}:rollout`] as object), gates },
    });
    const traffic = (canary: Partial<typeof STABLE>) => ({
        stable: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01, server: { ...STABLE, cutOffShare: 0.04 } },
        canary: { errorRate: 0.002, p99Ms: 8000, slowRate: 0.01, server: { ...STABLE, cutOffShare: 0.04, ...canary } },
    });

    test("a canary like stable in every way is promoted, the gates' acceptance among what it showed", async () => {
        world = await new World().start(stack({ cutoff: {}, tokens: {} }), traffic({}));
        const run = await world.cli(RUN);
        expect({ code: run.code, last: run.lastLine }).toEqual({ code: 0, last: "promoted: canaryWeight 0 deployed on e2e" });
    });

    test("a canary whose only fault is twice the answers cut off at max_tokens is rolled back, the gate named with both versions' counts", async () => {
        world = await new World().start(stack({ cutoff: {} }), traffic({ cutOffShare: 0.08 }));
        const run = await world.cli(RUN);
        expect({ code: run.code, last: run.lastLine }).toEqual({ code: 1, last: "rolled-back: canaryWeight 0 deployed on e2e" });
        expect(run.output).toMatch(/canary cut-off answer rate above stable's: canary cut off 8\.\d\d% \(\d+\/\d+\) vs stable cut off (3\.9\d|4\.0\d)% /);
    });

    test("a canary whose only fault is 40% more tokens per answer is rolled back on tokens per answer, quoted per answer", async () => {
        world = await new World().start(stack({ tokens: {} }), traffic({ tokensPerAnswer: 420 }));
        const run = await world.cli(RUN);
        expect({ code: run.code, last: run.lastLine }).toEqual({ code: 1, last: "rolled-back: canaryWeight 0 deployed on e2e" });
        expect(run.output).toMatch(/^dispersion of tokens-per-answer: /m);
        expect(run.output).toMatch(
            /canary tokens-per-answer rate above stable's by more than 10%: canary tokens per answer 42\d\.\d \(\d+\/\d+\) vs stable tokens per answer 30\d\.\d/,
        );
    });
});
