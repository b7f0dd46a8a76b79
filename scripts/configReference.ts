/**
 * The configuration reference (`docs/configuration.md`), generated from the schema: each
 * key's description, default and allowed values come from the same schema that validates
 * the config and from the same words its errors use, so the page cannot drift from what
 * the program accepts (a test compares the committed page with this). `npm run docs:config`
 * writes it.
 */
import { z } from "zod";
import { FieldMeta, metaOf, RuleDoc } from "../contract/fields";
import { SCHEMA_PARTS } from "../mesh/config/schema";
import { platformSchema } from "../platform/config";
import { TRAFFIC_BACKENDS } from "../contract/backends";

interface Row {
    key: string;
    /** Shown as is: a value, "unset", "required", or nothing for a section. */
    default: string;
    allowed: string;
    description: string;
}

/** A key's words and default, through the wrappers `.default()`, `.optional()` and `.transform()` add. */
function unwrap(schema: z.ZodType): { meta: FieldMeta; defaultValue?: unknown; optional: boolean } {
    let meta: FieldMeta = {};
    let defaultValue: unknown;
    let optional = false;
    let current = schema as z.ZodType;
    for (;;) {
        // The outermost words win: a key's `.describe()` says what it means where it is used.
        meta = { ...metaOf(current), ...meta };
        const def = current._zod.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown; in?: z.ZodType };
        if (def.type === "default") {
            defaultValue ??= def.defaultValue;
            current = def.innerType!;
        } else if (def.type === "optional") {
            optional = true;
            current = def.innerType!;
        } else if (def.type === "pipe" && !meta.allowed && !meta.fields) current = def.in!;
        else return { meta, defaultValue, optional };
    }
}

const code = (value: unknown) => `\`${typeof value === "string" ? value : JSON.stringify(value)}\``;
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** Rows for the keys of `shape` under `prefix`, sections expanded after their own row; `other` is the same shape with other defaults (canary beside stable). */
function rows(shape: z.ZodRawShape, prefix: string, other?: z.ZodRawShape): Row[] {
    return Object.entries(shape).flatMap(([name, schema]) => {
        const key = `${prefix}${name}`;
        const { meta, defaultValue, optional } = unwrap(schema as z.ZodType);
        const otherDefault = other?.[name] ? unwrap(other[name] as z.ZodType).defaultValue : defaultValue;
        const differs = other && JSON.stringify(otherDefault) !== JSON.stringify(defaultValue) ? ` (canary: ${code(otherDefault)})` : "";
        const shown = meta.fields ? "" : defaultValue !== undefined ? `${code(defaultValue)}${differs}` : optional ? "unset" : "required";
        const allowed = meta.mapKey ? meta.allowed! : meta.fields ? "an object of the fields below" : (meta.allowed ?? "");
        const row = { key, default: shown, allowed, description: meta.description ?? "" };
        if (!meta.fields) return [row];
        const otherFields = other?.[name] ? unwrap(other[name] as z.ZodType).meta.fields : undefined;
        return [row, ...rows(meta.fields, meta.mapKey ? `${key}.<${meta.mapKey}>.` : `${key}.`, otherFields)];
    });
}

/** Rules of every section below `shape`, with the section they belong to (canary's are stable's, listed once for both). */
function sectionRules(shape: z.ZodRawShape, prefix: string): { where: string; doc: RuleDoc }[] {
    return Object.entries(shape).flatMap(([name, schema]) => {
        const { meta } = unwrap(schema as z.ZodType);
        if (!meta.fields || name === "canary") return [];
        const where = `${prefix}${name}`.replace(/^stable/, "stable, canary");
        return [...(meta.rules ?? []).map((doc) => ({ where, doc })), ...sectionRules(meta.fields, `${where}.`)];
    });
}

function table(list: Row[]): string[] {
    return [
        "| key | default | allowed | what it does |",
        "| --- | --- | --- | --- |",
        ...list.map((r) => `| \`${r.key}\` | ${cell(r.default)} | ${cell(r.allowed)} | ${cell(r.description)} |`),
    ];
}

/** The whole page, as Markdown. */
export function configReference(): string {
    const { shared, sharedRules, backends } = SCHEMA_PARTS;
    const eachBackend = Object.entries(backends);
    const { stable, canary, rollout, ...rest } = shared;
    const fieldsOf = (schema: z.ZodType) => unwrap(schema).meta.fields!;
    const trafficBackend: Row = {
        key: "trafficBackend",
        default: "(required)",
        allowed: `one of ${TRAFFIC_BACKENDS.map((b) => `"${b}"`).join(", ")}`,
        description:
            "Which traffic layer renders the canary. New stacks use `lattice` inside a VPC, or `alb` for the service users call first (a front door); AWS discontinued App Mesh on 2026-09-30.",
    };
    const ruleRows = [
        ...sharedRules.map((r) => ({ where: "(top level)", doc: r.doc })),
        ...sectionRules(shared, ""),
        ...eachBackend.flatMap(([name, { section, rules }]) => [
            ...rules.map((r) => ({ where: `trafficBackend "${name}"`, doc: r.doc })),
            ...sectionRules({ [name]: section }, ""),
        ]),
        ...sectionRules(platformSchema.shape, "").map(({ where, doc }) => ({ where: `platform stack: ${where}`, doc })),
    ];
    return [
        "# Configuration reference",
        "",
        "<!-- Generated by `npm run docs:config` from the schema (mesh/config/, each backend's config.ts, contract/schedule.ts, platform/config.ts); do not edit by hand. -->",
        "",
        "Every key of a stack's config, under the project's namespace (`ai-inference-canary:`). Set a value with",
        "`pulumi config set KEY VALUE`, a field of a section with `pulumi config set --path section.field VALUE`.",
        "The program validates all of it before it declares any resource: one run names every problem, each with",
        "the key, the value and what is allowed, and `pulumi up` changes nothing. A key nothing reads is refused too.",
        "",
        "## Every backend",
        "",
        ...table([trafficBackend, ...rows(rest, "")]),
        "",
        "## The versions: `stable.*` and `canary.*`",
        "",
        "Both versions take the same fields; a default that differs is shown for each.",
        "",
        ...table(rows(fieldsOf(stable), "stable.", fieldsOf(canary))),
        "",
        "## The rollout: `rollout.*`",
        "",
        "Read by the rollout tool (see [the rollout](rollout.md) and [the judge](judge.md)); validated with the rest, so `pulumi preview` refuses what the rollout would refuse.",
        "",
        ...table(rows(fieldsOf(rollout), "rollout.")),
        "",
        ...eachBackend.flatMap(([name, { title, section }]) => [
            `## ${title} only: \`${name}.*\` (\`trafficBackend: ${name}\`)`,
            "",
            ...table(rows(fieldsOf(section), `${name}.`)),
            "",
        ]),
        "## The platform stack (`ai-inference-platform:*`, `platform/Pulumi.<stack>.yaml`)",
        "",
        "What the services on a platform share ([the platform](platform.md)); validated the same way, before anything is declared.",
        "",
        ...table(rows(platformSchema.shape, "")),
        "",
        "## Rules across keys",
        "",
        "Checked with the rest; each problem names the key to change.",
        "",
        "| where | reads | rule |",
        "| --- | --- | --- |",
        ...ruleRows.map(({ where, doc }) => `| ${cell(where)} | ${doc.reads.map((k) => `\`${k}\``).join(", ")} | ${cell(doc.text)} |`),
        "",
    ].join("\n");
}
