/** How a rollout ends when something fails, as a table: the failure, and where the rollout stands. */
import { endingOf, Stop } from "../../../rollout/core/failure";
import { ConcurrentUpdate, LeaseLost, UpdateRefused } from "../../../rollout/core/ports";

const at = (over: Partial<{ aborted: boolean; promoting: boolean; weight?: number }> = {}) => ({ aborted: false, promoting: false, weight: 10, ...over });

test.each([
    ["an abort mid-rollout rolls back", new Stop("ops@laptop"), at(), { kind: "rollback", reason: "aborted by ops@laptop" }],
    ["an abort while promoting stops where it is", new Stop("ops@laptop"), at({ promoting: true }), { kind: "finish", outcome: "interrupted" }],
    ["a signal stops where it is, whatever failed", new Error("pulumi: canceled"), at({ aborted: true }), { kind: "finish", outcome: "interrupted" }],
    ["an update that would change more is refused", new UpdateRefused("refused to ..."), at(), { kind: "finish", outcome: "refused" }],
    ["a lost lease stops without changing more", new LeaseLost("the lease was taken"), at(), { kind: "finish", outcome: "failed" }],
    ["another update running stops without retrying", new ConcurrentUpdate("locked"), at(), { kind: "finish", outcome: "failed" }],
    [
        "a failure while promoting leaves traffic on the canary",
        new Error("boom"),
        at({ promoting: true, weight: 100 }),
        { kind: "finish", outcome: "failed", reason: "promotion did not finish: boom; traffic stays on the canary at 100%. Rerun to finish the promotion." },
    ],
    [
        "a failure before the stack was read",
        new Error("no stack"),
        at({ weight: undefined }),
        { kind: "finish", outcome: "failed", reason: "could not read the stack: no stack" },
    ],
    ["a failure before the canary had traffic", new Error("boom"), at({ weight: 0 }), { kind: "finish", outcome: "failed", reason: "boom" }],
    ["a failure while the canary has traffic rolls back", new Error("boom"), at({ weight: 50 }), { kind: "rollback", reason: "boom" }],
] as const)("%s", (_, error, where, ending) => {
    expect(endingOf(error, where)).toMatchObject(ending);
});
