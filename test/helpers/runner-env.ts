/** The runner fixture (test/helpers/runner-fixture.ts), under the name the tests import it by. */
export { RunnerEnv, REPOSITORY, type SessionOptions } from './runner-fixture.js';
