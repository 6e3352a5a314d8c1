import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Teardowns run in reverse: the sweep (private TMPDIR, leftovers removed and reported) runs last.
    globalSetup: ['test/setup/sweep.ts', 'test/setup/node-cache.ts', 'test/setup/chromium.ts', 'test/setup/global-cluster.ts'],
    // Real git, gpg and an API server: give each test room, but never assert on time.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: run files in parallel, but not so many that the API server starves.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
