/**
 * The GitHub delivery channel: the sealed credential is posted once as a
 * comment on the pull request that added the session (through Octokit, to a
 * local stand-in for the GitHub API), received from it, and deleted at teardown.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { binary } from '../helpers/cli.js';
import { useGitHubRunner } from '../helpers/github-runner.js';
import { kubectl, kubectlEventually } from '../helpers/kubectl.js';

const cluster = inject('cluster');

describe('delivery as a pull-request comment', () => {
  const id = 'gh-delivery';
  const { env, gh, comments, runner } = useGitHubRunner(cluster, id, { privilege: 'cluster-admin', duration: '15m' });

  it('posts the sealed credential once on the pull request; receive reads the saved comment', async () => {
    const r = await runner();
    expect(r.code, r.stderr).toBe(0);
    expect(comments()).toHaveLength(1);
    expect(comments()[0]!.body).toMatch(/^<!-- breakglass-credential:gh-delivery:[0-9a-f]{32} -->[\s\S]*-----BEGIN PGP MESSAGE-----/);
    expect(comments()[0]!.body).not.toMatch(/token|eyJ/);
    // The vendor saves the comment as <id>.asc.
    const from = join(env.root, 'from-github');
    mkdirSync(from, { recursive: true });
    writeFileSync(join(from, `${id}.asc`), comments()[0]!.body);
    writeFileSync(join(env.root, 'vendor.sec.asc'), env.vendor.privateKey, { mode: 0o600 });
    const rec = await binary(['receive', id, '--key', 'vendor.sec.asc', '--from', from, '--out', `${id}.kubeconfig`], { cwd: env.root });
    expect(rec.code, rec.stderr).toBe(0);
    expect((await kubectlEventually(join(env.root, `${id}.kubeconfig`), 'get', 'secrets', '-A')).ok).toBe(true);
    expect((await runner()).code).toBe(0);
    expect(comments()).toHaveLength(1);
  });

  it('deletes the comment at teardown', async () => {
    env.endSession(id);
    const r = await runner();
    expect(r.code, r.stderr).toBe(0);
    expect(comments()).toHaveLength(0);
    expect(gh().requests.some((q) => q.method === 'DELETE' && q.status === 204)).toBe(true);
    expect((await kubectl(join(env.root, `${id}.kubeconfig`), 'get', 'namespaces')).ok).toBe(false);
  });
});
