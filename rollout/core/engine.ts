/**
 * The progressive rollout: run the plan's phases in order, each a method over the
 * rollout's explicit state. Each weight step first raises the canary's minimum task count
 * to its share of the current load and waits for those tasks to be healthy (its own
 * update, changing only the canary's scalable target; the return to a promoted stable
 * does the same for stable), then deploys the weight (an update that may change nothing
 * else), verifies it at the traffic layer, and bakes: every whole minute of metrics from
 * the first step on is judged once (`minutes.ts`), and a step ends only once everything
 * served up to its end is judged. A failure rolls back; after the last step the promotion
 * runs as explicit phases in an order that never sends a request to a version without
 * healthy tasks. Everything it touches comes in through the ports. With a paired stream
 * (`stream.ts`), the runner sends its pairs while the steps bake; each minute is judged once the
 * runner has returned its answers, its requests taken out of the live counts and its own counts
 * judged beside them. The golden set's answers at the evaluation moments are taken out of the
 * live counts the same way.
 */
import { DeployedState, MetricsSample, MinuteSample, RunnerPort } from "./ports";
import { RunnerRecord, runnerCounts } from "./stream";
import { Completeness, merge, MINUTE_MS, minuteAfter, MinuteCursor, readComplete, recentLoad, withoutRunner } from "./minutes";
import { Judge, PairedMinutes, roleOf, Verdict } from "./judge";
import { evidenceTimeout } from "./budget";
import { progressLine, versionText } from "./report";
import { EXIT_CODES, Outcome, RolloutResult, SampleRecord, StepRecord } from "./result";
import { Phase, Plan, planRollout, RolloutOptions } from "./plan";
import { capacityFor } from "./capacity";
import { JudgeLike, RolloutDeps } from "./deps";
import { endingOf, Stop } from "./failure";
import { verifyWeight, WeightHistory } from "./split";
import { Version, VERSIONS } from "../../contract/versions";
import type { EvaluationMoment } from "../../contract/outputs";

/** How a bake ended, and when the step had baked long enough with enough traffic, if it had (the minutes after are judged before it passes). */
type BakeResult = (Verdict | { kind: "timed-out"; reason: string } | { kind: "outage"; reason: string }) & { bakedAt?: number };

/** The stretch of traffic a version's capacity is sized from: the last complete minutes. */
const LOAD_MINUTES = 5;

/** Runs the rollout to an outcome. Never throws: every failure becomes an outcome with a reason. */
export async function runRollout(deps: RolloutDeps, options: RolloutOptions = {}): Promise<RolloutResult> {
    return new Rollout(deps).run(options);
}

/** One run of a rollout: the phases below share this state, and nothing else. */
class Rollout {
    private readonly startedAt: number;
    private readonly steps: StepRecord[] = [];
    private readonly samples: SampleRecord[] = [];
    private readonly events: { at: number; message: string }[] = [];
    /** What is deployed, as the last update's outputs say. */
    private deployed?: DeployedState;
    /** What the rollout is doing, published with the lease. */
    private status = "starting";
    /** The last few sample lines, published with the status so `status` shows the last verdicts. */
    private readonly recent: string[] = [];
    /** The weights in force over time, for which version may have traffic in a minute. */
    private readonly weights = new WeightHistory();
    /** Where the judged metrics end: created at the first step, then every minute is judged once. */
    private cursor?: MinuteCursor;
    /** Promotion has begun: a failure now leaves traffic on the canary rather than rolling back. */
    private promoting = false;
    private readonly judge: JudgeLike;
    private readonly completeness: Completeness;
    /** The golden set's answers at the evaluation moments, until the minutes they ended in are judged: not live traffic. */
    private evaluationAnswers: RunnerRecord[] = [];

