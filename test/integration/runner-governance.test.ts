/**
 * The runner against the real API server, attacked by a repository writer:
 * a request naming another session's id, a session id re-used on another
 * resource after a history rewrite, a policy rolled back behind the runner's
 * back, and a corrupt policy memory. Each refusal is asserted by its code,
 * and the runner keeps serving every other session meanwhile.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { formatTime } from '../../src/core/duration.js';
import { RunnerEnv, REPOSITORY } from '../helpers/runner-env.js';

const cluster = inject('cluster');
const y = (doc: unknown) => stringify(doc, { lineWidth: 0 }).replace(/^nonce: (\w+)$/m, 'nonce: "$1"');

/** Two resources in two namespaces; the installation's claims live in the first. */
class TwoNamespaces extends RunnerEnv {
  readonly second = `${this.namespace}-b`;
  protected override policyResources(maxDuration: string): unknown[] {
    return [...super.policyResources(maxDuration), { name: 'prod-us', type: 'kubernetes', privileges: ['view', 'cluster-admin'], maxDuration, network: ['direct'] }];
  }
  protected override runnerResources(): { resources: Record<string, unknown>; extra?: Record<string, unknown> } {
    const base = super.runnerResources();
    const us = { kubeconfig: this.runnerKubeconfig, namespace: this.second, server: this.cluster.server, certificateAuthority: this.cluster.caFile };
    return { resources: { ...base.resources, 'prod-us': us }, extra: { claims: { kubeconfig: this.runnerKubeconfig, namespace: this.namespace } } };
  }
  async configMap(namespace: string, name: string): Promise<boolean> {
    return this.admin()
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace, name })
      .then(
        () => true,
        () => false,
      );
  }
  /** A session whose folder is `folder` but whose request says `metadata.id: claimed`; approved for the folder. */
  async addHostile(folder: string, claimed: string): Promise<void> {
    const digest = this.write(`sessions/${folder}/request.yaml`, this.requestYaml(claimed, {}));
    const approval = y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Approval',
      session: folder,
      request: digest,
      repository: REPOSITORY,
      approver: 'alice',
      decision: 'approve',
      signed: formatTime(Date.now() - 30_000),
      expires: formatTime(Date.now() + 3600_000),
      nonce: randomBytes(16).toString('hex'),
    });
    this.write(`sessions/${folder}/approvals/alice.yaml`, approval);
    this.write(`sessions/${folder}/approvals/alice.yaml.asc`, await this.sign(this.alice, approval));
    this.push(`hostile ${folder}`);
  }
  /** A new version of the policy, approved by alice `signedAgo` ms ago. */
  async approvePolicy(edit: (p: { spec: { resources: { name: string; privileges: string[] }[] } }) => void, signedAgo: number): Promise<string> {
    const doc = parse(readFileSync(join(this.work, 'policies/production.yaml'), 'utf8')) as Parameters<typeof edit>[0];
    edit(doc);
    const digest = this.write('policies/production.yaml', y(doc));
    const pa = y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'PolicyApproval',
      policy: 'production',
      digest,
      repository: REPOSITORY,
      approver: 'alice',
      signed: formatTime(Date.now() - signedAgo),
      nonce: randomBytes(16).toString('hex'),
    });
    this.write('policies/approvals/production/alice.yaml', pa);
    this.write('policies/approvals/production/alice.yaml.asc', await this.sign(this.alice, pa));
    this.push('policy v2');
    return digest;
  }
  /** Rewrites main: back to `commit`, then whatever `change` adds, force-pushed. */
  async rewrite(commit: string, change: () => Promise<void>): Promise<void> {
    this.git('reset', '-q', '--hard', commit);
    const push = this.push.bind(this);
    this.push = (m: string) => (this.git('add', '-A'), this.git('commit', '-q', '-m', m), this.git('push', '-q', '-f', 'origin', 'HEAD:main'));
    try {
      await change();
    } finally {
      this.push = push;
    }
  }
}

describe('the runner refuses hostile sessions and serves the others', () => {
  const env = new TwoNamespaces(cluster);
  let seeded: string;
  beforeAll(async () => {
    await env.setup();
    await env
      .admin()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: env.second } } });
    seeded = env.git('rev-parse', 'HEAD').trim();
  });
  afterAll(async () => {
    await env
      .admin()
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: env.second })
      .catch(() => undefined);
    await env.cleanup();
  });

  it("a request whose metadata.id is another session's: REQUEST_ID_MISMATCH, nothing claimed; the legitimate session activates", async () => {
    await env.addHostile('gov-hostile', 'gov-victim');
    await env.addSession('gov-legit');
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/session gov-hostile: refused: REQUEST_ID_MISMATCH/);
    expect(existsSync(join(env.outbox, 'gov-legit.asc'))).toBe(true);
    for (const id of ['gov-hostile', 'gov-victim']) {
      expect(existsSync(join(env.outbox, `${id}.asc`))).toBe(false);
      expect(await env.configMap(env.namespace, `bg-marker-${id}`)).toBe(false);
      expect(await env.configMap(env.namespace, `bg-claim-${id}`)).toBe(false);
    }
    expect(await env.configMap(env.namespace, 'bg-claim-gov-legit')).toBe(true);
  });

  it('the same id on another resource after a history rewrite: SESSION_CLAIMED, no marker in the other namespace', async () => {
    await env.addSession('gov-once');
    expect((await env.runner()).code).toBe(0);
    expect(await env.configMap(env.namespace, 'bg-marker-gov-once')).toBe(true);
    await env.rewrite(seeded, () => env.addSession('gov-once', { resource: 'prod-us' }));
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/session gov-once: refused: SESSION_CLAIMED/);
    expect(await env.configMap(env.second, 'bg-marker-gov-once')).toBe(false);
  });

  it('a policy rolled back by a history rewrite the runner saw past: POLICY_ROLLBACK from its memory', async () => {
    // v2 drops cluster-admin; the runner sees it approved and remembers it.
    const v2 = await env.approvePolicy((p) => (p.spec.resources[0]!.privileges = ['view']), 10_000);
    expect((await env.runner()).code).toBe(0);
    const memory = JSON.parse(readFileSync(join(env.state, 'policy-versions.json'), 'utf8')) as Record<string, { digest: string }>;
    expect(memory).toEqual({ 'policies/production.yaml': expect.objectContaining({ digest: v2 }) });
    // History rewritten to before v2, with a cluster-admin session that v1 (and its still-valid approval) would allow.
    await env.rewrite(seeded, () => env.addSession('gov-rollback', { privilege: 'cluster-admin' }));
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/session gov-rollback: pending: refused \(POLICY_ROLLBACK\): POLICY_ROLLBACK: /);
    expect(existsSync(join(env.outbox, 'gov-rollback.asc'))).toBe(false);
    expect(await env.configMap(env.namespace, 'bg-claim-gov-rollback')).toBe(false);
  });

  it('a corrupt policy memory: STATE_INVALID, nothing activates, but an end request is still honoured', async () => {
    writeFileSync(join(env.state, 'policy-versions.json'), '{ not json');
    await env.addSession('gov-after-corruption');
    env.endSession('gov-legit');
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/session gov-after-corruption: .*STATE_INVALID/);
    expect(existsSync(join(env.outbox, 'gov-after-corruption.asc'))).toBe(false);
    expect(env.remoteFile('sessions/gov-legit/record.yaml')).toBeDefined();
  });
});
