/**
 * Stack config as the Pulumi CLI edits it, for the stand-in `pulumi`: the same path syntax,
 * the same typing of values set with `--path`, and the same refusals. Sources (pulumi/pulumi):
 * - `sdk/go/common/resource/properties_path.go` (`ParsePropertyPath`): `a.b`, `a[0]`,
 *   `a["b.c"]`; a segment after a dot is always a map key, so `a.0` is the key "0";
 * - `sdk/go/common/resource/config/map.go` (`adjustObjectValue`): with `--path`, "true" and
 *   "false" become booleans and a string that parses as an integer becomes one (unless it has
 *   a leading zero), so `--path x.port 8000` stores the number 8000;
 * - `sdk/go/common/resource/config/object.go` (`object.Set`): an array takes only an integer
 *   key ("key for an array must be an int"), up to one past its end; a map only a string key;
 *   a scalar below the top level cannot gain children;
 * - `config set-all --json` takes the shape `pulumi config --json` prints: a key's
 *   `objectValue`, when present, is stored as the structured value itself.
 */

export type ConfigDoc = Record<string, unknown>;

/** An error the CLI would print, exiting non-zero. */
export class ConfigCommandError extends Error {}

type Segment = string | number;

/** `ParsePropertyPath`: a key as `--path` reads it. */
export function parsePropertyPath(path: string): Segment[] {
    const segments: Segment[] = [];
    let rest = path;
    while (rest.length > 0) {
        if (rest[0] === ".") {
            if (segments.length === 0) throw new ConfigCommandError(`invalid property path "${path}": expected property name`);
            rest = rest.slice(1);
            continue;
        }
        if (rest[0] === "[") {
            const close = rest.indexOf("]");
            if (close < 0) throw new ConfigCommandError(`invalid property path "${path}": missing closing bracket`);
            const inner = rest.slice(1, close);
            if (inner.startsWith('"')) {
                const end = rest.indexOf('"]', 2);
                if (end < 0) throw new ConfigCommandError(`invalid property path "${path}": missing closing quote`);
                segments.push(rest.slice(2, end));
                rest = rest.slice(end + 2);
                continue;
            }
            if (!/^\d+$/.test(inner)) throw new ConfigCommandError(`invalid property path "${path}": invalid array index`);
            segments.push(Number(inner));
            rest = rest.slice(close + 1);
            continue;
        }
        const end = rest.search(/[.[]/);
        segments.push(end < 0 ? rest : rest.slice(0, end));
        rest = end < 0 ? "" : rest.slice(end);
    }
    return segments;
}

/** `adjustObjectValue`: the type a plain `--path` value is stored as. */
export function adjustObjectValue(value: string): unknown {
    if (value === "true") return true;
    if (value === "false") return false;
    if (value.length > 1 && value[0] === "0") return value;
    if (/^[+-]?\d+$/.test(value) && Number.isSafeInteger(Number(value))) return Number(value);
    return value;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `object.Set`: sets `value` at `path` below `container`, creating containers the path's next segment implies. */
function setAt(container: unknown, path: Segment[], value: unknown, prefix: Segment[], topLevel: boolean): unknown {
    if (path.length === 0) return value;
    const [head, ...rest] = path;
    const at = [...prefix, head];
    if (container === undefined || container === null) container = typeof head === "number" ? [] : {};
    else if (!Array.isArray(container) && !isMap(container)) {
        // COMPAT in Pulumi: a scalar at the first level is overwritten by a new container.
        if (!topLevel) throw new ConfigCommandError(`${JSON.stringify(at)}: expected ${typeof head === "number" ? "an array" : "a map"}`);
        container = typeof head === "number" ? [] : {};
    }
    if (Array.isArray(container)) {
        if (typeof head !== "number") throw new ConfigCommandError(`${JSON.stringify(at)}: key for an array must be an int`);
        if (head > container.length) throw new ConfigCommandError(`${JSON.stringify(at)}: array index out of range`);
        const next = [...container];
        next[head] = setAt(next[head], rest, value, at, false);
        return next;
    }
    if (typeof head !== "string") throw new ConfigCommandError(`${JSON.stringify(at)}: key for a map must be a string`);
    const map = container as Record<string, unknown>;
    return { ...map, [head]: setAt(map[head], rest, value, at, false) };
}

/** `config.ParseKey`: a key without a namespace belongs to the project (`canaryWeight` is `<project>:canaryWeight`). */
const qualified = (key: string, project: string) => (key.includes(":") ? key : `${project}:${key}`);

/** The top-level key and the path below it, as the CLI reads KEY with and without `--path`. */
function keyPath(key: string, isPath: boolean, project: string): [string, Segment[]] {
    const [top, ...path] = isPath ? parsePropertyPath(key) : [key];
    if (typeof top !== "string") throw new ConfigCommandError(`invalid config key "${key}"`);
    return [qualified(top, project), path];
}

/** `pulumi config set [--path] KEY VALUE`. */
export function setConfigValue(doc: ConfigDoc, key: string, value: string, isPath: boolean, project: string): ConfigDoc {
    const [top, path] = keyPath(key, isPath, project);
    if (!isPath) return { ...doc, [top]: value };
    return { ...doc, [top]: setAt(doc[top], path, adjustObjectValue(value), [top], true) };
}

/** `pulumi config rm [--path] KEY`: removing what is not there is not an error. */
export function removeConfigValue(doc: ConfigDoc, key: string, isPath: boolean, project: string): ConfigDoc {
    const [top, path] = keyPath(key, isPath, project);
    const copy = structuredClone(doc);
    if (path.length === 0) {
        delete copy[top];
        return copy;
    }
    let node: unknown = copy[top];
    for (const segment of path.slice(0, -1)) node = (node as Record<string | number, unknown> | undefined)?.[segment];
    const last = path.at(-1)!;
    if (Array.isArray(node) && typeof last === "number") node.splice(last, 1);
    else if (isMap(node)) delete node[last];
    return copy;
}

/** `pulumi config set-all --json TEXT`: each key replaced whole, structured where `objectValue` is given. */
export function setAllConfigJson(doc: ConfigDoc, json: string): ConfigDoc {
    const entries = JSON.parse(json) as Record<string, { value?: string; objectValue?: unknown; secret?: boolean }>;
    const next = { ...doc };
    for (const [key, entry] of Object.entries(entries)) {
        if (entry.secret) throw new ConfigCommandError(`the stand-in does not encrypt: ${key} is marked secret`);
        next[key] = entry.objectValue !== undefined ? entry.objectValue : entry.value;
    }
    return next;
}
