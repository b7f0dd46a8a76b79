/**
 * Type-checking is `tsc --noEmit`'s job (run once in .ci/run); with
 * `isolatedModules` in tsconfig.json ts-jest only transpiles, which keeps the suite fast.
 */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    // The rollout's end-to-end tests and the long seeded simulations are their own commands
    // (jest.e2e.config.js, jest.seeded.config.js).
    testPathIgnorePatterns: ["/node_modules/", "/tests/e2e/", "\\.seeded\\.test\\.ts$"],
    transform: {
        "^.+\\.ts$": "ts-jest",
    },
    testTimeout: 30000,
    // The TypeScript compiler loads only if a test's code uses it (tests/harness/lazyTypescript.js).
    moduleNameMapper: { "^typescript$": "<rootDir>/tests/harness/lazyTypescript.js" },
    // Graph tests wait on mock RPCs more than on the CPU; every core is worth a worker.
    maxWorkers: "100%",
};
