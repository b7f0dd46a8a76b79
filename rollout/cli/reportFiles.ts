/** A rollout's report, written as Markdown for people and JSON for tools, and where it went said. */
import * as fs from "fs";
import * as path from "path";
import { RolloutResult } from "../core/result";
import { renderJson, renderMarkdown, ReportContext } from "../core/report";

export function writeReports(dir: string, base: string, result: RolloutResult, title: string, context: ReportContext = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${base}.md`), renderMarkdown(result, title, context));
    fs.writeFileSync(path.join(dir, `${base}.json`), renderJson(result, title, context));
    console.log(`report: ${path.join(dir, base)}.md (and .json)`);
}
