/**
 * The Tailscale network provider against the real API server and a local
 * Tailscale API that behaves as production does (routes advertised vs
 * enabled, devices online or not, OAuth scopes that answer 403), with the
 * real client. The router pod is played by test/helpers/path-sim.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawKube } from '../../src/adapters/kube-raw.js';
import { TailscaleConfig } from '../../src/core/schemas.js';
import { routerHostname, stateSecretName, tailscaleProvider } from '../../src/runner/providers/tailscale.js';
import { workloadName } from '../../src/runner/providers/workload.js';
import { ALL_SCOPES, TailscaleFake } from '../fakes/tailscale-api.js';
import { adminKubeConfig, deleteNamespace, freshNamespace, recordingDelay, testPlan } from '../helpers/kube.js';
import { tailscaleRouter } from '../helpers/path-sim.js';

const raw = new RawKube(adminKubeConfig());
const fake = new TailscaleFake('example.com');
let ns = '';
const RBAC = 'rbac.authorization.k8s.io/v1';

const config = (over: Partial<TailscaleConfig> = {}) =>
  TailscaleConfig.parse({ tailnet: 'example.com', apiUrl: fake.url, apiKeyEnv: 'TS_API_KEY', tags: ['tag:breakglass'], routes: ['10.96.0.0/12'], readinessTimeout: '20s', ...over });

const oauth = { apiKeyEnv: undefined, oauth: { clientIdEnv: 'TS_OAUTH_ID', clientSecretEnv: 'TS_OAUTH_SECRET' } };
const oauthEnv = () => ({ TS_OAUTH_ID: fake.oauth.id, TS_OAUTH_SECRET: fake.oauth.secret });

function provider(over: Partial<TailscaleConfig> = {}, env: NodeJS.ProcessEnv = { TS_API_KEY: fake.apiKey }) {
  const d = recordingDelay();
  const p = tailscaleProvider(config(over), { raw, namespace: ns, env, http: { delay: d.delay }, delay: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 100))) });
  return { p, waits: d.waits };
}

/** Every cluster object of the session's router, by name: what must be gone after a rollback or teardown. */
async function objectsOf(session: string) {
  const name = workloadName(session, 'tailscale');
  const found = [
    await raw.get('apps/v1', 'Deployment', ns, name),
    await raw.get('v1', 'Secret', ns, name),
    await raw.get('v1', 'Secret', ns, stateSecretName(session)),
    await raw.get('v1', 'ServiceAccount', ns, name),
    await raw.get(RBAC, 'Role', ns, name),
    await raw.get(RBAC, 'RoleBinding', ns, name),
  ];
  return found.filter(Boolean).map((o) => `${o!.kind}/${o!.metadata.name}`);
}

async function expectNothingLeft(session: string) {
  expect(await objectsOf(session)).toEqual([]);
  expect(fake.keys.size).toBe(0);
  expect(fake.deviceNamed(routerHostname(session))).toBeUndefined();
}

beforeAll(async () => {
  await fake.start();
  ns = await freshNamespace(raw, 'bg-ts');
});
afterAll(async () => {
  await fake.stop();
  await deleteNamespace(raw, ns);
});
afterEach(() => {
  fake.routeMode = 'normal';
  fake.autoApprovers = {};
  fake.oauth.scopes = [...ALL_SCOPES];
});

