import { defineConfig } from 'vitest/config';

/**
 * `npm run test:unit`: every test that needs no API server, no Chromium and
 * no network. The rule is the folder: tests under test/integration/ need one
 * of those (they get them from vitest.config.ts's global setups); every other
 * test/*.test.ts needs none, and runs here without starting etcd, the API
 * server or a browser (docs/local-environment.md).
 */
export default defineConfig({
  test: {
    include: ['test/*.test.ts'],
    // The private TMPDIR and its sweep, and Node's compile cache: no cluster, no Chromium.
    globalSetup: ['test/setup/sweep.ts', 'test/setup/node-cache.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    minWorkers: 1,
    // Test files share a worker's module graph instead of importing src/ and
    // its dependencies afresh each (about half the CPU of the small files).
    // Safe while no test mocks modules, stubs globals or changes process
    // state (cwd, env, umask): none does.
    isolate: false,
  },
});
