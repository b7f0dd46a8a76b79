/**
 * A rollout within a time budget (`rollout/core/budget.ts`): the promises a budget can keep at a
 * traffic, the schedule that holds them, a refusal when one is too weak, and the table of
 * promises docs/judge.md prints.
 */
import * as fs from "fs";
import * as path from "path";
import { acceptedChance, planBudget, promisesWithin, segmentsWithin, smallestPromise, evidenceTimeout } from "../../../rollout/core/budget";
import { formsOf } from "../../../rollout/core/evidence";
import { judgedRates } from "../../../rollout/core/power";
import { DEFAULT_SCHEDULE, RolloutSchedule } from "../../../contract/schedule";
import { GPU_BUDGETED, SCENARIOS } from "../../../rollout/simulator/scenarios";
import { stackSchedule } from "../../../rollout/cli/simulate";

const ROOT = path.join(__dirname, "../../..");
const GPU: RolloutSchedule = { ...DEFAULT_SCHEDULE, ...GPU_BUDGETED };
const traffic = (requestsPerSecond: number) => ({ requestsPerSecond, errorRate: 0.003, slowShare: 0.05 });

test("the simulator's GPU schedules are the GPU stack's, budget and gates included", () => {
    const stack = stackSchedule("gpu");
    for (const [key, value] of Object.entries(GPU_BUDGETED)) expect([key, stack[key as keyof RolloutSchedule]]).toEqual([key, value]);
    expect(SCENARIOS.find((s) => s.name === "cutoff-at-promise-2rps")!.settings).toEqual({ ...GPU_BUDGETED, gates: stack.gates });
});

test("the budget's time: each ramp step its bake (or what minRequests needs), the last step before 100% the rest", () => {
    // 10% of 1 req/s needs 1,000 s for 100 requests; 225 s of overhead per step.
    expect(segmentsWithin(GPU, 1, 3600)).toEqual({ ramp: [{ weight: 10, seconds: 1000 }], last: { weight: 50, seconds: 3600 - 1000 - 2 * 225 } });
    expect(segmentsWithin(GPU, 2, 3600)).toEqual({ ramp: [{ weight: 10, seconds: 600 }], last: { weight: 50, seconds: 3600 - 600 - 2 * 225 } });
});

describe("a rate's promise", () => {
    const [errors] = judgedRates(GPU, traffic(2)).rates;
    const forms = formsOf(GPU);
    const segments = [
        { weight: 10, seconds: 600 },
        { weight: 50, seconds: 2550 },
    ];

    test("is the smallest factor a healthy canary's acceptance reaches with the chance asked: a little less and it does not", () => {
        const promise = smallestPromise(errors, errors.factor, segments, forms, GPU.missRate, 0.99);
        expect(promise).toBeGreaterThan(errors.factor);
        expect(acceptedChance(errors, promise, segments, forms, GPU.missRate)).toBeGreaterThanOrEqual(0.99);
        expect(acceptedChance(errors, promise / 1.05, segments, forms, GPU.missRate)).toBeLessThan(0.99);
    });

    test.each([
        [1, 5, 9],
        [2, 3.5, 6],
        [10, 2, 3],
        [50, 2, 2],
    ])("at %d req/s a one-hour budget on the GPU schedule promises between %dx and %dx on 5xx (0.3%), never less than the configured 2x", (rps, low, high) => {
        const { promises } = promisesWithin(GPU, traffic(rps), 3600);
        const promise = promises.find((p) => p.rate.id === "errors")!.rollout;
        expect(promise).toBeGreaterThanOrEqual(low);
        expect(promise).toBeLessThanOrEqual(high);
    });

    test("twice the time promises more, never less", () => {
        for (const rps of [1, 2, 10]) {
            const [hour, two] = [3600, 7200].map((b) => promisesWithin(GPU, traffic(rps), b).promises);
            hour.forEach((p, i) => expect(two[i].rollout).toBeLessThanOrEqual(p.rollout));
        }
    });
});

