/**
 * `rollout check`: a stack file validated exactly as the program validates it at
 * `pulumi preview`, without AWS or the Pulumi CLI, every problem named at once; a
 * service's platform reference checked against the platform's stack file in the
 * repository; and warnings (never failures) for values left from the examples.
 *
 * `secure:` values cannot be decrypted here: they are taken as set, and a problem the
 * program would find in one cannot be seen (the rule that refuses secrets in plain
 * container environment still applies, since it needs only to know the key is secret).
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { CliArgs, CliError } from "./args";
import { ConfigError, ConfigProblem, problemLines } from "../../mesh/config/errors";
import { loadStackConfig, projectKeys } from "../../mesh/config/stackConfig";
import { asWritten, CanaryConfig } from "../../mesh/config/schema";
import { joinProblems } from "../../mesh/config/platformJoin";
import { PLATFORM_PROJECT, PROJECT } from "../../contract/outputs";
import { loadPlatformConfig, PlatformConfig } from "../../platform/config";

export interface CheckResult {
    /** The file checked, relative to the project directory. */
    file: string;
    problems: ConfigProblem[];
    warnings: string[];
}

/** Values the examples carry that no real account has. */
const EXAMPLE_VALUES: [RegExp, string][] = [
    [/\b123456789012\b/, "the documentation account 123456789012: use your account's id"],
    [
        /\b(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}(\/\d+)?\b/,
        "a documentation address range (RFC 5737), which no client calls from: use your clients' networks",
    ],
    [/\bs3:\/\/(my-model-bucket|my-models)\//, "the examples' bucket: use the bucket that holds your model's files"],
    [/@sha256:(4b1f0c3a9e2d7b6c|9e8d7c6b5a4f3e2d)/, "an example digest: use your image's"],
];

/** What a stack file says, as Pulumi hands it to a program: every namespace, plain values as strings, structured ones as JSON. */
interface StackFile {
    all: Record<string, unknown>;
    /** Dotted paths (without the project prefix) of `secure:` values. */
    secrets: string[];
}

function readStackFile(file: string): StackFile {
    let doc: unknown;
    try {
        doc = yaml.load(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new Error(`${file} is not readable YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    const config = (doc as { config?: Record<string, unknown> } | undefined)?.config ?? {};
    const secrets: string[] = [];
    const all = Object.fromEntries(
        Object.entries(config).map(([key, value]) => {
            const bare = key.slice(key.indexOf(":") + 1);
            const plain = withoutSecrets(value, bare, secrets);
            return [key, typeof plain === "object" && plain !== null ? JSON.stringify(plain) : String(plain)];
        }),
    );
    return { all, secrets };
}

/** A stand-in for each `secure:` value (the program would get the decrypted text), its path noted. */
function withoutSecrets(value: unknown, at: string, secrets: string[]): unknown {
    if (typeof value !== "object" || value === null) return value;
    if (!Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value) {
        secrets.push(at);
        return SECRET_STAND_IN;
    }
    if (Array.isArray(value)) return value.map((v, i) => withoutSecrets(v, `${at}.${i}`, secrets));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v, `${at}.${k}`, secrets)]));
}

/** What the program is given in place of a `secure:` value it would have decrypted. */
const SECRET_STAND_IN = "(secret)";

/** A problem the program would see only in a value this check cannot decrypt is not one it can claim; one about the key being secret is. */
const underSecret = (secrets: string[]) => (p: ConfigProblem) => p.got !== SECRET_STAND_IN && !secrets.some((s) => p.key.startsWith(`${s}.`));

function problemsOf(validate: () => unknown, secrets: string[]): ConfigProblem[] {
    try {
        validate();
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return e.problems.filter(underSecret(secrets));
        throw e;
    }
}

/** Every value left from the examples, as `key: what to do`; `all` as Pulumi hands it over (structured values as JSON text). */
export function exampleValues(all: Record<string, unknown>): string[] {
    const found: string[] = [];
    const visit = (value: unknown, at: string) => {
        if (typeof value === "string") {
            for (const [pattern, what] of EXAMPLE_VALUES) if (pattern.test(value)) found.push(`${at}: ${JSON.stringify(value)} holds ${what}`);
        } else if (typeof value === "object" && value !== null) {
            for (const [k, v] of Object.entries(value)) visit(v, `${at}.${k}`);
        }
    };
    for (const [key, value] of Object.entries(asWritten(all))) visit(value, key);
    return found;
}

/** A service stack file (`Pulumi.<stack>.yaml` in `projectDir`), and the platform stack file its `platform` names. */
export function checkServiceStack(projectDir: string, stack: string): CheckResult[] {
    const file = `Pulumi.${stack}.yaml`;
    const { all, secrets } = readStackFile(stackFilePath(projectDir, file));
    let config: CanaryConfig | undefined;
    const problems = problemsOf(
        () =>
            (config = loadStackConfig(
                all,
                PROJECT,
                secrets.filter((s) => !s.includes(".")),
            )),
        secrets,
    );
    const results: CheckResult[] = [{ file, problems, warnings: exampleValues(projectKeys(all, PROJECT)) }];
    if (config?.platform) results[0].problems.push(...platformReferenceProblems(projectDir, config as CanaryConfig & { platform: string }, results));
    return results;
}

/** A platform stack file: `platform/Pulumi.<stack>.yaml` of the service project in `projectDir`. */
export function checkPlatformStack(projectDir: string, stack: string): CheckResult {
    return readPlatformStack(projectDir, stack).result;
}

/** A platform stack file checked, and what it declares when it has no problem. */
function readPlatformStack(projectDir: string, stack: string): { result: CheckResult; config?: PlatformConfig } {
    const file = path.join("platform", `Pulumi.${stack}.yaml`);
    const { all, secrets } = readStackFile(stackFilePath(projectDir, file));
    let config: PlatformConfig | undefined;
    const problems = problemsOf(() => (config = loadPlatformConfig(projectKeys(all, PLATFORM_PROJECT))), secrets);
    return { result: { file, problems, warnings: exampleValues(projectKeys(all, PLATFORM_PROJECT)) }, config };
}

/** The service project's directory, from it or from its platform/ (whose Pulumi.yaml names the platform project). */
export function serviceProjectDir(cwd: string): string | undefined {
    const project = path.join(cwd, "Pulumi.yaml");
    if (!fs.existsSync(project)) return undefined;
    const name = (yaml.load(fs.readFileSync(project, "utf8")) as { name?: string } | undefined)?.name;
    return name === PLATFORM_PROJECT ? path.dirname(cwd) : cwd;
}

function stackFilePath(projectDir: string, file: string): string {
    const full = path.join(projectDir, file);
    if (!fs.existsSync(full)) throw new Error(`no ${file} in ${projectDir}`);
    return full;
}

/**
 * The platform `org/project/stack` names: the platform project, a stack file for it in the
 * repository that validates, and a platform this service can join (its Lattice ports and GPU
 * pools, as that file declares them). The platform's own result joins `results`.
 */
function platformReferenceProblems(projectDir: string, config: CanaryConfig & { platform: string }, results: CheckResult[]): ConfigProblem[] {
    const [, project, stack] = config.platform.split("/");
    if (project !== PLATFORM_PROJECT)
        return [{ key: "platform", got: config.platform, expected: `a stack of the platform project, "<org>/${PLATFORM_PROJECT}/<stack>"` }];
    const file = path.join("platform", `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(path.join(projectDir, file))) {
        results[0].warnings.push(`platform: ${file} is not in this repository, so the platform ${config.platform} is not checked here`);
        return [];
    }
    const { result, config: declared } = readPlatformStack(projectDir, stack);
    results.push(result);
    if (!declared || result.problems.length > 0) return [];
    // The pools' capacity provider names exist once the platform is deployed; joining needs only their sizes.
    const gpuPools = Object.fromEntries(Object.entries(declared.gpuPools).map(([type, pool]) => [type, { ...pool, capacityProviderName: type }]));
    return joinProblems(config, { latticePorts: declared.latticePorts, gpuPools });
}

/** Validates a stack file (and the platform file a service names) as the program would; exit 1 on any problem. */
export function check(args: Extract<CliArgs, { command: "check" }>): number {
    const projectDir = serviceProjectDir(process.cwd());
    if (!projectDir) throw new CliError("run it from the project's directory (where Pulumi.yaml is), or its platform/");
    const results = args.stack !== undefined ? checkServiceStack(projectDir, args.stack) : [checkPlatformStack(projectDir, args.platform)];
    for (const { file, problems, warnings } of results) {
        if (problems.length > 0)
            console.log(
                `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}; the program would deploy nothing from it:\n${problemLines(problems)}`,
            );
        else console.log(`${file}: valid${warnings.length > 0 ? "" : ", as the program will read it"}`);
        if (warnings.length > 0)
            console.log(`  values left from the examples (warnings; replace them before deploying):\n${warnings.map((w) => `    - ${w}`).join("\n")}`);
    }
    return results.some((r) => r.problems.length > 0) ? 1 : 0;
}
