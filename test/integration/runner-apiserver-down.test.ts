/**
 * The API server goes away in the middle of a teardown (a private cluster,
 * so stopping it disturbs no other test). The runner keeps looping, and
 * completes the teardown, the revocation proof and the record once it returns.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kube } from '../../src/adapters/kubernetes.js';
import { SESSION_LABEL } from '../../src/core/plan.js';
import { startLocalCluster, type LocalCluster } from '../../src/dev/local-cluster.js';
import { MarkerStore } from '../../src/runner/marker.js';
import { BIN, NODE } from '../helpers/cli.js';
import { RunnerEnv } from '../helpers/runner-env.js';

async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('when the API server stops during teardown', () => {
  let cluster: LocalCluster;
  let env: RunnerEnv;
  beforeAll(async () => {
    cluster = await startLocalCluster();
    env = await new RunnerEnv(cluster).setup();
  });
  afterAll(async () => {
    await env?.cleanup();
    await cluster?.stop();
  });

  it('completes the teardown after the API server returns', async () => {
    const id = 'apiserver-down';
    await env.addSession(id, { privilege: 'cluster-admin', duration: '20m' });
    expect((await env.runner()).code).toBe(0);
    env.endSession(id);

    let log = '';
    const child = spawn(NODE, [BIN, 'runner', '--config', env.configFile], { env: { ...process.env, BREAKGLASS_RUNNER_ID: 'runner-a' } });
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await until('teardown to start', () => log.includes(`session ${id}: tearing down`));
      await cluster.stopApiServer();
      await until('a failed attempt while the API server is down', () => /will retry next loop/.test(log.slice(log.indexOf('tearing down'))));
      await cluster.startApiServer();
      await until('the session to end', () => log.includes(`session ${id}: ended`));
      await until('the record to be pushed', () => log.includes(`record ${id}: pushed`));
    } finally {
      child.kill('SIGTERM');
    }
    const kube = new Kube(env.admin());
    expect(await kube.listOwned(env.namespace, `${SESSION_LABEL}=${id}`)).toEqual([]);
    expect((await new MarkerStore(kube, env.namespace).get(id))?.state.phase).toBe('ended');
    expect(env.remoteFile(`sessions/${id}/record.yaml`)).toMatch(/outcome: ended[\s\S]*result: unauthenticated/);
  });
});
