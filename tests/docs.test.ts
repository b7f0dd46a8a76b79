/**
 * The docs hold: the configuration reference is what the schema generates, every relative
 * link and `#anchor` in the README and docs/ resolves (by GitHub's heading-slug rules), and
 * the README stays short.
 */
import * as fs from "fs";
import * as path from "path";
import { configReference } from "../scripts/configReference";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");
const PAGES = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)];

/** The text outside fenced code blocks, where Markdown renders links and headings. */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");

/**
 * GitHub's anchor for a heading (github-slugger): the rendered text in lower case, without
 * punctuation other than '-' and '_', spaces as '-', and '-1', '-2' for repeats.
 */
function slugs(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const [, heading] of prose(markdown).matchAll(/^#{1,6}\s+(.*)$/gm)) {
        const rendered = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replace(/`/g, "");
        const base = rendered
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
            .replace(/ /g, "-");
        const n = seen.get(base) ?? 0;
        seen.set(base, n + 1);
        out.add(n === 0 ? base : `${base}-${n}`);
    }
    return out;
}

test.each([
    ["## Quick start", "quick-start"],
    ["## The versions: `stable.*` and `canary.*`", "the-versions-stable-and-canary"],
    ["## Running it as a team does", "running-it-as-a-team-does"],
    ["## Costs (us-west-2, on-demand)", "costs-us-west-2-on-demand"],
    ["## App Mesh only: `appmesh.*` (`trafficBackend: appmesh`)", "app-mesh-only-appmesh-trafficbackend-appmesh"],
    ["## snake_case kept", "snake_case-kept"],
])("GitHub's anchor of %j is #%s", (heading, slug) => {
    expect([...slugs(heading)]).toEqual([slug]);
});

test("a repeated heading gets -1", () => {
    expect([...slugs("## Notes\n## Notes\n")]).toEqual(["notes", "notes-1"]);
});

test("docs/configuration.md is what the schema generates (npm run docs:config)", () => {
    expect(read("docs/configuration.md")).toBe(configReference());
});

test.each(PAGES)("every relative link and anchor in %s resolves", (page) => {
    const broken: string[] = [];
    for (const [, target] of prose(read(page)).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [file, anchor] = target.split("#");
        const resolved = file ? path.normalize(path.join(path.dirname(page), file)) : page;
        if (!fs.existsSync(path.join(ROOT, resolved))) broken.push(`${target}: no file ${resolved}`);
        else if (anchor !== undefined && !slugs(read(resolved)).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${resolved}`);
    }
    expect(broken).toEqual([]);
});

test("the README is short: at most 250 lines, with a page in docs/ for each concept", () => {
    expect(read("README.md").split("\n").length).toBeLessThanOrEqual(250);
    for (const page of ["getting-started", "configuration", "rollout", "traffic-backends", "compute", "scaling", "judge", "operations", "costs"]) {
        expect(read("README.md")).toContain(`(docs/${page}.md)`);
    }
});
