/** `rollout load`: requests to both versions at a rate, for some minutes, from the stack's runner in the VPC. */
import * as fs from "fs";
import { S3Client } from "@aws-sdk/client-s3";
import { CliArgs, CliError } from "./args";
import { withStack } from "./session";
import { LambdaRunner, readGoldenSet, runnerClient } from "../adapters/golden";
import { parseGoldenSet, parseRequests } from "../../contract/golden";
import { sendLoad } from "../core/load";
import { systemClock } from "../core/ports";

export async function load(args: Extract<CliArgs, { command: "load" }>): Promise<number> {
    const { stack, region } = await withStack(args.stack);
    const outputs = await stack.outputs();
    const runner = outputs.evaluation?.goldenSet;
    if (!runner) throw new CliError(`${args.stack} has no runner: it is declared with evaluation.goldenSet (docs/evaluation.md)`);
    const parsed = args.file
        ? parseRequests(fs.readFileSync(args.file, "utf8"))
        : await readGoldenSet(new S3Client({ region }), runner.object).then((read) =>
              "text" in read ? parseGoldenSet(read.text) : { problems: [read.problem] },
          );
    if ("problems" in parsed) throw new CliError(`${args.file ?? runner.object} cannot be sent: ${parsed.problems.slice(0, 10).join("; ")}`);
    const controller = new AbortController();
    let stopping = false;
    process.on("SIGINT", () => {
        if (stopping) process.exit(130);
        stopping = true;
        console.log("SIGINT: no new minute starts; the one in flight finishes (again to quit now)");
        controller.abort();
    });
    console.log(
        `load: ${args.rps} requests a second to each version of ${args.stack} for ${args.minutes} min, ${parsed.items.length} requests in turn from ${args.file ?? runner.object}, through ${runner.functionName}`,
    );
    // Real time: the runner paces itself by the wall clock, whatever clock the rollout runs on.
    await sendLoad(new LambdaRunner(runnerClient(region), runner), parsed.items, args.rps, args.minutes, systemClock(), console.log, controller.signal);
    console.log(stopping ? "load: stopped" : "load: done");
    return stopping ? 130 : 0;
}
