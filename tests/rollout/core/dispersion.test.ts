/** How bursty each count is, measured from stable's recent minutes: Pearson's estimate, used only when it shows. */
import { HISTORY_MINUTES, pearsonDispersion, readStableHistory, withMeasuredDispersions } from "../../../rollout/core/dispersion";
import { DEFAULT_SCHEDULE } from "../../../contract/schedule";
import { MinuteSample } from "../../../rollout/core/ports";

/** Minutes of 1,000 trials whose events alternate around 30: `spread` apart (0: binomial-like, exactly the mean). */
const minutes = (count: number, spread: number) => Array.from({ length: count }, (_, i) => ({ events: 30 + (i % 2 ? spread : -spread), requests: 1000 }));

describe("pearsonDispersion", () => {
    test.each([
        ["counts as variable as independent events would be (variance n·p·(1-p))", minutes(180, 5), false],
        ["bursts: counts varying 20 apart around 30 in 1,000", minutes(180, 20), true],
    ])("%s", (_, counts, shown) => {
        const estimate = pearsonDispersion(counts)!;
        const p = 0.03;
        const expected = counts.reduce((s, m) => s + (m.events - m.requests * p) ** 2 / (m.requests * p * (1 - p)), 0) / (counts.length - 1);
        expect(estimate.value).toBeCloseTo(expected, 6);
        expect(estimate.shown).toBe(shown);
    });

    test("a rate per trial (tokens per answer) against Poisson's variance n·rate: tokens vary far more than that, and show it", () => {
        // 300 answers a minute at about 300 tokens each, minutes 3,000 tokens either side of the mean: a variance of 9e6 over the Poisson 90,000.
        const tokens = Array.from({ length: 180 }, (_, i) => ({ events: 90_000 + (i % 2 ? 3000 : -3000), requests: 300 }));
        const estimate = pearsonDispersion(tokens, "rate")!;
        expect(estimate.value).toBeCloseTo((180 * 3000 ** 2) / 90_000 / 179, 6);
        expect(estimate.shown).toBe(true);
        // As a share, more events than trials cannot be measured.
        expect(pearsonDispersion(tokens, "share")).toBeUndefined();
    });

    test.each([
        ["too few minutes", minutes(20, 20)],
        ["too few events", Array.from({ length: 180 }, () => ({ events: 0, requests: 1000 })).map((m, i) => (i < 40 ? { ...m, events: 1 } : m))],
        ["no trials", Array.from({ length: 180 }, () => ({ events: 0, requests: 0 }))],
    ])("%s: nothing to tell", (_, counts) => {
        expect(pearsonDispersion(counts)).toBeUndefined();
    });
});

describe("withMeasuredDispersions", () => {
    const NOW = Date.UTC(2026, 11, 7, 12, 0, 30);
    const source = (spread: number) => ({
        minutes: async ({ start, end }: { start: number; end: number }): Promise<MinuteSample[]> => {
            expect({ start, end }).toEqual({ start: Date.UTC(2026, 11, 7, 12) - HISTORY_MINUTES * 60_000, end: Date.UTC(2026, 11, 7, 12) });
            return minutes(HISTORY_MINUTES, spread).map((m, i) => ({
                start: start + i * 60_000,
                versions: { stable: { requests: m.requests, errors: m.events, slow: 0, gates: { cutoff: { events: 40, requests: 1000 } } }, canary: undefined },
            }));
        },
        firingAlarms: async () => [],
    });
    const withCutoff = { ...DEFAULT_SCHEDULE, gates: { cutoff: { tolerancePercent: 0, detectFactor: 2 } } };

    test("each dispersion left unset is measured from stable's last 3 hours (or 1 where its minutes show none), each said with where it came from", async () => {
        const { schedule, lines } = withMeasuredDispersions(withCutoff, await readStableHistory(source(20), NOW));
        // Counts 20 either side of 30 in 1,000: a variance of 400 over the binomial 29.1.
        expect(schedule.errorDispersion).toBeCloseTo(400 / (1000 * 0.03 * 0.97), 0);
        expect(schedule.gates.cutoff!.dispersion).toBe(1);
        expect(lines).toEqual([
            expect.stringMatching(
                /^dispersion of 5xx: [\d.]+, measured from stable's last 3 hours \(its counts vary [\d.]+ times as much as independent events would\)$/,
            ),
            "dispersion of cut-off answer: 1, stable's last 3 hours show no burstiness (measured 0.00)",
        ]);
    });

    test("a dispersion set in the schedule is used as set; an unreadable history leaves the rest at their fallback (1 for a share, 1,000 for tokens per answer), and says so", async () => {
        const set = withMeasuredDispersions({ ...withCutoff, errorDispersion: 4 }, await readStableHistory(source(20), NOW));
        expect(set.schedule.errorDispersion).toBe(4);
        expect(set.lines[0]).toBe("dispersion of 5xx: 4, as set");
        const failing = { minutes: jest.fn(async () => Promise.reject(new Error("Throttling"))), firingAlarms: async () => [] };
        const history = await readStableHistory(failing, NOW);
        expect(history).toEqual({ unreadable: "Throttling" });
        // Tried three times before it is taken as unreadable.
        expect(failing.minutes).toHaveBeenCalledTimes(3);
        const unread = withMeasuredDispersions({ ...DEFAULT_SCHEDULE, gates: { tokens: { tolerancePercent: 10, detectFactor: 1.3 } } }, history);
        expect(unread.schedule.errorDispersion).toBe(1);
        expect(unread.schedule.gates.tokens!.dispersion).toBe(1000);
        expect(unread.lines).toEqual([
            "stable's last 3 hours are unreadable (Throttling): each dispersion not set is its fallback",
            "dispersion of 5xx: 1, too few events in stable's last 3 hours to measure (50 over 30 minutes needed), so as independent events",
            "dispersion of tokens-per-answer: 1000, too few events in stable's last 3 hours to measure (50 over 30 minutes needed), so a conservative value for tokens per answer",
        ]);
    });
});
