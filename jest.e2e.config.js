/**
 * `npm run test:e2e`: the rollout's CLI end to end, as its own process, against the
 * stand-in `pulumi` and the stand-in AWS endpoint (tests/e2e/standins/), with time run
 * faster through the clock the CLI already takes.
 */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests/e2e"],
    testMatch: ["**/*.e2e.test.ts"],
    transform: { "^.+\\.ts$": "ts-jest" },
    globalSetup: "<rootDir>/tests/e2e/build.js",
    testTimeout: 180000,
    maxWorkers: 2,
};
