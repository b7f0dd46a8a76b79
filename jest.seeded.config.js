/**
 * `npm run test:seeded`: the seeded statistical checks, too long for the fast suite: the
 * sequential tests' error rates on null data (800 runs each), and every simulator scenario
 * end to end on a few seeds.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/tests/seeded"],
  testMatch: ["**/*.seeded.test.ts"],
  transform: { "^.+\\.ts$": "ts-jest" },
  testTimeout: 60000,
  maxWorkers: "100%",
};