test("the plan holds the promises: each detect factor raised to its promise, each rate's last-step factor to its own, the last step's wait to the budget's rest; and says so per rate", () => {
    const plan = planBudget(GPU, traffic(2), "stable's last 3 hours");
    expect(plan.refusal).toBeUndefined();
    const { promises, lastSeconds } = promisesWithin(GPU, traffic(2), 3600);
    expect(plan.schedule.detectErrorRateFactor).toBe(promises[0].rollout);
    expect(plan.schedule.detectSlowRequestFactor).toBe(promises[1].rollout);
    expect(plan.lastStep).toEqual({ errors: Math.max(5, promises[0].lastStep), slow: Math.max(5, promises[1].lastStep) });
    expect(plan.schedule.lastStepDetectFactor).toBe(GPU.lastStepDetectFactor);
    expect(plan.schedule.evidenceWaitSeconds).toBe(lastSeconds - GPU.bakeSeconds);
    expect(plan.lines[0]).toMatch(/^budget: 60 min from the first step to the decision to promote, at 2\.0 requests a second \(stable's last 3 hours\)/);
    expect(plan.lines[1]).toMatch(
        /^ {2}5xx: [\d.]+x stable's \([\d.]+%\); from the last step before 100% on, [\d.]+x on that step's data; with 120 min, [\d.]+x; within the budget /,
    );
});

test("the plan says what a canary at each promise serves within the budget, and what the budget's time would promise and serve at another last weight", () => {
    const plan = planBudget(GPU, traffic(2), "given");
    const { promises } = promisesWithin(GPU, traffic(2), 3600);
    const { ramp, last } = segmentsWithin(GPU, 2, 3600);
    const trials = [...ramp, last].reduce((n, s) => n + (s.weight / 100) * 2 * s.seconds, 0);
    const bad = Math.round(trials * promises[0].rollout * 0.003).toLocaleString("en-US");
    expect(plan.lines[1]).toContain(
        `; within the budget a canary at that promise serves up to ${bad} of these in its ${Math.round(trials).toLocaleString("en-US")} trials (a healthy one about ${Math.round(trials * 0.003)})`,
    );
    const shape = plan.lines.find((l) => l.includes("where the budget's time goes"))!;
    const parsed = [...shape.matchAll(/at (\d+)%, 5xx ([\d.]+)x.*?serving the canary about ([\d,]+) requests/g)].map((m) => [
        Number(m[1]),
        Number(m[2]),
        Number(m[3].replace(/,/g, "")),
    ]);
    expect(parsed.map(([w]) => w)).toEqual([25, 75]);
    const [low, high] = parsed;
    // A higher weight promises more (a smaller factor) and serves the canary to more users.
    expect(low[1]).toBeGreaterThan(promises[0].rollout);
    expect(high[1]).toBeLessThan(promises[0].rollout);
    expect(low[2]).toBeLessThan(trials);
    expect(high[2]).toBeGreaterThan(trials);
});

test("a budget that cannot promise weakestPromise is refused before anything moves, saying what budget would", () => {
    const plan = planBudget(GPU, traffic(0.3), "stable's last 3 hours");
    expect(plan.refusal).toMatch(
        /^refused: the budget cannot promise rollout\.weakestPromise \(10x, or a share within rollout\.weakestPromisePoints, 2 points, of stable's\) at this traffic: 5xx: [\d.]+x within 60 min, a budgetSeconds of \d+ would promise 10x or 2 points/,
    );
    expect(plan.schedule).toBe(GPU);
    // A gate with no trials in stable's hours promises nothing.
    const gated = { ...GPU, gates: { cutoff: { tolerancePercent: 0, detectFactor: 2 } } };
    expect(planBudget(gated, traffic(2), "given").refusal).toContain("cut-off answer: no trials in stable's last 3 hours, so nothing can be promised");
});

test.each([
    // A fresh endpoint, no 5xx in stable's 3 hours: planned at the judge's estimate, half an event in them.
    [2, false],
    [1, false],
    [0.5, true],
])(
    "a rare event's promise is taken within weakestPromisePoints (2) of stable's, whatever its factor: %s req/s, no 5xx in 3 hours (refused: %s)",
    (rps, refused) => {
        const requests = rps * 3 * 3600;
        const plan = planBudget(GPU, { requestsPerSecond: rps, errorRate: 0.5 / (requests + 1), slowShare: 0.05 }, "given");
        const [, factor, percent] = /5xx: ([\d.]+)x stable's \(([\d.]+)%\)/.exec(plan.lines.join("\n"))!.map(Number);
        expect(factor).toBeGreaterThan(GPU.weakestPromise);
        expect(percent > 2).toBe(refused);
        if (refused) expect(plan.refusal).toMatch(/: 5xx: [\d.]+x within 60 min, a budgetSeconds of \d+ would promise 10x or 2 points/);
        else expect(plan.refusal).toBeUndefined();
    },
);

test("the last step's end: the evidence wait without a budget, the budget's end with one", () => {
    expect(evidenceTimeout(DEFAULT_SCHEDULE, "not yet shown: 5xx rate under 2x stable's")).toBe(
        "not enough evidence that the canary is within tolerance after 11400 s (not yet shown: 5xx rate under 2x stable's)",
    );
    expect(evidenceTimeout(GPU, "not yet shown: 5xx rate under 4.3x stable's")).toMatch(
        /^the budget of 60 min ended before the canary was shown within its promises \(not yet shown: 5xx rate under 4\.3x stable's\); a longer rollout\.budgetSeconds/,
    );
});

/** The GPU stack's schedule, its tokens' dispersion as the run measures it on the benchmark; and the benchmark's stable at a traffic, gates included. */
const GPU_STACK = (() => {
    const gpu = stackSchedule("gpu");
    return { ...gpu, gates: { ...gpu.gates, tokens: { ...gpu.gates.tokens!, dispersion: 500 } } };
})();
const at = (rps: number) => ({
    ...traffic(rps),
    gates: { cutoff: { trialsPerRequest: 1, rate: 0.04 }, ttft: { trialsPerRequest: 1, rate: 0.1 }, tokens: { trialsPerRequest: 1, rate: 300 } },
});

/** What 30, 60 and 120 minutes promise per rate on the GPU stack's schedule, as docs/judge.md prints it. */
function promiseTable(): string {
    const schedule = GPU_STACK;
    const rpss = [1, 2, 10, 50];
    const budgets = [1800, 3600, 7200];
    const cells = rpss.map((rps) => budgets.map((b) => promisesWithin({ ...schedule, budgetSeconds: b }, at(rps), b).promises));
    const stable: Record<string, string> = { errors: "0.3%", slow: "5%", cutoff: "4%", ttft: "10%", tokens: "300 tokens an answer" };
    const rows = cells[0][0].map((p, i) => {
        const promised = rpss.map((_, r) => budgets.map((_, b) => (Number.isFinite(cells[r][b][i].rollout) ? `${cells[r][b][i].rollout}x` : "-")).join(" / "));
        return `| ${p.rate.name} (stable ${stable[p.rate.id]}) | ${promised.join(" | ")} |`;
    });
    return [`| rate | ${rpss.map((r) => `${r} req/s`).join(" | ")} |`, `| --- | ${rpss.map(() => "---").join(" | ")} |`, ...rows].join("\n");
}

test("docs/judge.md's table of where the budget's time goes is what the plan prints at 2 req/s", () => {
    const plan = planBudget(GPU_STACK, at(2), "given");
    const shape = plan.lines.find((l) => l.includes("where the budget's time goes"))!;
    const requests = (weight: number) =>
        weight === 50
            ? /serving the canary about ([\d,]+) requests; the same/.exec(shape)![1]
            : new RegExp(`at ${weight}%, .*?serving the canary about ([\\d,]+) requests`).exec(shape)![1];
    const promise = (weight: number, name: string) =>
        weight === 50
            ? plan.lines.find((l) => l.startsWith(`  ${name}: `))!.split(" ")[3]
            : new RegExp(`at ${weight}%, [^;]*?${name} ([\\d.]+x)`).exec(shape)![1];
    const rows = [25, 50, 75].map(
        (w) => `| ${w}%${w === 50 ? " (the stack's)" : ""} | ${promise(w, "5xx")} | ${promise(w, "slow-request")} | about ${requests(w)} |`,
    );
    const doc = fs.readFileSync(path.join(ROOT, "docs/judge.md"), "utf8");
    const table = [
        "| last step before 100% | 5xx promise | slow-request promise | canary requests within the hour |",
        "| --- | --- | --- | --- |",
        ...rows,
    ].join("\n");
    if (!doc.includes(table)) console.log(table);
    expect(doc).toContain(table);
    const served = /serves up to (\d+) of these in its ([\d,]+) trials \(a healthy one about (\d+)\)/.exec(plan.lines[1])!;
    expect(doc.replace(/\s+/g, " ")).toContain(
        `answers up to ${served[1]} of its ${served[2]} requests with a 5xx within the hour (a healthy one about ${served[3]})`,
    );
});

test("docs/judge.md's table of what a budget promises is what the planner computes", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs/judge.md"), "utf8");
    const table = promiseTable();
    if (!doc.includes(table)) console.log(table);
    expect(doc).toContain(table);
});
