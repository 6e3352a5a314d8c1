/**
 * The GitHub delivery channel: the sealed credential is posted once as a
 * comment on the pull request that added the session (through Octokit, to a
 * local stand-in for the GitHub API), received from it, and deleted at teardown.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { generateKeyPair, readPrivateKey, sealTo } from '../../src/crypto/openpgp.js';
import { seal } from '../../src/runner/delivery.js';
import { binary } from '../helpers/cli.js';
import { useGitHubRunner } from '../helpers/github-runner.js';
import { kubectl, kubectlEventually } from '../helpers/kubectl.js';
import { REPOSITORY } from '../helpers/runner-env.js';

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
    // The vendor pinned the runner's fingerprint and checks the delivery is bound to the request bytes in the repository.
    const pin = ['--runner-key', env.runnerKey.fingerprint, '--repo', env.work, '--repository', REPOSITORY];
    const rec = await binary(['receive', id, '--key', 'vendor.sec.asc', ...pin, '--from', from, '--out', `${id}.kubeconfig`], { cwd: env.root });
    expect(rec.code, rec.stderr).toBe(0);
    expect((await kubectlEventually(join(env.root, `${id}.kubeconfig`), 'get', 'secrets', '-A')).ok).toBe(true);
    expect((await runner()).code).toBe(0);
    expect(comments()).toHaveLength(1);
  });

  it('refuses a forged comment, and the genuine one saved under another session', async () => {
    const from = join(env.root, 'forged');
    mkdirSync(from, { recursive: true });
    const receive = (session: string) =>
      binary(['receive', session, '--key', 'vendor.sec.asc', '--runner-key', env.runnerKey.fingerprint, '--from', from, '--out', `${session}.forged`], { cwd: env.root });
    const forged = {
      apiVersion: 'breakglass.dev/v1',
      kind: 'Credential',
      session: id,
      type: 'kubernetes-token',
      server: 'https://attacker.example',
      token: 't',
      expires: '2099-01-01T00:00:00Z',
    } as const;
    // Anyone can seal to the vendor's public key and post it as a comment.
    writeFileSync(join(from, `${id}.asc`), `<!-- breakglass-credential:${id} -->\n${await sealTo(env.vendor.publicKey, Buffer.from(JSON.stringify(forged)))}`);
    const unsigned = await receive(id);
    expect([unsigned.code, unsigned.stderr]).toEqual([1, expect.stringMatching(/^breakglass: refused DELIVERY_UNSIGNED: /)]);
    // Signed, too, by a key of the attacker's own, carried along.
    const mallory = await generateKeyPair({ name: 'mallory', email: 'mallory@example.invalid', date: new Date(Date.now() - 60_000) });
    const binding = {
      session: id,
      request: 'sha256:' + '0'.repeat(64),
      commit: '0'.repeat(40),
      repository: REPOSITORY,
      recipient: env.vendor.fingerprint,
      runner: env.runnerKey.fingerprint,
      sealed: new Date().toISOString(),
    };
    writeFileSync(join(from, `${id}.asc`), await seal(forged, env.vendor.publicKey, { signingKey: await readPrivateKey(mallory.privateKey), publicKey: mallory.publicKey }, binding));
    const signed = await receive(id);
    expect([signed.code, signed.stderr]).toEqual([1, expect.stringMatching(/^breakglass: refused DELIVERY_SIGNER_UNKNOWN: /)]);
    // The genuine comment, replayed as the delivery of another session.
    writeFileSync(join(from, 'other-session.asc'), comments()[0]!.body);
    const replayed = await receive('other-session');
    expect([replayed.code, replayed.stderr]).toEqual([1, expect.stringMatching(/^breakglass: refused DELIVERY_BINDING_MISMATCH: /)]);
    expect(existsSync(join(env.root, `${id}.forged`)) || existsSync(join(env.root, 'other-session.forged'))).toBe(false);
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
