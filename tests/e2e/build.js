// Jest global setup for the end-to-end tests: transpiles the program, the rollout, the
// test harness and the stand-ins to .e2e-build/ once, so the CLI and the stand-in
// `pulumi` (run once per Automation API call) start as plain Node processes.
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

const root = path.join(__dirname, "..", "..");
const out = path.join(root, ".e2e-build");

function sources(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) return sources(file);
        return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [file] : [];
    });
}

module.exports = async function build() {
    const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, isolatedModules: true };
    fs.rmSync(out, { recursive: true, force: true });
    const files = [
        path.join(root, "index.ts"),
        ...["contract", "mesh", "platform", "rollout", "tests/harness", "tests/e2e/standins"].flatMap((d) => sources(path.join(root, d))),
    ];
    for (const file of files) {
        const { outputText } = ts.transpileModule(fs.readFileSync(file, "utf8"), { compilerOptions: options, fileName: file });
        const target = path.join(out, path.relative(root, file)).replace(/\.ts$/, ".js");
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, outputText);
    }
    // A service on a platform reads the committed platform stack's render (tests/harness/program.ts).
    for (const file of fs.readdirSync(path.join(root, "platform")).filter((f) => /^Pulumi\..*\.yaml$/.test(f))) {
        fs.copyFileSync(path.join(root, "platform", file), path.join(out, "platform", file));
    }
};
