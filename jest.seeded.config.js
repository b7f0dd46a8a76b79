/**
 * `npm run test:seeded`: the seeded statistical checks, too long for the fast suite: the
 * sequential tests' error rates on null data (800 runs each), every simulator scenario end
 * to end on a few seeds, and the forecast against the simulator: `*.seeded.test.ts`, beside
 * the fast tests of the same module.
 */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.seeded.test.ts"],
    transform: { "^.+\\.ts$": "ts-jest" },
    testTimeout: 60000,
    maxWorkers: "100%",
};
