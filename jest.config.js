/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
  },
  testTimeout: 30000,
  // Integration suites start real servers; two workers match the 2-core machines.
  maxWorkers: 2,
  // With --coverage (CI): what the suite's own process runs of src/ (processes it spawns are not
  // counted); below coverage-thresholds.json fails the run. scripts/coverage-ratchet.mjs raises them.
  collectCoverageFrom: ['src/**/*.ts', '!src/dashboard/**'],
  coverageReporters: ['json-summary', 'text-summary'],
  coverageThreshold: { global: require('./coverage-thresholds.json') },
};
