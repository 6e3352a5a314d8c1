/**
 * The whole life of a session on a real API server: approved in git ->
 * runner -> receive -> the kubeconfig works with the privilege granted and no
 * more -> end -> the token is refused -> a signed record is pushed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Kube } from '../../src/adapters/kubernetes.js';
import { SESSION_LABEL } from '../../src/core/plan.js';
import { readPublicKey, verifyDetached } from '../../src/crypto/openpgp.js';
import { markerName } from '../../src/runner/marker.js';
import { kubectl, kubectlEventually } from '../helpers/kubectl.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

describe('a session from approval to signed record', () => {
  const env = new RunnerEnv(cluster);
  const logs: string[] = [];
  beforeAll(async () => {
    await env.setup();
    await env.addSession('life-admin', { privilege: 'cluster-admin', duration: '15m' });
    await env.addSession('life-view', { privilege: 'view', duration: '30m' });
  });
  afterAll(() => env.cleanup());

  it('--dry-run prints the plans and creates nothing', async () => {
    const r = await env.runner(['--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const plans = JSON.parse(r.stdout) as { session: string; effectiveSeconds: number; objects: { kind: string; roleRef?: { name: string } }[] }[];
    expect(plans.map((p) => p.session).sort()).toEqual(['life-admin', 'life-view']);
    const admin = plans.find((p) => p.session === 'life-admin')!;
    expect(admin.effectiveSeconds).toBe(900);
    expect(admin.objects.map((o) => o.roleRef?.name ?? o.kind)).toEqual(['ServiceAccount', 'cluster-admin']);
    // Nothing in the cluster: no marker, no object of either session; nothing delivered.
    const kube = new Kube(env.admin());
    for (const id of ['life-admin', 'life-view']) {
      expect(await kube.readConfigMap(env.namespace, markerName(id))).toBeUndefined();
      expect(await kube.listOwned(env.namespace, `${SESSION_LABEL}=${id}`)).toEqual([]);
      expect(existsSync(join(env.outbox, `${id}.asc`))).toBe(false);
    }
  });

  it('activates approved sessions and delivers a sealed credential once', async () => {
    const r = await env.runner();
    logs.push(r.stderr, r.stdout);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(env.outbox, 'life-admin.asc'))).toBe(true);
    expect(existsSync(join(env.outbox, 'life-view.asc'))).toBe(true);
    for (const id of ['life-admin', 'life-view']) {
      const rec = await env.receive(id);
      expect(rec.code, rec.stderr).toBe(0);
      expect(statSync(join(env.root, `${id}.kubeconfig`)).mode & 0o777).toBe(0o600);
    }
  });

  it('grants exactly the privilege approved: cluster-admin reads secrets, view cannot write', async () => {
    const admin = join(env.root, 'life-admin.kubeconfig');
    const view = join(env.root, 'life-view.kubeconfig');
    const secrets = await kubectlEventually(admin, 'get', 'secrets', '-A');
    expect(secrets.ok, secrets.out).toBe(true);
    // The token authenticates as the session's ServiceAccount, bound to `view` and nothing else.
    // (`view` is an aggregated role: what it reads depends on the cluster's aggregation, so only refusals are asserted.)
    const binding = await kubectl(env.cluster.kubeconfig, 'get', 'clusterrolebinding', `bg-${env.namespace}-life-view`, '-o', 'jsonpath={.roleRef.name}');
    expect(binding.out).toBe('view');
    const write = await kubectl(view, 'create', 'configmap', 'nope', '-n', env.namespace);
    expect(write.ok).toBe(false);
    expect(write.out).toMatch(/forbidden/i);
    expect(write.out).toContain(`system:serviceaccount:${env.namespace}:bg-life-view`);
    expect((await kubectl(view, 'get', 'secrets', '-n', env.namespace)).out).toMatch(/forbidden/i);
  });

  it('does nothing more on the next loop: no second activation', async () => {
    const kube = new Kube(env.admin());
    const ids = ['life-admin', 'life-view'];
    const state = async () =>
      Promise.all(ids.map(async (id) => ({ marker: (await kube.readConfigMap(env.namespace, markerName(id)))?.metadata?.uid, sealed: readFileSync(join(env.outbox, `${id}.asc`), 'utf8') })));
    const before = await state();
    expect(before.every((s) => s.marker)).toBe(true);
    const r = await env.runner();
    logs.push(r.stderr);
    expect(r.code).toBe(0);
    // The same markers and the same sealed deliveries, byte for byte: nothing minted, sealed or delivered again.
    expect(await state()).toEqual(before);
  });

  it('ends on end.yaml: tears down, proves the token refused, pushes a signed record', async () => {
    const tokens = ['life-admin', 'life-view'].map((id) => env.kubeconfigToken(id));
    env.endSession('life-admin');
    env.endSession('life-view');
    const r = await env.runner();
    logs.push(r.stderr);
    expect(r.code, r.stderr).toBe(0);
    for (const [i, id] of ['life-admin', 'life-view'].entries()) {
      const after = await kubectl(join(env.root, `${id}.kubeconfig`), 'get', 'namespaces');
      expect(after.ok).toBe(false);
      expect(after.out).toMatch(/Unauthorized|must be logged in/i);
      const yamlText = env.remoteFile(`sessions/${id}/record.yaml`);
      const sig = env.remoteFile(`sessions/${id}/record.yaml.asc`);
      expect(yamlText && sig).toBeTruthy();
      await verifyDetached(Buffer.from(yamlText!), Buffer.from(sig!), [await readPublicKey(env.runnerKey.publicKey)], new Date());
      const rec = parse(yamlText!);
      expect(rec).toMatchObject({ kind: 'Record', session: id, outcome: 'ended', endReason: 'end requested', revocation: { method: 'TokenReview', result: 'unauthenticated' } });
      expect(rec.credential.sha256).toBe(`sha256:${createHash('sha256').update(tokens[i]!).digest('hex')}`);
      expect(rec.teardown.deleted.map((o: { kind: string }) => o.kind).sort()).toEqual(['ClusterRoleBinding', 'ServiceAccount']);
      expect(existsSync(join(env.outbox, `${id}.asc`))).toBe(false);
    }
    // Secrets never in git or logs.
    const history = env.remoteHistory();
    for (const t of tokens) {
      expect(history).not.toContain(t);
      for (const l of logs) expect(l).not.toContain(t);
    }
  });
});
