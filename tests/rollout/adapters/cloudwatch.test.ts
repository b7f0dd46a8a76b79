/** The CloudWatch adapter over SDK responses: per-minute counts, pagination and missing data. */
import { gatesOf, gatesSection } from "../../../contract/gates";
import { DescribeAlarmsCommand, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchMetrics, metricQueries } from "../../../rollout/adapters/cloudwatch";

const WINDOW = { start: Date.UTC(2026, 10, 26, 10, 0), end: Date.UTC(2026, 10, 26, 10, 3) };

describe("CloudWatchMetrics", () => {
    const METRICS = {
        stable: {
            requests: { namespace: "N", metricName: "Requests", dimensions: { Version: "stable" } },
            errors: { namespace: "N", metricName: "Errors5xx", dimensions: { Version: "stable" } },
            latencyMs: { namespace: "N", metricName: "RequestTime", dimensions: { Version: "stable" } },
        },
        canary: {
            requests: { namespace: "N", metricName: "Requests", dimensions: { Version: "canary" } },
            errors: { namespace: "N", metricName: "Errors5xx", dimensions: { Version: "canary" } },
            latencyMs: { namespace: "N", metricName: "RequestTime", dimensions: { Version: "canary" } },
        },
    };

    test("one bucket a minute on whole minutes: a version's minute without a request count has no data; pages are followed; alarm states read", async () => {
        const sent: unknown[] = [];
        const t = (minute: number) => new Date(WINDOW.start + minute * 60_000);
        const client = {
            send: jest.fn(async (command: unknown) => {
                sent.push(command);
                if (command instanceof GetMetricDataCommand) {
                    if (!command.input.NextToken) {
                        return {
                            MetricDataResults: [
                                { Id: "stable_requests", Timestamps: [t(0), t(1)], Values: [600, 400] },
                                { Id: "stable_errors", Timestamps: [t(1)], Values: [1] },
                                { Id: "stable_latencyMs", Timestamps: [t(0), t(1)], Values: [7000, 9000] },
                            ],
                            NextToken: "page-2",
                        };
                    }
                    return {
                        MetricDataResults: [
                            { Id: "stable_slow", Timestamps: [t(0)], Values: [2] },
                            { Id: "canary_requests", Timestamps: [t(1)], Values: [40] },
                        ],
                    };
                }
                return {
                    MetricAlarms: [
                        { AlarmName: "errors", StateValue: "ALARM" },
                        { AlarmName: "latency", StateValue: "OK" },
                    ],
                };
            }),
        };
        const source = new CloudWatchMetrics(client as any, METRICS, ["errors", "latency"], { thresholdMs: 10_000, metric: "latencyMs" });
        expect(await source.minutes(WINDOW)).toEqual([
            { start: WINDOW.start, versions: { stable: { requests: 600, errors: 0, slow: 2, p99Ms: 7000 }, canary: undefined } },
            {
                start: WINDOW.start + 60_000,
                versions: { stable: { requests: 400, errors: 1, slow: 0, p99Ms: 9000 }, canary: { requests: 40, errors: 0, slow: 0 } },
            },
            { start: WINDOW.start + 120_000, versions: { stable: undefined, canary: undefined } },
        ]);
        expect(await source.firingAlarms()).toEqual(["errors"]);
        const [first, second, alarms] = sent as [GetMetricDataCommand, GetMetricDataCommand, DescribeAlarmsCommand];
        expect(first.input.StartTime).toEqual(new Date(WINDOW.start));
        expect(first.input.EndTime).toEqual(new Date(WINDOW.end));
        expect(first.input.MetricDataQueries).toHaveLength(8);
        expect(second.input.NextToken).toBe("page-2");
        expect(alarms.input.AlarmNames).toEqual(["errors", "latency"]);
        await expect(source.minutes({ start: WINDOW.start + 1, end: WINDOW.end })).rejects.toThrow("whole minutes");
    });

    test("a latency published in seconds is read in milliseconds, and connection errors count as 5xx", async () => {
        const seconds = (version: string) => ({
            ...METRICS[version as "stable"],
            latencyMs: { namespace: "AWS/ApplicationELB", metricName: "TargetResponseTime", dimensions: { TargetGroup: version }, unit: "Seconds" as const },
            connectionErrors: { namespace: "AWS/ApplicationELB", metricName: "TargetConnectionErrorCount", dimensions: { TargetGroup: version } },
        });
        const send = jest.fn(async () => ({
            MetricDataResults: [
                { Id: "canary_requests", Timestamps: [new Date(WINDOW.start)], Values: [100] },
                { Id: "canary_errors", Timestamps: [new Date(WINDOW.start)], Values: [2] },
                { Id: "canary_connectionErrors", Timestamps: [new Date(WINDOW.start)], Values: [3] },
                { Id: "canary_latencyMs", Timestamps: [new Date(WINDOW.start)], Values: [4.5] },
            ],
        }));
        const source = new CloudWatchMetrics({ send } as any, { stable: seconds("stable"), canary: seconds("canary") }, [], {
            thresholdMs: 10_000,
            metric: "latencyMs",
        });
        const [minute] = await source.minutes({ start: WINDOW.start, end: WINDOW.start + 60_000 });
        expect(minute.versions.canary).toEqual({ requests: 100, errors: 5, slow: 0, p99Ms: 4500 });
    });

    test("the model's gates: each one's trials and events a minute, from the server's series and the application's metrics the outputs name; a count within a bound is subtracted from its trials", async () => {
        const server = (version: string) => ({
            answers: { namespace: "N", metricName: "Answers", dimensions: { Version: version } },
            generatedTokens: { namespace: "N", metricName: "GeneratedTokens", dimensions: { Version: version } },
            answersCutOff: { namespace: "N", metricName: "Answers", dimensions: { Version: version, FinishReason: "length" } },
            timeToFirstToken: { namespace: "N", metricName: "TimeToFirstToken", dimensions: { Version: version } },
            timeToFirstTokenWithin: { namespace: "N", metricName: "TimeToFirstTokenWithin", dimensions: { Version: version, Bound: "2.5" } },
        });
        const events = (version: string) => ({
            Refusals: { namespace: "App", metricName: "Refusals", dimensions: { Version: version } },
            Replies: { namespace: "App", metricName: "Replies", dimensions: { Version: version } },
        });
        const metrics = {
            stable: { ...METRICS.stable, server: server("stable"), events: events("stable") },
            canary: { ...METRICS.canary, server: server("canary"), events: events("canary") },
        };
        const gates = gatesOf(gatesSection.parse({ cutoff: {}, ttft: {}, tokens: {}, events: { refusals: { metric: "Refusals", trials: "Replies" } } }));
        const queries = metricQueries(metrics, { thresholdMs: 10_000, metric: "latencyMs" }, gates);
        const byId = Object.fromEntries(queries.map((q) => [q.Id, q.MetricStat]));
        expect(byId.canary_cutoff_trials).toMatchObject({ Metric: { MetricName: "Answers", Dimensions: [{ Name: "Version", Value: "canary" }] }, Stat: "Sum" });
        expect(byId.canary_tokens_events).toMatchObject({ Metric: { MetricName: "GeneratedTokens" }, Stat: "Sum" });
        expect(byId.canary_refusals_events).toMatchObject({
            Metric: { Namespace: "App", MetricName: "Refusals", Dimensions: [{ Name: "Version", Value: "canary" }] },
            Stat: "Sum",
        });
        expect(byId.canary_refusals_trials).toMatchObject({ Metric: { MetricName: "Replies" }, Stat: "Sum" });
        expect(byId.canary_cutoff_events!.Metric!.Dimensions).toEqual([
            { Name: "Version", Value: "canary" },
            { Name: "FinishReason", Value: "length" },
        ]);
        expect(byId.stable_ttft_trials).toMatchObject({ Metric: { MetricName: "TimeToFirstToken" }, Stat: "SampleCount" });
        expect(byId.stable_ttft_good).toMatchObject({ Metric: { MetricName: "TimeToFirstTokenWithin" }, Stat: "SampleCount" });

        const t0 = new Date(WINDOW.start);
        const at = (Id: string, value: number) => ({ Id, Timestamps: [t0], Values: [value] });
        const client = {
            send: jest.fn(async () => ({
                MetricDataResults: [
                    at("canary_requests", 300),
                    at("canary_cutoff_trials", 290),
                    at("canary_cutoff_events", 23),
                    at("canary_tokens_trials", 290),
                    at("canary_tokens_events", 87_000),
                    at("canary_refusals_trials", 280),
                    at("canary_refusals_events", 6),
                    at("canary_ttft_trials", 300),
                    at("canary_ttft_good", 270.4),
                    at("stable_requests", 700),
                ],
            })),
        };
        const [minute] = await new CloudWatchMetrics(client, metrics, [], { thresholdMs: 10_000, metric: "latencyMs" }, gates).minutes({
            start: WINDOW.start,
            end: WINDOW.start + 60_000,
        });
        expect(minute.versions.canary!.gates).toEqual({
            cutoff: { events: 23, requests: 290 },
            ttft: { events: 30, requests: 300 },
            tokens: { events: 87_000, requests: 290 },
            refusals: { events: 6, requests: 280 },
        });
        // A version's minute without the server's data: no answers, not a failure.
        const none = { events: 0, requests: 0 };
        expect(minute.versions.stable!.gates).toEqual({ cutoff: none, ttft: none, tokens: none, refusals: none });
        // A stack without the series a gate reads is told so before anything is read.
        expect(() => metricQueries(METRICS, { thresholdMs: 10_000, metric: "latencyMs" }, gates.slice(0, 1))).toThrow(
            "rollout.gates.cutoff reads the model server's answers series, which the stack does not publish for the stable version: deploy it first",
        );
        expect(() => metricQueries(METRICS, { thresholdMs: 10_000, metric: "latencyMs" }, gates.slice(3))).toThrow(
            "rollout.gates.events.refusals reads the application metric Replies, which the stack does not publish for the stable version: deploy it first",
        );
    });
});
