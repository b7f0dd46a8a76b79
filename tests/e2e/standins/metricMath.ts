/**
 * CloudWatch metric math, the part the stacks' dashboards and alarms use: numbers, series by
 * id, + - * /, comparisons, parentheses, `FILL(series, value)` and `IF(condition, a, b)`
 * (the CloudWatch User Guide, "Using metric math"). A series is evaluated at the timestamps
 * of the series it names; an arithmetic result exists only where every series it reads has a
 * value (CloudWatch leaves the others out), `FILL` gives a series a value at every timestamp
 * of the others, and division by zero gives no value.
 */
export type Series = Map<number, number>;

type Node = { num: number } | { id: string } | { op: string; left: Node; right: Node } | { fn: string; args: Node[] };

function parse(text: string): Node {
    const tokens = text.match(/\d+(\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|!=|[-+*/(),<>]/g) ?? [];
    let i = 0;
    const peek = () => tokens[i];
    const take = (expected?: string) => {
        const token = tokens[i++];
        if (expected !== undefined && token !== expected) throw new Error(`metric math: expected "${expected}" in ${text}`);
        return token;
    };
    const binary = (next: () => Node, ops: string[]) => (): Node => {
        let left = next();
        while (ops.includes(peek())) {
            const op = take();
            left = { op, left, right: next() };
        }
        return left;
    };
    const primary = (): Node => {
        const token = take();
        if (token === "(") {
            const inner = comparison();
            take(")");
            return inner;
        }
        if (token === "-") return { op: "-", left: { num: 0 }, right: primary() };
        if (/^\d/.test(token)) return { num: Number(token) };
        if (peek() === "(") {
            take("(");
            const args = [comparison()];
            while (peek() === ",") {
                take(",");
                args.push(comparison());
            }
            take(")");
            return { fn: token, args };
        }
        return { id: token };
    };
    const product = binary(primary, ["*", "/"]);
    const sum = binary(product, ["+", "-"]);
    const comparison = binary(sum, [">", "<", ">=", "<=", "==", "!="]);
    const node = comparison();
    if (i !== tokens.length) throw new Error(`metric math: cannot read ${text}`);
    return node;
}

const OPS: Record<string, (a: number, b: number) => number> = {
    "+": (a, b) => a + b,
    "-": (a, b) => a - b,
    "*": (a, b) => a * b,
    "/": (a, b) => (b === 0 ? NaN : a / b),
    ">": (a, b) => Number(a > b),
    "<": (a, b) => Number(a < b),
    ">=": (a, b) => Number(a >= b),
    "<=": (a, b) => Number(a <= b),
    "==": (a, b) => Number(a === b),
    "!=": (a, b) => Number(a !== b),
};

/** `expression` over the series by id; a constant where no series is read. */
export function evaluate(expression: string, series: Record<string, Series>): Series {
    const all = [...new Set(Object.values(series).flatMap((s) => [...s.keys()]))].sort((a, b) => a - b);
    const at = (node: Node, t: number): number | undefined => {
        if ("num" in node) return node.num;
        if ("id" in node) {
            if (!series[node.id]) throw new Error(`metric math: no query with id ${node.id}`);
            return series[node.id].get(t);
        }
        if ("op" in node) {
            const [a, b] = [at(node.left, t), at(node.right, t)];
            if (a === undefined || b === undefined) return undefined;
            const value = OPS[node.op](a, b);
            return Number.isNaN(value) ? undefined : value;
        }
        if (node.fn === "FILL") return at(node.args[0], t) ?? at(node.args[1], t);
        if (node.fn === "IF") {
            const condition = at(node.args[0], t);
            return condition === undefined ? undefined : at(node.args[condition ? 1 : 2], t);
        }
        throw new Error(`metric math: the stand-in does not compute ${node.fn}`);
    };
    const tree = parse(expression);
    const out: Series = new Map();
    for (const t of all) {
        const value = at(tree, t);
        if (value !== undefined) out.set(t, value);
    }
    return out;
}