describe('the tailscale provider', () => {
  it('enables exactly the approved routes and reads them back before it reports the path open, then removes everything', async () => {
    const { p } = provider();
    const plan = testPlan('inc-1-ts', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    router.stop();

    const key = [...fake.keys.values()][0]!;
    expect(key.capabilities.devices.create).toEqual({ reusable: false, ephemeral: true, preauthorized: true, tags: ['tag:breakglass'] });
    expect(Date.parse(key.expires) - Date.parse(key.created)).toBe(600_000);
    expect(created.map((o) => o.kind)).toEqual(['TailscaleAuthKey', 'Secret', 'Secret', 'ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'TailscaleDevice']);
    const device = fake.deviceNamed(routerHostname(plan.session))!;
    expect(device).toMatchObject({ advertisedRoutes: ['10.96.0.0/12'], enabledRoutes: ['10.96.0.0/12'], connectedToControl: true });
    expect(fake.requests.some((r) => r.method === 'POST' && r.path === `/api/v2/device/${device.nodeId}/routes`)).toBe(true);

    const name = workloadName(plan.session, 'tailscale');
    const deployment = (await raw.get('apps/v1', 'Deployment', ns, name))!;
    const pod = (deployment.spec as any).template.spec;
    const c = pod.containers[0];
    // Health that means the node has a tailnet address, state that survives a restart, a pod that can do little.
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 9002 } });
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'TS_ENABLE_HEALTH_CHECK', value: 'true' }, { name: 'TS_KUBE_SECRET', value: stateSecretName(plan.session) }, { name: 'TS_LOCAL_ADDR_PORT', value: '[::]:9002' }]));
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod).toMatchObject({ serviceAccountName: name, automountServiceAccountToken: true });
    const role = (await raw.get(RBAC, 'Role', ns, name))!;
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: [stateSecretName(plan.session)], verbs: ['get', 'update', 'patch'] }]);
    expect(JSON.stringify(deployment)).not.toContain(key.key);

    const deleted = await p.teardown(plan.session, created);
    expect(deleted.map((o) => o.kind).sort()).toEqual(['Deployment', 'Role', 'RoleBinding', 'Secret', 'Secret', 'ServiceAccount', 'TailscaleAuthKey', 'TailscaleDevice']);
    await expectNothingLeft(plan.session);
    expect(await p.verifyGone(plan.session)).toBe(true);
    expect(fake.requests.filter((r) => r.path !== '/api/v2/oauth/token').every((r) => r.headers.authorization === `Bearer ${fake.apiKey}`)).toBe(true);
  });

  it("gives the router's ServiceAccount its state Secret and nothing else, not even its own auth key", async () => {
    const { p } = provider();
    const plan = testPlan('inc-2-rbac', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    router.stop();
    // The simulated router wrote its state with its own token (path-sim fails otherwise); now try more.
    const { tokenKubeConfig } = await import('../../src/adapters/kubernetes.js');
    const { inject } = await import('vitest');
    const { readFileSync } = await import('node:fs');
    const tr = await raw.send('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${workloadName(plan.session, 'tailscale')}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
    const token = (tr.body as any).status.token as string;
    const pod = new RawKube(tokenKubeConfig(inject('cluster').server, readFileSync(inject('cluster').caFile, 'utf8'), token));
    expect((await pod.send('GET', `/api/v1/namespaces/${ns}/secrets/${stateSecretName(plan.session)}`)).status).toBe(200);
    expect((await pod.send('GET', `/api/v1/namespaces/${ns}/secrets/${workloadName(plan.session, 'tailscale')}`)).status).toBe(403);
    expect((await pod.send('GET', `/api/v1/namespaces/${ns}/secrets`)).status).toBe(403);
    expect((await pod.send('DELETE', `/api/v1/namespaces/${ns}/secrets/${stateSecretName(plan.session)}`)).status).toBe(403);
    await p.teardown(plan.session, created);
    await expectNothingLeft(plan.session);
  });

  it('keeps the path through a router restart: the new pod rejoins as the same device from its state Secret', async () => {
    const { p } = provider();
    const plan = testPlan('inc-3-restart', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    router.stop();
    expect(await p.health!(plan.session, created)).toBeUndefined();
    const before = fake.deviceNamed(routerHostname(plan.session))!;
    // The single-use key is spent: only the state can bring the router back.
    expect(() => fake.register([...fake.keys.values()][0]!.key, routerHostname(plan.session), plan.session ? ['10.96.0.0/12'] : [])).toThrow('key already used');
    const after = await router.restart();
    expect(after.nodeId).toBe(before.nodeId);
    expect(await p.health!(plan.session, created)).toBeUndefined();
    await router.kill();
    expect(await p.health!(plan.session, created)).toMatchObject({ code: 'ROUTER_NOT_READY' });
    await p.teardown(plan.session, created);
    await expectNothingLeft(plan.session);
  });

  it('authenticates with an OAuth client when configured so', async () => {
    const { p } = provider(oauth, oauthEnv());
    const plan = testPlan('inc-4-oauth', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    router.stop();
    expect(fake.requests.some((r) => r.path === '/api/v2/oauth/token')).toBe(true);
    await p.teardown(plan.session, created);
    expect(await p.verifyGone(plan.session)).toBe(true);
  });

  it('rolls everything back when the router never becomes healthy', async () => {
    const { p } = provider({ readinessTimeout: '1s' });
    const plan = testPlan('inc-5-notready', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session, { neverHealthy: true });
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'PROVIDER_NOT_READY' });
    router.stop();
    await expectNothingLeft(plan.session);
  });

  it('refuses and rolls back when the tailnet will not enable the routes', async () => {
    fake.routeMode = 'refuse';
    const { p } = provider();
    const plan = testPlan('inc-6-refused', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'TAILSCALE_ROUTES_REFUSED' });
    router.stop();
    await expectNothingLeft(plan.session);
  });

  it('refuses when the router does not advertise the approved routes before the deadline', async () => {
    const { p } = provider({ readinessTimeout: '2s' });
    const plan = testPlan('inc-7-noadv', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session, { advertise: [] });
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'TAILSCALE_ROUTES_NOT_ENABLED' });
    router.stop();
    await expectNothingLeft(plan.session);
  });

  it('in autoApprove mode verifies what the tailnet policy enabled and sets nothing', async () => {
    fake.autoApprovers = { '10.96.0.0/12': ['tag:breakglass'] };
    const { p } = provider({ routeApproval: 'autoApprove' });
    const plan = testPlan('inc-8-auto', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const from = fake.requests.length;
    const created = await p.create(plan);
    router.stop();
    expect(fake.requests.slice(from).some((r) => r.method === 'POST' && r.path.endsWith('/routes'))).toBe(false);
    expect(fake.deviceNamed(routerHostname(plan.session))!.enabledRoutes).toEqual(['10.96.0.0/12']);
    await p.teardown(plan.session, created);
  });

  it('in autoApprove mode refuses a route enabled beyond what the policy approved', async () => {
    fake.autoApprovers = { '10.96.0.0/12': ['tag:breakglass'], '0.0.0.0/0': ['tag:breakglass'] };
    const { p } = provider({ routeApproval: 'autoApprove' });
    const plan = testPlan('inc-9-excess', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session, { advertise: ['10.96.0.0/12', '0.0.0.0/0'] });
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'TAILSCALE_ROUTES_EXCESS', message: expect.stringContaining('0.0.0.0/0') });
    router.stop();
    await expectNothingLeft(plan.session);
  });

  it('in autoApprove mode times out, closed, when the tailnet has no autoApprovers for the routes', async () => {
    const { p } = provider({ routeApproval: 'autoApprove', readinessTimeout: '2s' });
    const plan = testPlan('inc-10-noauto', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'TAILSCALE_ROUTES_NOT_ENABLED' });
    router.stop();
    await expectNothingLeft(plan.session);
  });

  it('an OAuth client without devices:routes fails on the routes call with 403, and rolls back', async () => {
    fake.oauth.scopes = ['auth_keys', 'devices:core'];
    const { p } = provider(oauth, oauthEnv());
    const plan = testPlan('inc-11-scope', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'PROVIDER_AUTH', message: expect.stringContaining('calling actor does not have enough permissions') });
    router.stop();
    await expectNothingLeft(plan.session);
  });

  it('preflight names each missing scope and an unowned tag, and creates nothing', async () => {
    fake.oauth.scopes = ['devices:core'];
    const { p } = provider(oauth, oauthEnv());
    const checks = await p.preflight!();
    expect(checks.filter((c) => !c.ok).map((c) => c.need)).toEqual(['OAuth scope auth_keys', 'OAuth scope devices:routes', 'list auth keys (auth_keys)', 'tag ownership of tag:breakglass']);
    fake.oauth.scopes = [...ALL_SCOPES];
    fake.tagOwners.delete('tag:breakglass');
    const again = await provider(oauth, oauthEnv()).p.preflight!();
    fake.tagOwners.add('tag:breakglass');
    expect(again.filter((c) => !c.ok)).toEqual([{ need: 'tag ownership of tag:breakglass', ok: false, detail: expect.stringContaining('requested tags [tag:breakglass] are invalid or not permitted') }]);
    expect(fake.keys.size).toBe(0);
    expect((await provider().p.preflight!()).every((c) => c.ok)).toBe(true);
    expect(await provider({}, {}).p.preflight!()).toEqual([{ need: 'Tailscale credential in the runner environment', ok: false, detail: 'Tailscale: environment variable TS_API_KEY is not set' }]);
  });

  it('honours 429 Retry-After, then succeeds', async () => {
    const { p, waits } = provider();
    fake.failNext((r) => r.path.endsWith('/keys') && r.method === 'POST', { status: 429, headers: { 'retry-after': '2' }, body: { message: 'rate limited' } });
    const plan = testPlan('inc-12-ratelimit', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    router.stop();
    expect(waits).toContain(2000);
    await p.teardown(plan.session, created);
  });

  it('gives up after bounded retries on 5xx, with nothing created and no secret in the message', async () => {
    const { p, waits } = provider();
    fake.failNext((r) => r.path.endsWith('/keys') && r.method === 'POST', { status: 503, body: { message: 'upstream unavailable' } }, 4);
    const plan = testPlan('inc-13-down', 'tailscale');
    const err = (await p.create(plan).catch((e: Error & { code?: string }) => e)) as Error & { code?: string };
    expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: 'create Tailscale auth key failed after 4 attempts: HTTP 503: upstream unavailable' });
    expect(waits).toEqual([500, 1000, 2000]);
    expect(err.message).not.toContain(fake.apiKey);
    await expectNothingLeft(plan.session);
  });

  it('deletes the key it made when the cluster refuses the Secret', async () => {
    const d = recordingDelay();
    const p = tailscaleProvider(config(), { raw, namespace: 'bg-no-such-namespace', env: { TS_API_KEY: fake.apiKey }, http: { delay: d.delay } });
    await expect(p.create(testPlan('inc-14-nons', 'tailscale'))).rejects.toMatchObject({ code: 'KUBE_FAILED' });
    expect(fake.keys.size).toBe(0);
  });

  it('fails teardown loudly when the API keeps failing, and completes on the next attempt', async () => {
    const { p } = provider();
    const plan = testPlan('inc-15-teardown', 'tailscale');
    const router = tailscaleRouter(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    router.stop();
    fake.failNext((r) => r.method === 'DELETE' && r.path.startsWith('/api/v2/device/'), { status: 500, body: { message: 'boom' } }, 4);
    await expect(p.teardown(plan.session, created)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(await p.verifyGone(plan.session)).toBe(false);
    await p.teardown(plan.session, created);
    expect(await p.verifyGone(plan.session)).toBe(true);
    await expectNothingLeft(plan.session);
  });

  it('refuses to start without its API key, naming the variable and nothing else', async () => {
    const { p } = provider({}, {});
    await expect(p.create(testPlan('inc-16-nokey', 'tailscale'))).rejects.toMatchObject({ code: 'PROVIDER_CONFIG', message: 'Tailscale: environment variable TS_API_KEY is not set' });
  });
});

