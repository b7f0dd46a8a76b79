/**
 * The layout stays one-directional: no module of the program or the rollout imports,
 * directly or through others, a module that imports it (type-only imports included, as a
 * reader follows them too).
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

test("no import circles in the program or the rollout", () => {
    const files = [path.join(ROOT, "index.ts"), ...["mesh", "rollout"].flatMap((d) => sources(path.join(ROOT, d)))];
    const graph = importGraph(files);
    const circles = files.map((f) => circleFrom(graph, f)).filter((c): c is string[] => c !== undefined);
    expect(circles.map((c) => c.map((f) => path.relative(ROOT, f)).join(" -> "))).toEqual([]);
});
