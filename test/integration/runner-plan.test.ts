/**
 * Plan, then apply: what `runner --dry-run` prints is what `runner --once`
 * creates. Through the real binary and the real API server, sessions over
 * every kind of path (Tailscale router, Twingate connector, pinned
 * NetworkPolicy) and credential (a Kubernetes token bound cluster-wide and in
 * a namespace, a command) are planned, then applied; every object that
 * appeared in the cluster — found by listing each kind before and after, not
 * by our labels, so an object made outside the plan cannot hide — must be one
 * the plan names, with the plan's labels, and every planned object must exist.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RawObject } from '../../src/adapters/kube-raw.js';
import type { SessionPlan } from '../../src/core/plan.js';
import { OWNER_LABEL, SESSION_LABEL } from '../../src/core/plan-objects.js';
import { tailscaleRouter, twingateConnector } from '../helpers/path-sim.js';
import { ProviderEnv } from '../helpers/provider-env.js';

const cluster = inject('cluster');
const RBAC = 'rbac.authorization.k8s.io/v1';
const NAMESPACED: [string, string][] = [
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'ServiceAccount'],
  [RBAC, 'Role'],
  [RBAC, 'RoleBinding'],
  ['apps/v1', 'Deployment'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
];
const SESSIONS = ['plan-ts', 'plan-tg', 'plan-np', 'plan-cmd'];

type Seen = Map<string, Record<string, string>>;

describe('runner --dry-run prints exactly what the runner then creates', () => {
  const env = new ProviderEnv(cluster);
  let plans: SessionPlan[] = [];
  let dryOut = '';
  let before: Seen;
  let after: Seen;

  /** Every object of every kind a session could make, in the namespaces it could use, plus this runner's ClusterRoleBindings; key kind/namespace/name. */
  const snapshot = async (): Promise<Seen> => {
    const seen: Seen = new Map();
    const add = (o: RawObject) => seen.set(`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o.metadata.labels ?? {});
    for (const ns of [env.namespace, env.appNamespace]) for (const [api, kind] of NAMESPACED) for (const o of await env.raw.list(api, kind, ns, '')) add(o);
    // Cluster-wide: other test files share the API server, so only what names this runner's namespace or one of these sessions.
    const crbs = (await env.raw.send('GET', `/apis/${RBAC}/clusterrolebindings`)).body as { items: { metadata: RawObject['metadata'] }[] };
    for (const { metadata } of crbs.items) {
      const l = metadata.labels ?? {};
      if (l[OWNER_LABEL] === env.namespace || SESSIONS.includes(l[SESSION_LABEL] ?? '') || metadata.name.includes(env.namespace)) add({ apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata });
    }
    return seen;
  };

  /** The plan's cluster objects, with the labels each must carry (state objects: name only, their phase label moves on). */
  const planned = (): Seen => {
    const out: Seen = new Map();
    for (const p of plans) {
      for (const o of p.objects) out.set(`${o.kind}/${o.namespace ?? ''}/${o.name}`, o.labels);
      for (const s of [p.state.claim, p.state.marker]) if (s?.kind === 'ConfigMap') out.set(`${s.kind}/${s.namespace}/${s.name}`, {});
    }
    return out;
  };

  beforeAll(async () => {
    await env.setup();
    await env.addSession('plan-ts', { network: 'tailscale', privilege: `edit:${env.appNamespace}`, duration: '20m' });
    await env.addSession('plan-tg', { network: 'twingate', privilege: 'cluster-admin', duration: '20m' });
    await env.addSession('plan-np', { resource: 'vendor-box', privilege: 'ssh', network: 'networkpolicy', duration: '20m' });
    await env.addSession('plan-cmd', { resource: 'orders-db', privilege: 'read-write', command: { name: 'db-password', inputs: { database: 'orders' } }, duration: '20m' });
    const dry = await env.runner(['--dry-run'], env.providerEnv);
    expect(dry.code, dry.stderr).toBe(0);
    dryOut = dry.stdout;
    plans = JSON.parse(dry.stdout) as SessionPlan[];
    before = await snapshot();
    const pods = [tailscaleRouter(env.raw, env.tailscale, env.namespace, 'plan-ts'), twingateConnector(env.raw, env.twingate, env.namespace, 'plan-tg')];
    await env.reconcile();
    for (const p of pods) p.stop();
    after = await snapshot();
  });
  afterAll(() => env.cleanup());

  it('plans every session, with its path, credential, command, recording and state', () => {
    expect(plans.map((p) => p.session).sort()).toEqual([...SESSIONS].sort());
    const ts = plans.find((p) => p.session === 'plan-ts');
    expect(ts?.path.external.map((o) => o.kind)).toEqual(['TailscaleAuthKey', 'TailscaleDevice']);
    expect(ts?.objects.map((o) => `${o.provider} ${o.kind}`)).toEqual([
      'tailscale Secret',
      'tailscale Secret',
      'tailscale ServiceAccount',
      'tailscale Role',
      'tailscale RoleBinding',
      'tailscale Deployment',
      'kubernetes-token ServiceAccount',
      'kubernetes-token RoleBinding',
    ]);
    const cmd = plans.find((p) => p.session === 'plan-cmd');
    expect(cmd?.command).toMatchObject({ name: 'db-password', argv: ['mint.sh', 'orders'], revoke: ['revoke.sh', 'orders'], sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(cmd?.objects).toEqual([]);
    for (const p of plans) {
      expect(p.recording).toEqual({ recorded: false });
      expect(p.state.marker).toMatchObject({ kind: 'ConfigMap', namespace: env.namespace, name: `bg-marker-${p.session}` });
      expect(p.state.claim).toMatchObject({ kind: 'ConfigMap', name: `bg-claim-${p.session}` });
    }
  });

  it('creates in the cluster exactly the objects the plan names, with the labels it gives them', () => {
    const created = [...after.keys()].filter((k) => !before.has(k)).sort();
    const want = planned();
    expect(created).toEqual([...want.keys()].sort());
    for (const [key, labels] of want) expect(after.get(key), key).toEqual(expect.objectContaining(labels));
    // Every session actually opened: nothing was refused along the way.
    for (const id of SESSIONS) expect(env.logs.join('\n')).toMatch(new RegExp(`session ${id}: (credential delivered|network path networkpolicy open)`));
  });

  it('prints no key, token or password: the dry run names what will be made, never its secret', () => {
    const secrets = [env.tailscale.apiKey, env.tailscale.oauth.secret, env.twingate.apiKey, ...env.tailscale.issued, ...env.twingate.issued];
    expect(secrets.length).toBeGreaterThan(3);
    for (const s of secrets) expect(dryOut).not.toContain(s);
    expect(dryOut).not.toMatch(/tskey-|BEGIN PGP|"(token|password|key|data|authKey|accessToken|refreshToken)"\s*:/i);
    for (const name of Object.keys(env.providerEnv)) expect(dryOut).not.toContain(env.providerEnv[name] ?? '\0');
  });
});