describe('the tailscale config', () => {
  const parse = (over: object) => TailscaleConfig.safeParse({ tags: ['tag:breakglass'], routes: ['10.96.0.0/12'], apiKeyEnv: 'K', ...over });
  it("takes tags by Tailscale's own grammar: a letter first, then letters, digits, dashes, either case", () => {
    for (const t of ['tag:BreakGlass', 'tag:bg-2', 'tag:a']) expect(parse({ tags: [t] }).success, t).toBe(true);
    for (const t of ['tag:1x', 'tag:', 'tag:-x', 'tag:a_b', 'tag:a.b', 'breakglass', 'tag:é']) expect(parse({ tags: [t] }).success, t).toBe(false);
  });
  it('refuses a route that is not a CIDR prefix', () => {
    expect(parse({ routes: ['10.96.0.0'] }).success).toBe(false);
    expect(parse({ routes: ['fd7a:115c:a1e0::/48'] }).success).toBe(true);
  });
  it('refuses a versioned image older than the health endpoint, and accepts floating tags', () => {
    expect(parse({ image: 'tailscale/tailscale:v1.76.1' }).error?.issues[0]?.message).toMatch(/older than tailscale\/tailscale:v1\.78/);
    for (const image of ['tailscale/tailscale:v1.96.0', 'tailscale/tailscale:stable', 'ghcr.io/tailscale/tailscale:v1.80.2']) expect(parse({ image }).success, image).toBe(true);
  });
});
