/** The rollout's plan, as a table: where it stands and what is left, from what is deployed and what the config says. */
import { planRollout, RolloutOptions } from "../../../rollout/core/plan";
import { DeployedState, IntendedState } from "../../../rollout/core/ports";

import { SCHEDULE, deployedAt, intendedAt } from "../../harness/fakeRollout";

describe("planRollout: from what is deployed and what the config says", () => {
    const phases = (deployed: DeployedState, intended: IntendedState, options: RolloutOptions = {}) => {
        const plan = planRollout(SCHEDULE, deployed, intended, options);
        return plan.kind === "run" ? plan.summary : `${plan.kind}: ${plan.reason}`;
    };
    test.each([
        [
            "a new rollout",
            deployedAt(0),
            intendedAt(0),
            {},
            "wait-canary -> 10% -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "resumed mid-rollout at a step",
            deployedAt(50),
            intendedAt(50),
            {},
            "wait-canary -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "resumed between steps",
            deployedAt(30),
            intendedAt(30),
            {},
            "wait-canary -> 30% (resumed) -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "config ahead: an interrupted update to 100 is deployed and baked first",
            deployedAt(50),
            intendedAt(100),
            {},
            "wait-canary -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "--from-step 2",
            deployedAt(0),
            intendedAt(0),
            { fromStep: 2 },
            "wait-canary -> 50% -> 100% -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        ["--to-step 1", deployedAt(0), intendedAt(0), { toStep: 1 }, "wait-canary -> 10%"],
        [
            "a promotion that did not deploy (config gave stable the canary's definition)",
            deployedAt(100),
            intendedAt(100, "v2", "v2"),
            {},
            "verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        ["a promotion deployed but not returned", deployedAt(100, "v2", "v2"), intendedAt(100, "v2", "v2"), {}, "wait-stable -> return-to-stable"],
        ["a new canary in config at 0", deployedAt(0, "v1", "v1"), intendedAt(0, "v1", "v3"), { toStep: 1 }, "deploy-canary -> wait-canary -> 10%"],
        [
            "with an evaluation, before the first step",
            { ...deployedAt(0), evaluations: ["beforeTraffic"] },
            intendedAt(0),
            { toStep: 1 },
            "wait-canary -> evaluate -> 10%",
        ],
        [
            "with an evaluation, resumed mid-rollout: past it",
            { ...deployedAt(50), evaluations: ["beforeTraffic"] },
            intendedAt(50),
            { toStep: 2 },
            "wait-canary -> 50%",
        ],
        [
            "with an evaluation before traffic, after each step and before the promotion",
            { ...deployedAt(0), evaluations: ["beforeTraffic", "eachStep", "beforePromotion"] },
            intendedAt(0),
            {},
            "wait-canary -> evaluate -> 10% -> evaluate -> 50% -> evaluate -> 100% -> evaluate -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "before the promotion only, resumed at 50%",
            { ...deployedAt(50), evaluations: ["beforePromotion"] },
            intendedAt(50),
            {},
            "wait-canary -> 50% -> 100% -> evaluate -> verify-canary-full -> promote -> wait-stable -> return-to-stable",
        ],
        [
            "before the promotion, but stopping short of it",
            { ...deployedAt(0), evaluations: ["beforePromotion"] },
            intendedAt(0),
            { toStep: 2 },
            "wait-canary -> 10% -> 50%",
        ],
    ] as [string, DeployedState, IntendedState, RolloutOptions, string][])("%s", (_name, deployed, intended, options, expected) => {
        expect(phases(deployed, intended, options)).toBe(expected);
    });

    test.each([
        ["config behind the deployment (a stale checkout)", deployedAt(50), intendedAt(10), /config says canaryWeight 10, but 50 is deployed/],
        [
            "the canary edited mid-rollout",
            deployedAt(50),
            intendedAt(50, "v1", "v9"),
            /canary in the config \(v9\) differs from the deployed canary \(v2\) at weight 50/,
        ],
        ["stable edited mid-rollout", deployedAt(50), intendedAt(50, "v8", "v2"), /stable in the config \(v8\) differs from the deployed stable \(v1\)/],
        ["a promotion begun below 100%", deployedAt(50), intendedAt(50, "v2", "v2"), /canary serves 50%, not 100%/],
        ["stable changed directly in config", deployedAt(0, "v1", "v1"), intendedAt(0, "v5", "v1"), /deploy stable with `pulumi up`/],
    ] as [string, DeployedState, IntendedState, RegExp][])("refuses %s, naming the difference", (_name, deployed, intended, reason) => {
        expect(phases(deployed, intended)).toMatch(/^refuse: /);
        expect(phases(deployed, intended)).toMatch(reason);
    });

    test("nothing to roll out when the canary runs what stable runs, at 0", () => {
        expect(phases(deployedAt(0, "v1", "v1"), intendedAt(0, "v1", "v1"))).toMatch(/^nothing: /);
    });
});
