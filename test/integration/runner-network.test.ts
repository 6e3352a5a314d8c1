/**
 * Network paths through the real runner (the binary, `runner --once`): a
 * Tailscale subnet router, a Twingate connector and an allow NetworkPolicy,
 * each opened for an approved session and gone after it ends, on the real API
 * server with the Tailscale and Twingate APIs played by local fakes. Also:
 * a manifest with the wrong pin, and orphans swept by the reaper.
 */
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RawObject } from '../../src/adapters/kube-raw.js';
import { EXPIRES_ANNOTATION, MANAGED_BY, OWNER_LABEL, SESSION_LABEL } from '../../src/core/plan.js';
import { routerHostname } from '../../src/runner/providers/tailscale.js';
import { connectorName } from '../../src/runner/providers/twingate.js';
import { workloadName } from '../../src/runner/providers/workload.js';
import { tailscaleRouter, twingateConnector } from '../helpers/path-sim.js';
import { ProviderEnv } from '../helpers/provider-env.js';

const cluster = inject('cluster');
const NP = 'networking.k8s.io/v1';

describe('network paths through the runner', () => {
  const env = new ProviderEnv(cluster);
  const secrets: string[] = [];
  const run = () => env.reconcile();
  const workload = async (id: string, provider: string) => {
    const name = workloadName(id, provider);
    return { deployment: await env.raw.get('apps/v1', 'Deployment', env.namespace, name), secret: await env.raw.get('v1', 'Secret', env.namespace, name) };
  };
  const record = (id: string) => parse(env.remoteFile(`sessions/${id}/record.yaml`) ?? 'null');
  const kinds = (refs: { kind: string }[]) => refs.map((o) => o.kind).sort();

  beforeAll(() => env.setup());
  afterAll(() => env.cleanup());

  it('tailscale: an owned router with a one-use key, removed with its device and key at the end', async () => {
    const id = 'net-ts';
    await env.addSession(id, { network: 'tailscale', duration: '20m' });
    const router = tailscaleRouter(env.raw, env.tailscale, env.namespace, id);
    await run();
    router.stop();
    const { deployment, secret } = await workload(id, 'tailscale');
    for (const o of [deployment!, secret!]) expect(o.metadata.labels).toMatchObject({ [MANAGED_BY]: 'breakglass', [OWNER_LABEL]: env.namespace, [SESSION_LABEL]: id });
    const key = [...env.tailscale.keys.values()][0]!;
    expect(key.capabilities.devices.create).toMatchObject({ reusable: false, ephemeral: true, preauthorized: true });
    secrets.push(key.key, env.tailscale.apiKey);
    // The router joined with the key from the Secret, and the runner enabled exactly the approved routes.
    expect(env.tailscale.deviceNamed(routerHostname(id))).toMatchObject({ enabledRoutes: ['10.96.0.0/12'], connectedToControl: true });

    env.endSession(id);
    await run();
    expect(await workload(id, 'tailscale')).toEqual({ deployment: undefined, secret: undefined });
    expect(env.tailscale.devices.size).toBe(0);
    expect(env.tailscale.keys.size).toBe(0);
    const rec = record(id);
    expect(rec).toMatchObject({ outcome: 'ended', credential: { kind: 'kubernetes-token' }, revocation: { result: 'unauthenticated' } });
    expect(kinds(rec.teardown.deleted)).toEqual(['ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Secret', 'Secret', 'ServiceAccount', 'ServiceAccount', 'TailscaleAuthKey', 'TailscaleDevice']);
  });

  it('twingate: a connector with its tokens in an owned Secret, connector and workload deleted at the end', async () => {
    const id = 'net-tg';
    await env.addSession(id, { network: 'twingate', duration: '20m' });
    const pod = twingateConnector(env.raw, env.twingate, env.namespace, id);
    await run();
    pod.stop();
    const connector = [...env.twingate.connectors.values()][0]!;
    expect(connector.name).toBe(connectorName(id));
    secrets.push(connector.tokens!.accessToken, connector.tokens!.refreshToken, env.twingate.apiKey);
    expect((await workload(id, 'twingate')).deployment?.metadata.labels).toMatchObject({ [OWNER_LABEL]: env.namespace });

    env.endSession(id);
    await run();
    expect(await workload(id, 'twingate')).toEqual({ deployment: undefined, secret: undefined });
    expect(env.twingate.connectors.size).toBe(0);
    const rec = record(id);
    expect(rec).toMatchObject({ outcome: 'ended', credential: { kind: 'kubernetes-token' } });
    expect(kinds(rec.teardown.deleted)).toEqual(['ClusterRoleBinding', 'Deployment', 'Secret', 'ServiceAccount', 'TwingateConnector']);
  });

  it('networkpolicy: the pinned manifest applied as written (from and ports kept) in its namespace, deleted at the end', async () => {
    const id = 'net-np';
    await env.addSession(id, { network: 'networkpolicy', duration: '20m' });
    await run();
    const applied = await env.raw.get(NP, 'NetworkPolicy', env.appNamespace, `bg-${id}`);
    expect(applied!.metadata.labels).toMatchObject({ [OWNER_LABEL]: env.namespace, [SESSION_LABEL]: id });
    expect(applied!.spec).toMatchObject({ ingress: [{ from: [{ ipBlock: { cidr: '100.64.0.0/10' } }], ports: [{ protocol: 'TCP', port: 8443 }] }] });

    env.endSession(id);
    await run();
    expect(await env.raw.get(NP, 'NetworkPolicy', env.appNamespace, `bg-${id}`)).toBeUndefined();
    const rec = record(id);
    expect(rec.teardown.deleted).toContainEqual(expect.objectContaining({ kind: 'NetworkPolicy', namespace: env.appNamespace, name: `bg-${id}` }));
  });

  it('a manifest whose bytes are not the pinned ones fails closed: nothing created, the session recorded failed', async () => {
    const id = 'net-badpin';
    await env.addSession(id, { resource: 'bad-pin', network: 'networkpolicy', duration: '20m' });
    const r = await run();
    expect(r.stderr).toMatch(new RegExp(`session ${id}: activation failed at network: .*pins`));
    expect(await env.raw.listAllNamespaces(NP, 'NetworkPolicy', `${SESSION_LABEL}=${id}`)).toEqual([]);
    expect(await env.raw.list('v1', 'ServiceAccount', env.namespace, `${SESSION_LABEL}=${id}`)).toEqual([]);
    expect(record(id)).toMatchObject({ outcome: 'failed', failure: { step: 'network', code: 'NETPOL_DIGEST' } });
  });

  it('the reaper sweeps an orphaned Deployment and NetworkPolicy of this runner, and leaves another runner\'s alone', async () => {
    const labels = (owner: string) => ({ [MANAGED_BY]: 'breakglass', [OWNER_LABEL]: owner, [SESSION_LABEL]: 'ghost' });
    const meta = (name: string, namespace: string, owner: string) => ({ name, namespace, labels: labels(owner), annotations: { [EXPIRES_ANNOTATION]: '2099-01-01T00:00:00Z' } });
    const deployment = (name: string, owner: string): RawObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, env.namespace, owner),
      spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
    });
    const policy = (name: string, owner: string): RawObject => ({ apiVersion: NP, kind: 'NetworkPolicy', metadata: meta(name, env.appNamespace, owner), spec: { podSelector: {} } });
    for (const o of [deployment('bg-ghost-tailscale', env.namespace), deployment('bg-other', 'someone-else'), policy('bg-ghost', env.namespace), policy('bg-other', 'someone-else')]) await env.raw.create(o);

    const r = await run();
    expect(r.stderr).toMatch(/reaper: deleted Deployment .*bg-ghost-tailscale \(no open session\)/);
    expect(await env.raw.get('apps/v1', 'Deployment', env.namespace, 'bg-ghost-tailscale')).toBeUndefined();
    expect(await env.raw.get(NP, 'NetworkPolicy', env.appNamespace, 'bg-ghost')).toBeUndefined();
    // Another runner's objects (another owner label) are not this runner's to judge.
    expect(await env.raw.get('apps/v1', 'Deployment', env.namespace, 'bg-other')).toBeDefined();
    expect(await env.raw.get(NP, 'NetworkPolicy', env.appNamespace, 'bg-other')).toBeDefined();
  });

  it('never writes a Tailscale key, Twingate token or API key to its log or to git', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(5);
    const history = env.remoteHistory();
    for (const s of secrets) {
      expect(history).not.toContain(s);
      for (const l of env.logs) expect(l).not.toContain(s);
    }
  });
});
