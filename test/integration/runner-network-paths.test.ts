/**
 * Network paths that really carry traffic, through the real runner binary
 * (`runner --once`) and the real API server, with the Tailscale and Twingate
 * APIs played by stand-ins that model production (routes advertised vs
 * enabled, device online, connector states, OAuth scopes that answer 403),
 * and the router/connector pods played by test/helpers/path-sim.ts.
 *
 * Every way a path fails to open ends the same way: nothing delivered, the
 * session recorded failed with a specific code, and nothing left behind — in
 * the cluster (every kind the path creates, found by the session label) or in
 * the provider's API.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { SESSION_LABEL } from '../../src/core/plan.js';
import { MarkerStore } from '../../src/runner/marker.js';
import { Kube } from '../../src/adapters/kubernetes.js';
import { routerHostname } from '../../src/runner/providers/tailscale.js';
import { ALL_SCOPES } from '../fakes/tailscale-api.js';
import { ProviderEnv } from '../helpers/provider-env.js';
import { tailscaleRouter, twingateConnector } from '../helpers/path-sim.js';

const cluster = inject('cluster');
const RBAC = 'rbac.authorization.k8s.io/v1';

describe('network paths through the runner, as production would answer', () => {
  const env = new ProviderEnv(cluster);
  const record = (id: string) => parse(env.remoteFile(`sessions/${id}/record.yaml`) ?? 'null');
  const delivered = (id: string) => existsSync(join(env.outbox, `${id}.asc`));
  const markers = () => new MarkerStore(new Kube(env.admin()), env.namespace);
  /** Everything in the cluster that carries the session's label, of every kind a path or credential creates. */
  const labelled = async (id: string) => {
    const sel = `${SESSION_LABEL}=${id}`;
    const crbs = await env.raw.send('GET', `/apis/${RBAC}/clusterrolebindings?labelSelector=${encodeURIComponent(sel)}`);
    const found = [
      ...(await env.raw.list('apps/v1', 'Deployment', env.namespace, sel)),
      ...(await env.raw.list('v1', 'Secret', env.namespace, sel)),
      ...(await env.raw.list('v1', 'ServiceAccount', env.namespace, sel)),
      ...(await env.raw.list(RBAC, 'Role', env.namespace, sel)),
      ...(await env.raw.list(RBAC, 'RoleBinding', env.namespace, sel)),
      ...((crbs.body as { items: { metadata: { name: string } }[] }).items.map((o) => ({ kind: 'ClusterRoleBinding', metadata: o.metadata }))),
    ];
    return found.map((o) => `${o.kind}/${o.metadata.name}`);
  };
  const expectNothingLeft = async (id: string) => {
    expect(delivered(id)).toBe(false);
    expect(await labelled(id)).toEqual([]);
    expect(env.tailscale.keys.size).toBe(0);
    expect(env.tailscale.deviceNamed(routerHostname(id))).toBeUndefined();
    expect(env.twingate.connectors.size).toBe(0);
  };

  beforeAll(() => env.setup());
  afterAll(() => env.cleanup());
  afterEach(() => {
    env.tailscale.routeMode = 'normal';
    env.tailscale.oauth.scopes = [...ALL_SCOPES];
    env.reconfigure({});
  });

  it('enables the approved routes and reads them back before anything is delivered', async () => {
    const id = 'np-before';
    await env.addSession(id, { network: 'tailscale', duration: '20m' });
    const router = tailscaleRouter(env.raw, env.tailscale, env.namespace, id);
    // The runner dies right after the network step, before the credential exists.
    const r = await env.run({ BREAKGLASS_FAULT_KILL_AFTER: 'network' });
    router.stop();
    expect(r.code).not.toBe(0);
    const device = env.tailscale.deviceNamed(routerHostname(id))!;
    expect(device.enabledRoutes).toEqual(['10.96.0.0/12']);
    const calls = env.tailscale.requests.map((q) => `${q.method} ${q.path}`);
    const set = calls.lastIndexOf(`POST /api/v2/device/${device.nodeId}/routes`);
    expect(set).toBeGreaterThan(-1);
    expect(calls.slice(set + 1)).toContain(`GET /api/v2/device/${device.nodeId}/routes`);
    expect(delivered(id)).toBe(false);
    // The next loop rolls the interrupted activation back: nothing of it survives.
    await env.reconcile();
    expect(record(id)).toMatchObject({ outcome: 'failed', failure: { code: 'RUNNER_INTERRUPTED' } });
    await expectNothingLeft(id);
  });

  /** Opens `id` over `network` with its pod played by `pod`; the session must fail at the network step with `failure`, leaving nothing. */
  const failsClosed = async (id: string, network: 'tailscale' | 'twingate', pod: () => { stop(): void }, failure: object) => {
    await env.addSession(id, { network, duration: '20m' });
    const played = pod();
    await env.reconcile();
    played.stop();
    expect(record(id)).toMatchObject({ outcome: 'failed', failure: { step: 'network', ...failure } });
    expect(record(id).credential).toBeUndefined();
    await expectNothingLeft(id);
  };

  it('a tailnet that refuses to enable the routes: failed with TAILSCALE_ROUTES_REFUSED, nothing left', async () => {
    env.tailscale.routeMode = 'refuse';
    await failsClosed('np-refused', 'tailscale', () => tailscaleRouter(env.raw, env.tailscale, env.namespace, 'np-refused'), { code: 'TAILSCALE_ROUTES_REFUSED' });
  });

  it('a router that never becomes healthy: failed at the deadline with PROVIDER_NOT_READY, nothing left', async () => {
    env.reconfigure({ tailscale: { readinessTimeout: '3s' } });
    await failsClosed('np-unhealthy', 'tailscale', () => tailscaleRouter(env.raw, env.tailscale, env.namespace, 'np-unhealthy', { neverHealthy: true }), { code: 'PROVIDER_NOT_READY' });
  });

  it('a connector stuck in DEAD_NO_HEARTBEAT: failed with TWINGATE_CONNECTOR_NOT_ALIVE, nothing left', async () => {
    env.reconfigure({ twingate: { readinessTimeout: '3s' } });
    const code = { code: 'TWINGATE_CONNECTOR_NOT_ALIVE', message: expect.stringContaining('DEAD_NO_HEARTBEAT') };
    await failsClosed('np-dead', 'twingate', () => twingateConnector(env.raw, env.twingate, env.namespace, 'np-dead', { heartbeat: false }), code);
  });

  it('a Twingate key without Provision: failed with PROVIDER_AUTH, the connector deleted again', async () => {
    env.twingate.permission = 'readWrite';
    await failsClosed('np-perm', 'twingate', () => twingateConnector(env.raw, env.twingate, env.namespace, 'np-perm'), { code: 'PROVIDER_AUTH' });
    env.twingate.permission = 'provision';
  });

  it('a missing OAuth scope: the preflight names it, the session waits with PROVIDER_PREFLIGHT and nothing is created; granted, it opens', async () => {
    const id = 'np-scope';
    env.reconfigure({ tailscale: { apiKeyEnv: undefined, oauth: { clientIdEnv: 'TS_OAUTH_ID', clientSecretEnv: 'TS_OAUTH_SECRET' } } });
    env.tailscale.oauth.scopes = ['auth_keys', 'devices:core'];
    await env.addSession(id, { network: 'tailscale', duration: '20m' });
    const r = await env.reconcile();
    expect(r.stderr).toMatch(/preflight prod-eu tailscale: MISSING: OAuth scope devices:routes — granted: auth_keys devices:core/);
    expect(r.stderr).toMatch(/preflight prod-eu tailscale: ok: OAuth scope auth_keys/);
    expect(r.stderr).toMatch(new RegExp(`session ${id}: PROVIDER_PREFLIGHT: network tailscale on prod-eu is missing: OAuth scope devices:routes .*will retry next loop`));
    expect(await markers().get(id)).toBeUndefined();
    await expectNothingLeft(id);

    // Granting the scope is enough: the next loop re-checks and opens the path, no restart needed.
    env.tailscale.oauth.scopes = [...ALL_SCOPES];
    const router = tailscaleRouter(env.raw, env.tailscale, env.namespace, id);
    await env.reconcile();
    router.stop();
    expect(delivered(id)).toBe(true);
    env.endSession(id);
    await env.reconcile();
    await expectNothingLeft(id);
  });

  it('a restarted router keeps the path; one that goes down is recorded with its code; teardown removes device, key, Secrets, Role', async () => {
    const id = 'np-restart';
    await env.addSession(id, { network: 'tailscale', duration: '20m' });
    const router = tailscaleRouter(env.raw, env.tailscale, env.namespace, id);
    await env.reconcile();
    router.stop();
    expect(delivered(id)).toBe(true);

    // The pod is replaced (OOM, drain): the new one rejoins from its state Secret, and the runner sees a working path.
    const before = env.tailscale.deviceNamed(routerHostname(id))!.nodeId;
    expect((await router.restart()).nodeId).toBe(before);
    const quiet = await env.reconcile();
    expect(quiet.stderr).not.toMatch(new RegExp(`session ${id}: network path`));
    expect((await markers().get(id))!.state.path).toBeUndefined();

    // The pod dies for good: the next loop notices and records it.
    await router.kill();
    const down = await env.reconcile();
    expect(down.stderr).toMatch(new RegExp(`session ${id}: network path down: ROUTER_NOT_READY`));
    expect((await markers().get(id))!.state.path).toEqual([expect.objectContaining({ state: 'down', code: 'ROUTER_NOT_READY' })]);

    env.endSession(id);
    await env.reconcile();
    const rec = record(id);
    expect(rec).toMatchObject({ outcome: 'ended', path: [{ state: 'down', code: 'ROUTER_NOT_READY' }] });
    expect(rec.teardown.deleted.map((o: { kind: string }) => o.kind).sort()).toEqual(
      expect.arrayContaining(['Deployment', 'Role', 'RoleBinding', 'Secret', 'ServiceAccount', 'TailscaleAuthKey', 'TailscaleDevice']),
    );
    await expectNothingLeft(id);
  });
});
