/** The runner fixture lives in src/dev so the benchmarks (plain JS over lib/) can use it too. */
export { RunnerEnv, REPOSITORY, type SessionOptions } from '../../src/dev/runner-fixture.js';
