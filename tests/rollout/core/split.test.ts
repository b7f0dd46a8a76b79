/** The weights in force over time, and the check that the traffic layer applies a weight just deployed. */
import { verifyWeight, WeightHistory } from "../../../rollout/core/split";

const MIN = 60_000;

test.each([
    // minute start, canary may have served, stable may have served
    [0, false, true],
    [1 * MIN, true, true], // the update to 10% starts at 1.5 min: either weight may apply
    [3 * MIN, true, true], // 10% verified at 2.5 min: both serve
    [4 * MIN, true, true], // the update to 100% starts at 4 min: stable may still serve
    [5 * MIN, true, false], // 100% verified at 4.5 min: stable serves nothing from then on
    [6 * MIN, true, false],
] as const)("the minute from %i ms: canary %s, stable %s", (start, canary, stable) => {
    const history = new WeightHistory();
    history.inForce(0, 0);
    history.moving(1.5 * MIN, 0, 10);
    history.inForce(2.5 * MIN, 10);
    history.moving(4 * MIN, 10, 100);
    history.inForce(4.5 * MIN, 100);
    expect([history.hasShare("canary", start), history.hasShare("stable", start)]).toEqual([canary, stable]);
});

test("a weight the traffic layer reports is verified; one it never reports fails with what it does report", async () => {
    const clock = { now: () => 0, sleep: async () => {} };
    const reports = [0, 0, 25];
    await expect(verifyWeight({ canaryWeight: async () => reports.shift() ?? 25 }, clock, 25)).resolves.toBeUndefined();
    await expect(verifyWeight({ canaryWeight: async () => 10 }, clock, 25)).rejects.toThrow(
        "the traffic layer sends 10% to the canary, not the 25% just deployed",
    );
});
