/**
 * The TypeScript compiler, loaded on first use. `@pulumi/pulumi` requires it when it loads
 * (for its closure serializer, `runtime/closure/parseFunction.js`, which this program never
 * calls), and jest compiles every module again for each test file: about a third of a second
 * a file that renders a program. jest.config.js maps `typescript` here for the tests' modules
 * only (ts-jest's own compiler is loaded outside them).
 */
const path = require("path");

let compiler;
const load = () => (compiler ??= require(path.join(path.dirname(require.resolve("typescript/package.json")), "lib", "typescript.js")));

module.exports = new Proxy(
    {},
    {
        get: (_, key) => load()[key],
        has: (_, key) => key in load(),
        ownKeys: () => Reflect.ownKeys(load()),
        getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(load(), key),
    },
);