    constructor(private readonly deps: RolloutDeps) {
        this.startedAt = deps.clock.now();
        const pairedAnswers = deps.stream?.settings.answers;
        this.judge = deps.judge ?? new Judge(deps.schedule, {}, { goldenSet: deps.golden !== undefined, ...(pairedAnswers ? { pairedAnswers } : {}) });
        const stream = deps.stream;
        this.completeness = {
            maxLagMs: deps.schedule.metricsMaxLagSeconds * 1000,
            hasShare: (version, start) => this.weights.hasShare(version, start),
            ...(stream ? { settledUntil: () => stream.settledUntil() } : {}),
        };
    }

    async run(options: RolloutOptions): Promise<RolloutResult> {
        try {
            this.deployed = await this.deps.stack.deployed();
            this.weights.inForce(this.startedAt, this.deployed.canaryWeight);
            // Planned again, under the lease: between the plan the CLI showed before its prompt and
            // now, another runner may have promoted or rolled back, and this plan is the one that runs.
            const plan = planRollout(this.deps.schedule, this.deployed, await this.deps.stack.intended(), options);
            if (plan.kind === "refuse") return this.finish("refused", plan.reason);
            if (plan.kind === "nothing") return this.finish("nothing-to-do", plan.reason);
            this.event(`plan: ${plan.summary}`);
            return await this.runPhases(plan);
        } catch (e) {
            return await this.failure(e as Error);
        }
    }

    private async runPhases(plan: Extract<Plan, { kind: "run" }>): Promise<RolloutResult> {
        let lastStep: Extract<Phase, { kind: "step" }> | undefined;
        for (const phase of plan.phases) {
            await this.checkpoint();
            switch (phase.kind) {
                case "deploy-canary":
                    this.status = "deploying the canary's settings at weight 0";
                    this.event("deploying the canary's new settings at weight 0 (only the canary's service changes)");
                    this.deployed = await this.deps.stack.deployCanary();
                    break;
                case "wait-canary":
                    await this.waitRunning("canary");
                    break;
                case "evaluate": {
                    const failed = await this.evaluate(phase.moment);
                    if (failed) return failed;
                    break;
                }
                case "step": {
                    lastStep = phase;
                    const ended = await this.step(phase);
                    if (ended) return ended;
                    break;
                }
                case "verify-canary-full":
                    this.deps.stream?.stop();
                    await this.verifyWeight(100);
                    break;
                case "promote":
                    this.promoting = true;
                    this.status = "promoting";
                    this.event("promoting: stable takes the canary's definition while the canary serves 100% (only stable's service changes)");
                    this.deployed = await this.deps.stack.promote();
                    break;
                case "wait-stable":
                    this.promoting = true;
                    await this.waitRunning("stable");
                    break;
                case "return-to-stable":
                    await this.sizeFor("stable", 100);
                    this.event("returning traffic to the promoted stable (canaryWeight 0)");
                    await this.setWeight(0);
                    return this.finish("promoted", `every step passed; stable runs the canary's definition and serves all traffic${await this.releaseAll()}`);
            }
        }
        return this.finish("paused", `stopped after step ${lastStep?.index} at ${this.deployed!.canaryWeight}% as asked`);
    }

    // ----- phases -----

    /** Runs the stack's evaluation (its image's task, then its golden set, as it declares them); returns the outcome when it failed. */
    private async evaluate(moment: EvaluationMoment): Promise<RolloutResult | undefined> {
        // A canary that rests at zero tasks runs one for its evaluation.
        await this.raiseTo("canary", 1, "its evaluation");
        const weight = this.deployed!.canaryWeight;
        const when = { beforeTraffic: "before it gets traffic", eachStep: `after the ${weight}% step`, beforePromotion: "before the promotion" }[moment];
        this.status = `running the evaluation ${when}`;
        this.event(`running the evaluation against the canary (pinned), ${when}`);
        const waiting = { signal: this.deps.signal, heartbeat: () => this.checkpoint() };
        const task = await this.deps.services.evaluate(waiting);
        await this.checkpoint();
        if (task && task.exitCode !== 0) {
            if (weight > 0) return this.rollback(`the evaluation ${when} failed (${task.reason})`);
            return this.finish("failed", `the evaluation failed (${task.reason}); the canary got no traffic${await this.releaseAll()}`);
        }
        if (task) this.event(`the evaluation task passed (${task.reason})`);
        if (!this.deps.golden) return undefined;
        const found = await this.deps.golden.comparison.evaluate(this.recording(this.deps.golden.runner), waiting);
        await this.checkpoint();
        this.event(`golden set ${when}: ${found.reason}`);
        if (found.verdict !== "rejected") return undefined;
        return this.rollback(`the golden set ${when}: ${found.reason}${weight === 0 ? "; the canary got no traffic" : ""}`);
    }

