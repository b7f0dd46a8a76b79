/**
 * The layout stays one-directional. Folder by folder:
 * - `contract/` (what the program, the platform and the rollout agree on) imports none of them;
 * - the program (`index.ts`, `mesh/`) imports the contract, and neither the rollout nor the platform;
 * - the platform (`platform/`) imports the contract and the program's shared pieces;
 * - the rollout's core (`rollout/core/`: plan, engine, judge, tests, reports) imports only
 *   the contract; its adapters, simulator and commands also the program's config
 *   (`mesh/config/`) and the platform's (`platform/config.ts`), so a stack file is read as the
 *   programs read it, and nothing else of theirs.
 * And module by module: no module imports, directly or through others, a module that imports
 * it (type-only imports included, as a reader follows them too).
 */
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");

function sources(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const file = path.join(dir, entry.name);
        return entry.isDirectory() ? sources(file) : entry.name.endsWith(".ts") ? [file] : [];
    });
}

/** Each module's relative imports, resolved to files. */
function importGraph(files: string[]): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    for (const file of files) {
        const text = fs.readFileSync(file, "utf8");
        const targets = [...text.matchAll(/^import\s[^;]*?from\s+"(\.[^"]+)"/gms)].map(([, spec]) => {
            const base = path.resolve(path.dirname(file), spec);
            return fs.existsSync(`${base}.ts`) ? `${base}.ts` : path.join(base, "index.ts");
        });
        graph.set(file, targets);
    }
    return graph;
}

/** The first circle found from `start`, as the files along it, or undefined. */
function circleFrom(graph: Map<string, string[]>, start: string): string[] | undefined {
    const walk = (file: string, trail: string[]): string[] | undefined => {
        for (const next of graph.get(file) ?? []) {
            if (next === start) return [...trail, next];
            if (!trail.includes(next)) {
                const found = walk(next, [...trail, next]);
                if (found) return found;
            }
        }
        return undefined;
    };
    return walk(start, [start]);
}

const FILES = [path.join(ROOT, "index.ts"), ...["contract", "mesh", "platform", "rollout"].flatMap((d) => sources(path.join(ROOT, d)))];
const GRAPH = importGraph(FILES);

/** Where a module may import from, by the folder it is in (the first rule whose prefix matches). */
const MAY_IMPORT: [string, string[]][] = [
    ["contract/", ["contract/"]],
    ["index.ts", ["mesh/", "contract/"]],
    ["mesh/", ["mesh/", "contract/"]],
    ["platform/", ["platform/", "mesh/", "contract/"]],
    ["rollout/core/", ["rollout/core/", "contract/"]],
    ["rollout/", ["rollout/", "contract/", "mesh/config/", "platform/config.ts"]],
];

test("each folder imports only what its rule allows", () => {
    const outside: string[] = [];
    for (const [file, targets] of GRAPH) {
        const from = path.relative(ROOT, file);
        const allowed = MAY_IMPORT.find(([prefix]) => from.startsWith(prefix))![1];
        for (const target of targets.map((t) => path.relative(ROOT, t))) {
            if (!allowed.some((prefix) => target.startsWith(prefix))) outside.push(`${from} -> ${target}`);
        }
    }
    expect(outside).toEqual([]);
});

test("no import circles", () => {
    const circles = FILES.map((f) => circleFrom(GRAPH, f)).filter((c): c is string[] => c !== undefined);
    expect(circles.map((c) => c.map((f) => path.relative(ROOT, f)).join(" -> "))).toEqual([]);
});
