/** A runner that delivers through the GitHub channel to a local stand-in for the API, the session's commit being pull request #7. */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import type { ClusterInfo } from '../../src/dev/local-cluster.js';
import { FakeGitHub } from '../github-fake/server.js';
import { RunnerEnv, type SessionOptions } from './runner-env.js';

export interface GitHubRunner {
  env: RunnerEnv;
  gh(): FakeGitHub;
  /** The comments on pull request #7. */
  comments(): ReturnType<FakeGitHub['comments']['get']> & object;
  runner(): ReturnType<RunnerEnv['runner']>;
}

/** Registers beforeAll/afterAll for one approved session `id` merged from pull request #7. */
export function useGitHubRunner(cluster: ClusterInfo, id: string, session: SessionOptions): GitHubRunner {
  const env = new RunnerEnv(cluster);
  let gh: FakeGitHub;
  beforeAll(async () => {
    await env.setup();
    gh = new FakeGitHub(env.work, 'customer', 'access');
    env.delivery = { github: { tokenEnv: 'BREAKGLASS_TEST_GH_TOKEN', apiUrl: await gh.start() } };
    writeFileSync(env.configFile, env.configYaml());
    const base = env.git('rev-parse', 'HEAD').trim();
    await env.addSession(id, session);
    // The session's commit is the head of pull request #7, merged by fast-forward.
    gh.pulls.set(7, { base, head: env.git('rev-parse', 'HEAD').trim() });
  });
  afterAll(async () => {
    await gh?.stop();
    await env.cleanup();
  });
  return {
    env,
    gh: () => gh,
    comments: () => gh.comments.get(7) ?? [],
    runner: () => env.runner(['--once'], { BREAKGLASS_TEST_GH_TOKEN: 'runner-token' }),
  };
}