    /** One weight step: capacity, the weight, the bake. Returns the outcome when the step ends the rollout. */
    private async step(phase: Extract<Phase, { kind: "step" }>): Promise<RolloutResult | undefined> {
        const { schedule } = this.deps;
        const record: StepRecord = { index: phase.index, weight: phase.weight, startedAt: this.deps.clock.now() };
        this.steps.push(record);
        this.event(`step ${phase.index || "(resumed)"}/${schedule.steps.length}: canaryWeight ${phase.weight}`);
        await this.sizeFor("canary", phase.weight);
        // Judging starts as the first step's weight moves; from then on every minute is judged once.
        this.cursor ??= new MinuteCursor(this.deps.metrics, this.deps.clock.now(), this.completeness);
        await this.setWeight(phase.weight);
        const { bakedAt, ...result } = await this.bake(phase, this.deps.clock.now());
        record.endedAt = this.deps.clock.now();
        if (bakedAt !== undefined) record.bakedAt = bakedAt;
        if (result.kind === "outage" || result.kind === "timed-out") {
            // Neither shows the canary good or bad: the stack's policy for each says whether to roll back or hold.
            record.verdict = { kind: "inconclusive", reason: result.reason };
            const reason = `${result.reason} at ${phase.weight}%`;
            if ((result.kind === "outage" ? schedule.onMetricsOutage : schedule.onLowTraffic) === "rollback") return this.rollback(reason);
            return this.finish("held", `${reason}; holding at ${phase.weight}% (rerun to continue)`);
        }
        record.verdict = result;
        if (result.kind === "fail") return this.rollback(`step ${phase.index || "(resumed)"} at ${phase.weight}%: ${result.reason}`);
        return undefined;
    }

    /**
     * Bakes a step: judges every minute as it becomes complete. The step passes once it has
     * been at its weight for `bakeSeconds` with `minRequests` canary requests judged, and
     * then only once every minute up to that moment is judged too, so nothing the canary
     * served at this weight goes unjudged before the next weight or the promotion.
     */
    private async bake(step: { index: number; weight: number }, stepStart: number): Promise<BakeResult> {
        const { schedule, clock } = this.deps;
        const bakeMs = schedule.bakeSeconds * 1000;
        const role = roleOf(step.weight, schedule.steps);
        this.judge.newStep(role);
        let canaryRequests = 0;
        let outageSince: number | undefined;
        let passedAt: number | undefined;
        for (;;) {
            this.status = `step ${step.index || "(resumed)"} at ${step.weight}%: ${passedAt === undefined ? "baking" : "judging the last minutes of the step"}`;
            this.deps.stream?.tick(clock.now());
            await this.wait(schedule.sampleSeconds * 1000);
            const read = await readComplete(
                this.cursor!,
                this.deps.metrics,
                () => this.deps.clock.now(),
                (ms) => this.wait(ms),
                (line) => this.deps.log(line),
            );
            if (read === undefined) {
                outageSince ??= clock.now();
                if (clock.now() - outageSince >= schedule.metricsOutageSeconds * 1000) {
                    return { kind: "outage", reason: `metrics unreadable for ${Math.round((clock.now() - outageSince) / 1000)} s` };
                }
                continue;
            }
            outageSince = undefined;
            // The canary's first minutes of traffic (this run's first step) are its warm-up: judged apart, by the absolute limit alone.
            const warmEnd = this.steps.length === 1 ? stepStart + schedule.warmupSeconds * 1000 : -Infinity;
            for (const part of [read.minutes.filter((m) => m.start < warmEnd), read.minutes.filter((m) => m.start >= warmEnd)]) {
                if (part.length === 0) continue;
                const { live, paired } = this.separate(part);
                const sample = merge(live, read.firingAlarms);
                canaryRequests += sample.versions.canary.requests + (paired?.sample.versions.canary.requests ?? 0);
                const verdict = this.observe(step, stepStart, sample, read.late, part[0].start < warmEnd, paired);
                if (verdict.kind === "fail") return { ...verdict, bakedAt: passedAt };
            }
            const now = clock.now();
            const baked = now - stepStart >= bakeMs;
            const enoughTraffic = canaryRequests >= schedule.minRequests;
            // Only the last step before 100% must show the canary within tolerance: the rollout's acceptance is decided while stable serves traffic.
            const acceptance = role === "last" ? this.judge.acceptance() : { accepted: true, reason: "" };
            if (passedAt === undefined && baked && enoughTraffic && acceptance.accepted) passedAt = now;
            if (passedAt !== undefined && this.cursor!.next >= minuteAfter(passedAt)) return { kind: "pass", bakedAt: passedAt };
            if (passedAt !== undefined) continue;
            if (!enoughTraffic && now - stepStart >= bakeMs + schedule.trafficWaitSeconds * 1000) {
                return {
                    kind: "timed-out",
                    reason: `not enough canary traffic after ${schedule.bakeSeconds + schedule.trafficWaitSeconds} s: the canary served ${canaryRequests} requests judged at this step; ${schedule.minRequests} needed to pass`,
                };
            }
            if (enoughTraffic && now - stepStart >= bakeMs + schedule.evidenceWaitSeconds * 1000) {
                return { kind: "timed-out", reason: evidenceTimeout(schedule, acceptance.reason) };
            }
        }
    }

