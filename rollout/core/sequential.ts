/**
 * Anytime-valid sequential tests (mixture sequential probability ratio tests, as in
 * Lindon, Sanden and Shirikian, "Rapid Regression Detection in Software Deployments
 * through Sequential Testing", KDD 2022). Each accumulates likelihood ratios averaged
 * over a grid of alternatives: a nonnegative supermartingale with initial value 1 while
 * the null holds, so by Ville's inequality it ever reaches 1/alpha with probability at
 * most alpha, and checking after every sample does not inflate the false-rollback rate.
 *
 * A canary can be fine at 5% and fail only under load at 50%: evidence carried from the
 * quiet steps would then have to be climbed back first. So each test also averages over
 * *when* it started: half the weight on the test from the first step, which gathers the
 * most evidence against a canary that is bad throughout, and the other half shared by one
 * component per later step, each 1 until its step begins. A weighted average of test
 * supermartingales, weights fixed in advance, is one itself, so the guarantee holds, and a
 * regression that starts at a later step is judged on that step's data.
 */

/** Alternatives to the null's boundary value, as multiples of it: the mixture's grid. */
const MULTIPLES = [1.25, 1.5, 2, 3, 5, 10];

/** log of the weighted mean of exp(xs); weights sum to 1. */
const logMeanExp = (xs: number[], weights: number[]) => {
    const max = Math.max(...xs);
    return max + Math.log(xs.reduce((sum, x, i) => sum + weights[i] * Math.exp(x - max), 0));
};

abstract class MixtureTest {
    /** Per started component (the first, then one per `restart`), the log likelihood ratio of each alternative. */
    private readonly components: number[][] = [];

    /**
     * @param starts how many components there will be at most (the steps of a rollout), fixed
     * before any data: those not started yet count as 1.
     */
    /** Each alternative's weight in the mixture, fixed in advance: a mixture of martingales with fixed weights is one too. */
    private readonly weights: number[];

    constructor(
        protected readonly alternatives: number[],
        readonly alpha: number,
        private readonly starts = 1,
        weights?: number[],
    ) {
        this.weights = weights ?? alternatives.map(() => 1 / alternatives.length);
        this.restart();
    }

    /** Starts a component here (a new step): it judges only what comes next. */
    restart(): void {
        if (this.components.length < this.starts) this.components.push(this.alternatives.map(() => 0));
    }

    protected add(logRatio: (alternative: number) => number): void {
        const step = this.alternatives.map(logRatio);
        for (const component of this.components) step.forEach((x, i) => (component[i] += x));
    }

    /** The e-value: how many times likelier the data are under a regression than under the null. */
    get evidence(): number {
        const values = this.components.map((c) => Math.exp(logMeanExp(c, this.weights)));
        if (this.starts === 1) return values[0];
        const later = 0.5 / (this.starts - 1);
        const pending = this.starts - this.components.length;
        return 0.5 * values[0] + later * (values.slice(1).reduce((a, b) => a + b, 0) + pending);
    }

    get threshold(): number {
        return 1 / this.alpha;
    }

    get rejected(): boolean {
        return this.evidence >= this.threshold;
    }
}

/**
 * Is the canary's rate of some event (5xx answers, slow requests) more than `ratio`
 * times stable's? Given the events both versions had in a window, the canary's share of
 * them is binomial, with probability `r·nc / (r·nc + ns)` when its rate is r times
 * stable's (nc, ns: each version's requests): a question the traffic split cannot bias.
 * A window with no stable traffic carries no evidence either way.
 */
export class RateRatioTest extends MixtureTest {
    /**
     * @param focus a regression that must be caught (the configured detect factor, as a rate
     * ratio): half the mixture's weight sits on it, so against a regression of that size the
     * test is nearly as quick as a test that knew it (ln 2 more evidence), and the grid keeps
     * it quick on larger ones.
     */
    constructor(
        readonly ratio: number,
        alpha: number,
        starts = 1,
        focus?: number,
    ) {
        const grid = MULTIPLES.map((m) => m * ratio);
        super(focus ? [focus, ...grid] : grid, alpha, starts, focus ? [0.5, ...grid.map(() => 0.5 / grid.length)] : undefined);
    }

    observe(canary: { events: number; requests: number }, stable: { events: number; requests: number }): void {
        if (canary.requests === 0 || stable.requests === 0 || canary.events + stable.events === 0) return;
        const share = (r: number) => (r * canary.requests) / (r * canary.requests + stable.requests);
        const q0 = share(this.ratio);
        this.add((r) => {
            const q = share(r);
            return canary.events * Math.log(q / q0) + stable.events * Math.log((1 - q) / (1 - q0));
        });
    }
}

