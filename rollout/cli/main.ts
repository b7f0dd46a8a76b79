/**
 * The rollout's command line:
 *   rollout run --stack NAME       a progressive rollout of the stack's canary
 *   rollout status --stack NAME    what is deployed, who holds the stack, the last verdicts
 *   rollout abort --stack NAME     make the running rollout roll back at its next sample
 *   rollout guard --stack NAME     for a deploy job: refuse while a rollout runs, or when this config would undo one
 *   rollout guard --platform NAME  for a platform's deploy job (from platform/): refuse while a rollout runs on any service on it
 *   rollout simulate [SCENARIO]    the same engine on synthetic data
 *   rollout check --stack NAME     a stack file validated as the program would, without AWS or the Pulumi CLI
 *   rollout load --stack NAME      requests to both versions at a rate, from the stack's runner
 * Run it as `./scripts/rollout ...`, which keeps exit codes and signals (npm does not).
 * One file per command beside this one; `args.ts` holds the words they share.
 */
import { CliError, commandHelp, describeError, parseArgs, USAGE } from "./args";

export async function main(argv: string[]): Promise<number> {
    try {
        const args = parseArgs(argv);
        switch (args.command) {
            case "help":
                console.log(args.about ? commandHelp(args.about) : USAGE);
                return 0;
            // Each command loads what it uses: `check`, `simulate` and help start without the Pulumi and AWS SDKs.
            case "simulate":
                return await (await import("./simulate")).runSimulations(args);
            case "run":
                return await (await import("./run")).runRealRollout(args);
            case "status":
                return await (await import("./status")).status(args.stack);
            case "abort":
                return await (await import("./abort")).abort(args.stack);
            case "guard":
                return await (await import("./guard")).guard(args.stack);
            case "guard-platform":
                return await (await import("./guard")).guardPlatform(args.platform);
            case "check":
                return (await import("./check")).check(args);
            case "load":
                return await (await import("./load")).load(args);
        }
    } catch (e) {
        console.error(e instanceof CliError ? `error: ${e.message}\n${USAGE}` : `error: ${describeError(e as Error)}`);
        return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