    /** The runner, keeping each answer that says when it ended: its minute's live counts leave it out. */
    private recording(runner: RunnerPort): RunnerPort {
        return {
            answer: async (items, waiting) => {
                const pairs = await runner.answer(items, waiting);
                for (const pair of pairs)
                    for (const version of VERSIONS) {
                        const { doneAt, ...answer } = pair[version];
                        if (doneAt !== undefined) this.evaluationAnswers.push({ version, answer: { ...answer, doneAt } });
                    }
                return pairs;
            },
        };
    }

    /**
     * Complete minutes as the judge takes them: live traffic, less the runner's requests (the
     * stream's, and the golden set's at the evaluation moments); with a stream, its own counts and
     * verdicts beside them.
     */
    private separate(minutes: MinuteSample[]): { live: MinuteSample[]; paired?: PairedMinutes } {
        const { stream, golden } = this.deps;
        const counting = stream?.settings ?? golden?.counting;
        const records = [...(stream?.records() ?? []), ...this.evaluationAnswers];
        if (!counting || (!stream && records.length === 0)) return { live: minutes };
        const end = minutes.at(-1)!.start + MINUTE_MS;
        const live = minutes.map((m) => {
            const runner = runnerCounts(records, counting, m.start, m.start + MINUTE_MS);
            return {
                start: m.start,
                versions: { stable: withoutRunner(m.versions.stable, runner.stable), canary: withoutRunner(m.versions.canary, runner.canary) },
            };
        });
        this.evaluationAnswers = this.evaluationAnswers.filter((r) => r.answer.doneAt >= end);
        if (!stream) return { live };
        const paired = {
            sample: merge(
                minutes.map((m) => ({ start: m.start, versions: stream.counts(m.start, m.start + MINUTE_MS) })),
                [],
            ),
            outcomes: stream.outcomes(minutes[0].start, end),
        };
        stream.forget(end);
        return { live, paired };
    }

