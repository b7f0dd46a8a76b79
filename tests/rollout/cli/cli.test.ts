import { checkSteps, CliError, COMMAND_HELP, describeError, parseArgs } from "../../../rollout/cli/args";
import { undeployedMoves } from "../../../rollout/core/plan";
import { SCENARIOS } from "../../../rollout/simulator/scenarios";
import { GOLDEN_SCENARIOS } from "../../../rollout/simulator/golden";
import { main } from "../../../rollout/cli/main";
import { DEFAULT_SCHEDULE, DEFAULT_STEPS, rolloutSection } from "../../../contract/schedule";
import { ConfigError, parseOrThrow } from "../../../mesh/config/errors";
import { loadConfig } from "../../../mesh/config/schema";
import { finalStatus, nextStep, renderJson, renderMarkdown } from "../../../rollout/core/report";
import { simulate } from "../../../rollout/simulator/simulate";
import { STACKS, stackConfig } from "../../harness/stacks";

describe("parseArgs", () => {
    test("run, with the standard parser's forms", () => {
        expect(parseArgs(["run", "--stack=prod", "--yes", "--from-step", "2", "--to-step=4"])).toEqual({
            command: "run",
            stack: "prod",
            dryRun: false,
            yes: true,
            fromStep: 2,
            toStep: 4,
            reportDir: "rollout-reports",
            breakStaleLease: false,
        });
        expect(parseArgs(["run", "--stack", "dev", "--dry-run"])).toMatchObject({ command: "run", dryRun: true, yes: false });
    });

    test("traffic for the power report: requests a second and two percents, all three together", () => {
        expect(parseArgs(["run", "--stack", "dev", "--dry-run", "--requests-per-second", "12.5", "--error-rate", "0.3", "--slow-share", "5"])).toMatchObject({
            traffic: { requestsPerSecond: 12.5, errorRate: 0.003, slowShare: 0.05 },
        });
        expect(() => parseArgs(["simulate", "--stack", "dev", "--requests-per-second", "10"])).toThrow(
            "--requests-per-second, --error-rate and --slow-share go together",
        );
        expect(() => parseArgs(["simulate", "--requests-per-second", "10", "--error-rate", "120", "--slow-share", "5"])).toThrow(
            '--error-rate takes a percent from 0 to 100, got "120"',
        );
    });

    test("status, abort, guard and simulate", () => {
        expect(parseArgs(["status", "--stack", "dev"])).toEqual({ command: "status", stack: "dev" });
        expect(parseArgs(["abort", "--stack=dev"])).toEqual({ command: "abort", stack: "dev" });
        expect(parseArgs(["guard", "--stack", "dev"])).toEqual({ command: "guard", stack: "dev" });
        expect(parseArgs(["guard", "--platform", "rag"])).toEqual({ command: "guard-platform", platform: "rag" });
        expect(() => parseArgs(["guard", "--platform", "rag", "--stack", "dev"])).toThrow("guard takes --stack NAME or --platform NAME, not both");
        expect(() => parseArgs(["status", "--platform", "rag"])).toThrow("--platform is not an option of status");
        expect(parseArgs(["check", "--stack", "dev"])).toEqual({ command: "check", stack: "dev" });
        expect(parseArgs(["check", "--platform", "rag"])).toEqual({ command: "check", platform: "rag" });
        expect(parseArgs(["load", "--stack", "gpu", "--rps", "2.5", "--minutes", "10"])).toEqual({ command: "load", stack: "gpu", rps: 2.5, minutes: 10 });
        expect(parseArgs(["load", "--stack", "gpu", "--rps", "1", "--minutes", "1", "--file", "r.jsonl"])).toMatchObject({ file: "r.jsonl" });
        expect(parseArgs(["simulate"])).toEqual({
            command: "simulate",
            scenarios: [...SCENARIOS, ...GOLDEN_SCENARIOS].map((s) => s.name),
            runs: 1,
            seed: 1,
            compare: false,
        });
        expect(parseArgs(["simulate", "errors-5x", "--runs=2000", "--seed", "7", "--stack", "prod", "--compare", "--report-dir", "out"])).toEqual({
            command: "simulate",
            scenarios: ["errors-5x"],
            runs: 2000,
            seed: 7,
            stack: "prod",
            compare: true,
            reportDir: "out",
        });
        expect(parseArgs(["-h"])).toEqual({ command: "help" });
        expect(parseArgs(["help"])).toEqual({ command: "help" });
        expect(parseArgs(["run", "--help"])).toEqual({ command: "help", about: "run" });
    });

    test.each([
        [["deploy"], 'unknown command "deploy"'],
        [["run"], "run needs --stack NAME"],
        [["run", "--stack"], "argument missing"],
        [["run", "--stack", "dev", "--force"], "unknown option --force"],
        [["run", "--stak", "dev"], "unknown option --stak; did you mean --stack?"],
        [["rn", "--stack", "dev"], 'unknown command "rn"; did you mean run?'],
        [["abrot", "--stack", "dev"], 'unknown command "abrot"; did you mean abort?'],
        [["deploy", "--stack", "dev"], 'unknown command "deploy"; one of run, status, abort, guard, simulate, check'],
        [[], "no command given"],
        [["run", "--stack", "dev", "--from-step", "0"], "--from-step takes a step number from 1"],
        [["run", "--stack", "dev", "--to-step", "two"], "--to-step takes a step number from 1"],
        [["run", "--stack", "dev", "--from-step", "3", "--to-step", "2"], "--from-step 3 comes after --to-step 2"],
        [["status", "--stack", "dev", "--yes"], "--yes is not an option of status"],
        [["simulate", "meteor"], 'unknown scenario "meteor"; one or more of healthy,'],
        [["simulate", "erors-2x"], 'unknown scenario "erors-2x"; did you mean errors-2x?'],
        [["check"], "check needs --stack NAME or --platform NAME"],
        [["load", "--stack", "gpu", "--minutes", "5"], "load needs --rps, requests a second to each version, above 0 and at most 50; got null"],
        [
            ["load", "--stack", "gpu", "--rps", "500", "--minutes", "5"],
            'load needs --rps, requests a second to each version, above 0 and at most 50; got "500"',
        ],
        [["load", "--stack", "gpu", "--rps", "2", "--minutes", "0.5"], 'load needs --minutes, a whole number from 1 to 240; got "0.5"'],
        [["check", "--stack", "dev", "--platform", "rag"], "check takes --stack NAME or --platform NAME, not both"],
        [["check", "--stack", "dev", "--yes"], "--yes is not an option of check"],
        [["simulate", "healthy", "--yes"], "--yes is not an option of simulate"],
        [["simulate", "healthy", "--runs", "0"], "--runs takes a whole number from 1"],
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

describe("the deploy job's guard", () => {
    const bounds = (minCount: number) => ({ minCount, restingMinCount: 1, maxCount: 8, requestsPerTaskPerMinute: 60 });
    const deployed = (canaryWeight: number, minCount = 1, stableMin = 1) => ({
        canaryWeight,
        versions: { stable: { fingerprint: "s", taskDefinitionArn: "td/s:1" }, canary: { fingerprint: "c", taskDefinitionArn: "td/c:1" } },
        scaling: { stable: bounds(stableMin), canary: bounds(minCount) },
    });
    const intended = (canaryWeight: number, canaryMin = 1, canary = "c", stableMin = 1) => ({
        canaryWeight,
        fingerprints: { stable: "s", canary },
        minCounts: { stable: stableMin, canary: canaryMin },
    });

    test.each([
        ["the config the rollout left", deployed(50, 4), intended(50, 4), []],
        ["a stale weight", deployed(50, 4), intended(0, 4), ["canaryWeight 50 -> 0"]],
        [
            "the canary's raised minimum dropped while it serves traffic",
            deployed(50, 4),
            intended(50, 1),
            ["the canary's minimum task count 4 -> 1 while it serves 50%"],
        ],
        ["a lower minimum at weight 0: nothing serves on it", deployed(0, 4), intended(0, 1), []],
        ["a new canary while it serves traffic", deployed(10), intended(10, 1, "c2"), ["the canary's definition while it serves 10%"]],
        [
            "stable's raised minimum dropped as traffic returns to it",
            deployed(0, 1, 6),
            intended(0, 1, "c", 1),
            ["the stable's minimum task count 6 -> 1 while it serves 100%"],
        ],
        ["stable's raised minimum at 100% canary: nothing serves on it", deployed(100, 4, 6), intended(100, 4, "c", 1), []],
    ])("%s", (_what, d, i, moves) => {
        expect(undeployedMoves(d, i)).toEqual(moves);
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

    test("simulate runs a scenario to its expected outcome and exits 0; a known limit is shown and does not decide the exit code", async () => {
        // One seeded run: a draw, not a rate (every scenario's rates are the benchmark's, and tests/rolloutEngine.test.ts's).
        expect(await main(["simulate", "errors-5x", "--seed", "2"])).toBe(0);
        expect(out.join("\n")).toMatch(/^errors-5x +rolled-back +decided after/m);
        const limited = SCENARIOS.find((s) => s.limit)!;
        // Seed 2 of the clustered scenario is one of the healthy canaries it holds: shown, and still exit 0.
        expect(await main(["simulate", limited.name, "--seed", "2"])).toBe(0);
        expect(out.join("\n")).toMatch(new RegExp(`^${limited.name} +held`, "m"));
        expect(out.join("\n")).toContain(`a known limit: ${limited.limit}`);
    });

    test.each([
        [
            Object.assign(new Error("getaddrinfo ENOTFOUND ssm.us-west-2.amazonaws.com"), { code: "ENOTFOUND" }),
            "AWS is unreachable from here (getaddrinfo ENOTFOUND ssm.us-west-2.amazonaws.com): check the network or proxy",
        ],
        [
            Object.assign(new Error("The security token included in the request is expired"), { name: "ExpiredTokenException" }),
            "AWS refused the request (ExpiredTokenException: The security token included in the request is expired): the credentials are for another account, expired",
        ],
        [
            Object.assign(new Error("User: x is not authorized to perform: ssm:GetParameter"), { name: "AccessDeniedException" }),
            "lack the runner's permissions (docs/operations.md#permissions)",
        ],
    ])("an AWS that cannot be reached or refuses is one clear line: %s", (e, text) => {
        expect(describeError(e as Error)).toContain(text);
        expect(describeError(e as Error)).not.toContain("\n");
    });

    test("missing AWS credentials say what to set", () => {
        const e = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
        expect(describeError(e)).toContain("no AWS credentials: set AWS_PROFILE");
    });

    test("a bad argument exits 2 with the usage, no arguments too", async () => {
        expect(await main(["run", "--stack", "dev", "--bogus"])).toBe(2);
        expect(out.join("\n")).toContain("error: unknown option --bogus");
        expect(out.join("\n")).not.toContain("To specify a positional argument");
        expect(out.join("\n")).toContain("usage:");
        out.length = 0;
        expect(await main([])).toBe(2);
        expect(out.join("\n")).toMatch(/^error: no command given\nusage: rollout <command>/);
    });

    test.each(Object.keys(COMMAND_HELP))("%s --help says what it does in a line, its options and examples, and exits 0", async (command) => {
        expect(await main([command, "--help"])).toBe(0);
        const text = out.join("\n");
        expect(text.split("\n")[0]).toBe(`rollout ${command}: ${COMMAND_HELP[command].does}`);
        expect(text).toMatch(new RegExp(`^usage:\n {2}${command} `, "m"));
        for (const example of COMMAND_HELP[command].examples) expect(text).toContain(`  ${example}`);
        for (const other of Object.keys(COMMAND_HELP).filter((c) => c !== command)) expect(text).not.toMatch(new RegExp(`^ {2}${other} `, "m"));
    });
});

describe("the rollout schedule", () => {
    test("defaults", () => {
        expect(DEFAULT_SCHEDULE).toEqual({
            steps: DEFAULT_STEPS,
            bakeSeconds: 600,
            sampleSeconds: 60,
            falseRollbackRate: 0.01,
            errorRateIncreasePercent: 0,
            missRate: 0.01,
            detectErrorRateFactor: 2,
            detectSlowRequestFactor: 1.5,
            detectMarginPercent: 0.1,
            evidenceWaitSeconds: 10800,
            warmupSeconds: 180,
            weakestPromise: 10,
            weakestPromisePoints: 2,
            slowRequestIncreasePercent: 0,
            maxErrorRatePercent: 5,
            latencyMetric: "total",
            minRequests: 200,
            metricsMaxLagSeconds: 300,
            trafficWaitSeconds: 1800,
            onLowTraffic: "hold",
            metricsOutageSeconds: 600,
            onMetricsOutage: "hold",
            gates: {},
            lastStepDetectFactor: 5,
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
        [{ falseRollbackRate: 0.5 }, "rollout.falseRollbackRate"],
        [{ maxP99LatencySeconds: 60 }, "rollout.maxP99LatencySeconds"],
        [{ metricsDelaySeconds: 120 }, "rollout.metricsDelaySeconds"],
        [{ errorRateIncreasePercent: 100, detectErrorRateFactor: 2 }, "rollout.detectErrorRateFactor"],
        [{ slowRequestIncreasePercent: 50, detectSlowRequestFactor: 1.5 }, "rollout.detectSlowRequestFactor"],
        [{ missRate: 0.5 }, "rollout.missRate"],
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
    test("a progress line gives each gate's share of its trials with the counts behind it", async () => {
        const lines: string[] = [];
        await simulate(
            SCENARIOS.find((s) => s.name === "cutoff-2x")!,
            { seed: 1, log: (l) => lines.push(l) },
        );
        expect(
            lines.some((l) =>
                /^step 1\/5 weight 5% .*\| stable \d+ req, .*, p99 [\d.]+s, cut off [\d.]+% \(\d+\/\d+\) \| canary \d+ req, .*, p99 [\d.]+s, cut off [\d.]+% \(\d+\/\d+\) \| /.test(
                    l,
                ),
            ),
        ).toBe(true);
    });

    test("Markdown has a row per step, charts, and events; JSON carries the same result", async () => {
        const { result } = await simulate(
            SCENARIOS.find((s) => s.name === "errors-under-load")!,
            { seed: 2 },
        );
        const md = renderMarkdown(result, "prod");
        expect(md).toContain("# Canary rollout of `prod`: rolled-back");
        expect(md).toMatch(/^\| 1 \| 5% \| [0-9.]+% \| .* \| pass \|$/m);
        expect(md).toMatch(
            /^\| 4 \| 50% \| .* \| fail: canary 5xx rate above stable's: canary 5xx [0-9.]+% \(\d+\/\d+\) vs stable 5xx [0-9.]+% \(\d+\/\d+\); evidence .* reached 400 \|$/m,
        );
        expect(
            md.match(/```mermaid\n%%\{init: \{"themeVariables": \{"xyChart": \{"plotColorPalette": "#d62728(, #1f77b4)?"\}\}\}\}%%\nxychart-beta/g),
        ).toHaveLength(4);
        expect(md).toContain("Key: red: canary; blue: stable.");
        expect(md).toMatch(/^- \d+:\d\d rolled-back: step 4 at 50%/m);
        // Table, samples and verdict agree: the step's canary requests are the sum of its samples'.
        const step4 = result.samples.filter((s) => s.step === 4).reduce((n, s) => n + s.sample.versions.canary.requests, 0);
        const stable4 = result.samples.filter((s) => s.step === 4).reduce((n, s) => n + s.sample.versions.stable.requests, 0);
        const share4 = ((100 * step4) / (step4 + stable4)).toFixed(1);
        expect(md).toMatch(new RegExp(`^\\| 4 \\| 50% \\| ${share4}% \\| [0-9:]+ \\| ${step4} \\|`, "m"));
        expect(md).toContain("| evidence: canary 5xx rate above stable's |");
    });

    test.each([
        ["errors-5x", "rolled-back", /^\*\*Next step:\*\* Stable serves everything again\. Read the failing step's samples/m],
        ["healthy", "promoted", /^\*\*Next step:\*\* Nothing to do: stable runs the canary's version/m],
        ["low-traffic", "held", /^\*\*Next step:\*\* Not enough traffic to decide either way; the weight stays at \d+%\. Run again/m],
        ["failed-up", "rolled-back", /Read the failing step's samples/m],
    ])("a report after %s (%s) names the images, who ran it, the dashboard and the next step", async (name, outcome, next) => {
        const { result } = await simulate(
            SCENARIOS.find((s) => s.name === name)!,
            { seed: 2 },
        );
        expect(result.outcome).toBe(outcome);
        const context = {
            owner: "alice@laptop",
            images: { stable: "ecr/llm:1.4.0", canary: "ecr/llm:1.5.0" },
            dashboardUrl: "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#dashboards/dashboard/dev-inference-canary",
        };
        const md = renderMarkdown(result, "dev", context);
        expect(md).toMatch(next);
        expect(md).toContain("by alice@laptop");
        expect(md).toContain("Images: stable `ecr/llm:1.4.0`, canary `ecr/llm:1.5.0`");
        expect(md).toContain(`Dashboard: ${context.dashboardUrl}`);
        expect(JSON.parse(renderJson(result, "dev", context))).toMatchObject({
            owner: "alice@laptop",
            images: context.images,
            nextStep: expect.any(String),
            outcome,
        });
    });

    test.each([
        ["promoted", "healthy", "Nothing to do"],
        ["rolled-back", "errors-5x", "Stable serves everything again"],
        ["held", "low-traffic", "Not enough traffic"],
        ["failed", "healthy", "The rollout stopped on an error"],
    ] as const)("status after %s names the outcome, the weight, the images, the rates behind a verdict and the next step", async (outcome, scenario, next) => {
        const { result } = await simulate(
            SCENARIOS.find((s) => s.name === scenario)!,
            { seed: 2 },
        );
        // A failure is an outcome the simulation does not reach on its own: the same result, ended by an error.
        const ended =
            outcome === "failed"
                ? { ...result, outcome, reason: "pulumi up (canaryWeight 50) failed: inference-lattice-listener: ValidationException", finalWeight: 25 }
                : result;
        const text = finalStatus(ended, { images: { stable: "ecr/llm:1.4.0", canary: "ecr/llm:1.5.0" } });
        expect(text.split("\n")).toEqual([
            `${outcome}: canaryWeight ${ended.finalWeight} deployed; ${ended.reason}`,
            "images when it began: stable ecr/llm:1.4.0, canary ecr/llm:1.5.0",
            expect.stringMatching(new RegExp(`^next: ${next}`)),
        ]);
        if (outcome === "rolled-back") expect(text).toMatch(/canary 5xx [0-9.]+% \(\d+\/\d+\) vs stable 5xx [0-9.]+% \(\d+\/\d+\)/);
    });

    test.each(["failed", "interrupted", "paused", "refused", "nothing-to-do"] as const)("after %s the next step says what to do", (outcome) => {
        expect(nextStep({ outcome, finalWeight: 25 })).toMatch(/\w/);
        if (outcome !== "refused" && outcome !== "nothing-to-do") expect(nextStep({ outcome, finalWeight: 25 })).toContain("at 25%");
    });

    test("minutes without data are gaps, not zeros", async () => {
        const { result } = await simulate(SCENARIOS.find((s) => s.name === "healthy")!);
        const md = renderMarkdown(result, "dev");
        // At 100% stable serves nothing: its 5xx rate and p99 have no value there, so those samples leave the charts.
        const withoutStable = result.samples.filter((s) => s.sample.versions.stable.requests === 0);
        expect(withoutStable.length).toBeGreaterThan(0);
        expect(withoutStable.every((s) => s.weight === 100)).toBe(true);
        expect(md).toContain(`${withoutStable.length} sample(s) without data for every line are left out.`);
        const json = JSON.parse(renderJson(result, "dev"));
        expect(json).toMatchObject({ stack: "dev", outcome: "promoted", exitCode: 0 });
        expect(json.samples).toHaveLength(result.samples.length);
    });
});
