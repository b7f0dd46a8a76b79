import { checkSteps, CliError, main, parseArgs } from "../rollout/cli";
import { DEFAULT_SCHEDULE, DEFAULT_STEPS, rolloutSection } from "../rollout/schedule";
import { ConfigError, parseOrThrow } from "../mesh/config/errors";
import { loadConfig } from "../mesh/config/schema";
import { renderJson, renderMarkdown } from "../rollout/report";
import { SCENARIOS, simulate } from "../rollout/simulate";
import { STACKS, stackConfig } from "./harness/stacks";

describe("parseArgs", () => {
    test("a real rollout", () => {
        expect(parseArgs(["--stack", "prod", "--yes", "--from-step", "2", "--to-step", "4", "--rollback-on-interrupt"])).toEqual({
            mode: "rollout",
            stack: "prod",
            dryRun: false,
            yes: true,
            fromStep: 2,
            toStep: 4,
            rollbackOnInterrupt: true,
            reportDir: "rollout-reports",
        });
        expect(parseArgs(["--stack", "dev", "--dry-run"])).toMatchObject({ mode: "rollout", dryRun: true, yes: false });
    });

    test("a simulation", () => {
        expect(parseArgs(["--simulate", "all"])).toEqual({ mode: "simulate", scenarios: SCENARIOS.map((s) => s.name), reportDir: undefined });
        expect(parseArgs(["--simulate", "error-spike", "--report-dir", "out"])).toEqual({ mode: "simulate", scenarios: ["error-spike"], reportDir: "out" });
    });

    test.each([
        [[], "--stack <name> is required"],
        [["--stack"], "--stack needs a value"],
        [["--stack", "--yes"], "--stack needs a value"],
        [["--stack", "dev", "--force"], 'unknown argument "--force"'],
        [["--stack", "dev", "--from-step", "0"], "--from-step takes a step number from 1"],
        [["--stack", "dev", "--to-step", "two"], "--to-step takes a step number from 1"],
        [["--stack", "dev", "--from-step", "3", "--to-step", "2"], "--from-step 3 comes after --to-step 2"],
        [["--simulate", "meteor"], 'unknown scenario "meteor"'],
        [["--simulate", "healthy", "--stack", "dev"], "--simulate runs without a stack"],
        [["--simulate", "healthy", "--yes"], "--yes is for a real rollout"],
    ])("%j is refused: %s", (argv, message) => {
        expect(() => parseArgs(argv as string[])).toThrow(CliError);
        expect(() => parseArgs(argv as string[])).toThrow(message);
    });

    test("step numbers must exist in the schedule", () => {
        const schedule = DEFAULT_SCHEDULE;
        expect(() => checkSteps({ toStep: 6 }, schedule)).toThrow("--to-step 6: the schedule has 5 steps (5, 10, 25, 50, 100)");
        expect(() => checkSteps({ fromStep: 5 }, schedule)).not.toThrow();
    });
});

describe("main", () => {
    let out: string[];
    beforeEach(() => {
        out = [];
        jest.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
        jest.spyOn(console, "error").mockImplementation((...a) => void out.push(a.join(" ")));
    });
    afterEach(() => jest.restoreAllMocks());

    test("--simulate all runs every scenario to its expected outcome and exits 0", async () => {
        expect(await main(["--simulate", "all"])).toBe(0);
        for (const s of SCENARIOS) expect(out.join("\n")).toMatch(new RegExp(`^${s.name} +${s.expected} +decided after`, "m"));
    });

    test("a bad argument exits 2 with the usage", async () => {
        expect(await main(["--stack", "dev", "--bogus"])).toBe(2);
        expect(out.join("\n")).toContain('error: unknown argument "--bogus"');
        expect(out.join("\n")).toContain("usage:");
    });
});

describe("the rollout schedule", () => {
    test("defaults", () => {
        expect(DEFAULT_SCHEDULE).toEqual({
            steps: DEFAULT_STEPS,
            bakeSeconds: 600,
            sampleSeconds: 60,
            maxErrorRatePercent: 2,
            maxP99LatencySeconds: 60,
            maxErrorRateIncreasePoints: 1,
            maxLatencyIncreasePercent: 25,
            minRequests: 20,
            trafficWaitSeconds: 1800,
            onLowTraffic: "hold",
        });
    });

    test.each([
        [{ steps: [10, 5, 100] }, "rollout.steps"],
        [{ steps: [5, 50] }, "rollout.steps"],
        [{ steps: [0, 100] }, "rollout.steps"],
        [{ bakeSeconds: 10 }, "rollout.bakeSeconds"],
        [{ bakeSeconds: 120, sampleSeconds: 300 }, "rollout.sampleSeconds"],
        [{ onLowTraffic: "proceed" }, "rollout.onLowTraffic"],
        [{ minRequests: 0 }, "rollout.minRequests"],
    ])("refuses %j, naming %s", (rollout, key) => {
        try {
            parseOrThrow(rolloutSection, JSON.stringify(rollout), "rollout.");
            throw new Error("accepted");
        } catch (e) {
            expect(e).toBeInstanceOf(ConfigError);
            expect((e as ConfigError).problems.map((p) => p.key)).toEqual([key]);
        }
    });

    test.each(STACKS)("the %s stack's schedule loads", (stack) => {
        expect(loadConfig(stackConfig(stack)).rollout.steps.at(-1)).toBe(100);
    });

    test("reads steps given as numbers or numeric strings", () => {
        expect(parseOrThrow(rolloutSection, { steps: ["1", 20, 100] }).steps).toEqual([1, 20, 100]);
    });
});

describe("report", () => {
    test("Markdown has a row per step, charts, and events; JSON carries the same result", async () => {
        const { result } = await simulate(SCENARIOS.find((s) => s.name === "error-spike")!);
        const md = renderMarkdown(result, "prod");
        expect(md).toContain("# Canary rollout of `prod`: rolled-back");
        expect(md).toMatch(/^\| 1 \| 5% \| .* \| pass \|$/m);
        expect(md).toMatch(/^\| 3 \| 25% \| .* \| fail: canary 5xx rate 15\.00% is above 2\.00% \|$/m);
        expect(md.match(/```mermaid\nxychart-beta/g)).toHaveLength(2);
        expect(md).toContain("- +24m rolled-back: step 3 at 25%");
        const json = JSON.parse(renderJson(result, "prod"));
        expect(json).toMatchObject({ stack: "prod", outcome: "rolled-back", exitCode: 1 });
        expect(json.samples).toHaveLength(result.samples.length);
    });
});