    /** Judges newly complete minutes and prints a line. */
    private observe(
        step: { index: number; weight: number },
        stepStart: number,
        sample: MetricsSample,
        late: number,
        warmup: boolean,
        paired?: PairedMinutes,
    ): Verdict {
        const verdict = this.judge.observe(sample, warmup, paired);
        const evidence = this.judge.standing();
        this.samples.push({
            at: this.deps.clock.now(),
            step: step.index,
            weight: step.weight,
            sample,
            verdict,
            evidence,
            ...(late ? { late } : {}),
            ...(paired ? { paired: paired.sample } : {}),
        });
        const pairedNote = paired
            ? ` | paired stream: stable ${versionText(paired.sample.versions.stable)}, canary ${versionText(paired.sample.versions.canary)}`
            : "";
        const lateNote =
            pairedNote +
            (warmup ? " | warm-up: judged by the absolute limit only" : "") +
            (late ? ` | ${late} minute(s) judged ${this.deps.schedule.metricsMaxLagSeconds} s late with what had arrived` : "");
        const line = progressLine(step, this.deps.schedule.steps.length, sample, verdict, Math.max(0, sample.window.end - stepStart), evidence) + lateNote;
        this.deps.log(line);
        this.recent.push(line);
        if (this.recent.length > 5) this.recent.shift();
        return verdict;
    }

    /**
     * Before a version's share grows to `share` percent: raise its minimum task count to that
     * share of the current load, and wait until that many of its tasks are healthy. Never
     * lowered mid-rollout.
     */
    private async sizeFor(version: Version, share: number): Promise<void> {
        const scaling = this.deployed?.scaling?.[version];
        if (!scaling) return;
        let perMinute: number | undefined;
        try {
            perMinute = await recentLoad(this.deps.metrics, this.deps.clock.now(), LOAD_MINUTES, this.completeness);
        } catch (e) {
            this.deps.log(`reading the load failed: ${(e as Error).message}`);
        }
        if (perMinute === undefined) {
            this.event(`the current load is unreadable, so the ${version} keeps its minimum of ${scaling.minCount} tasks (autoscaling still follows its load)`);
            return;
        }
        // A paired stream's requests are in the load read, one of each pair per version whatever the weight: out of the share, and onto the canary while it sends them.
        const paired = (this.deps.stream?.settings.ratePerSecond ?? 0) * 60;
        const live = Math.max(0, perMinute - 2 * paired);
        const pinned = version === "canary" ? paired : 0;
        const load = `${share}% of ${Math.round(live)} requests a minute${pinned ? ` and the runner's ${Math.round(pinned)}` : ""}`;
        const { count, capped } = capacityFor(live, share, scaling, pinned);
        if (capped) this.event(`${load} needs more ${version} tasks than its maxCount (${scaling.maxCount}); going ahead with ${count}`);
        await this.raiseTo(version, count, load);
    }

    /** Raises a version's minimum task count (never lowers it) and waits until that many of its tasks are healthy. */
    private async raiseTo(version: Version, count: number, why: string): Promise<void> {
        const scaling = this.deployed?.scaling?.[version];
        if (!scaling || count <= scaling.minCount) return;
        this.status = `raising the ${version}'s minimum task count to ${count}`;
        this.event(`raising the ${version}'s minimum task count from ${scaling.minCount} to ${count} for ${why} (only its scalable target changes)`);
        this.deployed = await this.deps.stack.setMinCount(version, count);
        this.status = `waiting for ${count} healthy ${version} tasks`;
        const progress = (line: string) => {
            this.status = line;
            this.deps.log(line);
        };
        const arn = this.deployed.versions[version].taskDefinitionArn;
        await this.deps.services.waitHealthy(version, arn, count, { signal: this.deps.signal, heartbeat: () => this.checkpoint(), progress });
        await this.checkpoint();
        this.event(`${count} ${version} tasks are healthy`);
    }

    private async waitRunning(version: Version): Promise<void> {
        const arn = this.deployed!.versions[version].taskDefinitionArn;
        this.status = `waiting for ECS to run ${version} ${arn}`;
        this.event(`waiting until ECS runs the ${version} version's deployed revision (${arn.split("/").pop()}) in a completed deployment`);
        // A model can take most of an hour to load: the lease is renewed, and an abort heard, meanwhile.
        await this.deps.services.waitRunning(version, arn, { signal: this.deps.signal, heartbeat: () => this.checkpoint() });
        await this.checkpoint();
    }