/**
 * Is the canary's rate of an event above `limit`, whatever stable does? Each request is
 * a Bernoulli trial. This one still judges when stable serves nothing (the last step).
 */
export class RateLimitTest extends MixtureTest {
    constructor(
        readonly limit: number,
        alpha: number,
        starts = 1,
    ) {
        super(
            MULTIPLES.map((m) => m * limit).filter((p) => p < 1),
            alpha,
            starts,
        );
    }

    observe(events: number, requests: number): void {
        if (requests === 0) return;
        const p0 = this.limit;
        this.add((p) => events * Math.log(p / p0) + (requests - events) * Math.log((1 - p) / (1 - p0)));
    }
}

/**
 * Is the canary's rate of events per trial (tokens per answer) above `limit`, whatever stable
 * does? Its events in a window are Poisson with mean rate x trials (in units of its
 * dispersion), so each alternative's log likelihood ratio is `events·ln(λ/λ0) - trials·(λ - λ0)`.
 * The same as `RateLimitTest`, for a count that is not a share of its trials.
 */
export class CountLimitTest extends MixtureTest {
    constructor(
        readonly limit: number,
        alpha: number,
    ) {
        super(
            MULTIPLES.map((m) => m * limit),
            alpha,
        );
    }

    observe(events: number, trials: number): void {
        if (trials === 0) return;
        const l0 = this.limit;
        this.add((l) => events * Math.log(l / l0) - trials * (l - l0));
    }
}

/**
 * Evidence that the canary is *not* as bad as a regression that must be caught: Wald's
 * sequential probability ratio of "its rate is `p0`" over "its rate is `p1`" (p1 > p0), on
 * the canary's own requests, each a Bernoulli trial. Per trial its expectation is linear in
 * the canary's true rate and 1 at p1, so while the rate is p1 or more the ratio is a
 * nonnegative supermartingale from 1, and by Ville's inequality it ever reaches 1/beta with
 * probability at most beta: a canary at least that bad is accepted at most beta of the time,
 * however often the ratio is checked. (The reject side is the mixture tests above.) p0 and
 * p1 may change between windows, as stable's measured rate does.
 */
export class AcceptanceTest {
    private logRatio = 0;
    private reached = false;

    constructor(readonly beta: number) {}

    observe(events: number, requests: number, p0: number, p1: number): void {
        if (requests === 0 || !(p1 > p0) || p0 <= 0 || p1 >= 1) return;
        this.logRatio += events * Math.log(p0 / p1) + (requests - events) * Math.log((1 - p0) / (1 - p1));
        // Stopping at the first crossing is what the guarantee covers: acceptance, once reached, stands.
        if (this.logRatio >= Math.log(1 / this.beta)) this.reached = true;
    }

    get evidence(): number {
        return Math.exp(this.logRatio);
    }

    get threshold(): number {
        return 1 / this.beta;
    }

    get accepted(): boolean {
        return this.reached;
    }
}

/**
 * The same evidence from both versions' events, needing no estimate of stable's rate: given
 * the events both had in a window, the canary's share of them is binomial with probability
 * `r·nc / (r·nc + ns)` when its rate is r times stable's (as in `RateRatioTest`). The ratio of
 * that likelihood at `r0` (tolerated) over `r1` (to be caught) is, per window, a nonnegative
 * supermartingale whenever r ≥ r1, so it reaches 1/beta with probability at most beta. It
 * learns nothing from windows without events: a rare event needs `AcceptanceTest` and a margin.
 */
export class RatioAcceptanceTest {
    private logRatio = 0;
    private reached = false;

    constructor(
        readonly r0: number,
        readonly r1: number,
        readonly beta: number,
    ) {}

    observe(canary: { events: number; requests: number }, stable: { events: number; requests: number }): void {
        if (canary.requests === 0 || stable.requests === 0 || canary.events + stable.events === 0) return;
        const share = (r: number) => (r * canary.requests) / (r * canary.requests + stable.requests);
        const [q0, q1] = [share(this.r0), share(this.r1)];
        this.logRatio += canary.events * Math.log(q0 / q1) + stable.events * Math.log((1 - q0) / (1 - q1));
        if (this.logRatio >= Math.log(1 / this.beta)) this.reached = true;
    }

    get accepted(): boolean {
        return this.reached;
    }
}