    // ----- the split -----

    private async setWeight(weight: number): Promise<void> {
        this.status = `setting canaryWeight ${weight}`;
        if (this.deployed?.canaryWeight !== weight) await this.moveSplit(weight);
        await this.verifyWeight(weight);
        this.event(`canaryWeight ${weight} deployed and verified at the traffic layer`);
        // A graph, not a gate: a failed publish is said and the rollout goes on.
        await this.deps.weights?.publish(weight).catch((e) => this.deps.log(`could not publish the weight to CloudWatch: ${(e as Error).message}`));
    }

    /** Deploys a weight, noting that either weight may be in force until it is verified. */
    private async moveSplit(weight: number): Promise<void> {
        this.weights.moving(this.deps.clock.now(), this.deployed?.canaryWeight ?? 0, weight);
        this.deployed = await this.deps.stack.setWeight(weight);
    }

    /** Waits until the traffic layer applies `weight`; from then on it alone is in force. */
    private async verifyWeight(weight: number): Promise<void> {
        await verifyWeight(this.deps.traffic, this.deps.clock, weight, this.deps.signal);
        this.weights.inForce(this.deps.clock.now(), weight);
    }

    // ----- endings -----

    /** Once the rollout is done with a version's share, its minimum goes back to its resting value; says what stayed if that failed. */
    private async release(version: Version): Promise<string> {
        const scaling = this.deployed?.scaling?.[version];
        if (!scaling || scaling.minCount === scaling.restingMinCount) return "";
        try {
            this.event(`returning the ${version}'s minimum task count from ${scaling.minCount} to ${scaling.restingMinCount}`);
            this.deployed = await this.deps.stack.setMinCount(version, undefined);
            return "";
        } catch (e) {
            return `; the ${version}'s minimum task count stays at ${scaling.minCount} (${(e as Error).message}), which the next run returns to ${scaling.restingMinCount}`;
        }
    }

    private async releaseAll(): Promise<string> {
        return (await this.release("canary")) + (await this.release("stable"));
    }

    private async rollback(reason: string): Promise<RolloutResult> {
        this.deps.stream?.stop();
        this.event(`rolling back: ${reason}`);
        try {
            await this.moveSplit(0);
            await this.verifyWeight(0);
        } catch (e) {
            return this.finish("failed", `${reason}; the rollback failed too: ${(e as Error).message}`);
        }
        return this.finish("rolled-back", `${reason}${await this.releaseAll()}`);
    }

    /** What an error means at the point it happened. */
    private async failure(e: Error): Promise<RolloutResult> {
        const ending = endingOf(e, { aborted: !!this.deps.signal?.aborted, promoting: this.promoting, weight: this.deployed?.canaryWeight });
        return ending.kind === "rollback" ? this.rollback(ending.reason) : this.finish(ending.outcome, ending.reason);
    }

    private finish(outcome: Outcome, reason: string): RolloutResult {
        this.deps.stream?.stop();
        this.event(`${outcome}: ${reason}`);
        const { startedAt, steps, samples, events } = this;
        return {
            outcome,
            reason,
            exitCode: EXIT_CODES[outcome],
            startedAt,
            endedAt: this.deps.clock.now(),
            finalWeight: this.deployed?.canaryWeight,
            steps,
            samples,
            events,
        };
    }

    // ----- time, the lease and the log -----

    private event(message: string): void {
        this.events.push({ at: this.deps.clock.now(), message });
        this.deps.log(message);
        this.deps.notify?.(message);
    }

    /** Stops here when a signal arrived or someone asked to abort; keeps the lease alive. */
    private async checkpoint(): Promise<void> {
        if (this.deps.signal?.aborted) throw new Stop();
        const reply = await this.deps.control?.heartbeat([this.status, ...this.recent].join("\n"));
        if (reply?.abortRequestedBy) throw new Stop(reply.abortRequestedBy);
    }

    private async wait(ms: number): Promise<void> {
        await this.deps.clock.sleep(ms, this.deps.signal);
        await this.checkpoint();
    }
}
