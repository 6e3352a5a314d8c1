/**
 * The Tailscale network provider against the real API server and a local
 * Tailscale API that follows the public documentation, with the real client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawKube } from '../../src/adapters/kube-raw.js';
import { TailscaleConfig } from '../../src/core/schemas.js';
import { routerHostname, tailscaleProvider } from '../../src/runner/providers/tailscale.js';
import { workloadName } from '../../src/runner/providers/workload.js';
import { TailscaleFake } from '../fakes/tailscale-api.js';
import { adminKubeConfig, deleteNamespace, freshNamespace, readinessController, recordingDelay, testPlan } from '../helpers/kube.js';

const raw = new RawKube(adminKubeConfig());
const fake = new TailscaleFake('example.com');
let ns = '';

const config = (over: Partial<TailscaleConfig> = {}) =>
  TailscaleConfig.parse({ tailnet: 'example.com', apiUrl: fake.url, apiKeyEnv: 'TS_API_KEY', tags: ['tag:breakglass'], routes: ['10.96.0.0/12'], readinessTimeout: '20s', ...over });

function provider(over: Partial<TailscaleConfig> = {}, env: NodeJS.ProcessEnv = { TS_API_KEY: fake.apiKey }) {
  const d = recordingDelay();
  const p = tailscaleProvider(config(over), { raw, namespace: ns, env, http: { delay: d.delay }, delay: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 100))) });
  return { p, waits: d.waits };
}

async function objectsOf(session: string) {
  const name = workloadName(session, 'tailscale');
  return { deployment: await raw.get('apps/v1', 'Deployment', ns, name), secret: await raw.get('v1', 'Secret', ns, name) };
}

beforeAll(async () => {
  await fake.start();
  ns = await freshNamespace(raw, 'bg-ts');
});
afterAll(async () => {
  await fake.stop();
  await deleteNamespace(raw, ns);
});

describe('the tailscale provider', () => {
  it('creates a single-use, ephemeral, pre-authorized, tagged key and a labelled router, then removes all of it', async () => {
    const { p } = provider();
    const plan = testPlan('inc-1-ts', 'tailscale');
    const ready = readinessController(raw, ns, workloadName(plan.session, 'tailscale'));
    const created = await p.create(plan);
    ready.stop();

    const key = [...fake.keys.values()][0]!;
    expect(key.capabilities.devices.create).toEqual({ reusable: false, ephemeral: true, preauthorized: true, tags: ['tag:breakglass'] });
    expect(Date.parse(key.expires) - Date.parse(key.created)).toBe(600_000);
    expect(created.map((o) => o.kind)).toEqual(['TailscaleAuthKey', 'Secret', 'Deployment']);

    const { deployment, secret } = await objectsOf(plan.session);
    for (const o of [deployment!, secret!]) {
      expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'breakglass', 'breakglass.dev/session': plan.session });
      expect(o.metadata.annotations).toMatchObject({ 'breakglass.dev/expires': plan.expires });
    }
    // The key is only in the Secret; the Deployment refers to it.
    expect(Buffer.from((secret!.data as Record<string, string>).TS_AUTHKEY!, 'base64').toString()).toBe(key.key);
    expect(JSON.stringify(deployment)).not.toContain(key.key);
    const env = (deployment!.spec as any).template.spec.containers[0].env as { name: string; value?: string }[];
    expect(env).toContainEqual({ name: 'TS_ROUTES', value: '10.96.0.0/12' });
    expect(env).toContainEqual({ name: 'TS_HOSTNAME', value: routerHostname(plan.session) });

    // The router registers with the key from the Secret, exactly once.
    fake.register(key.key, routerHostname(plan.session), ['10.96.0.0/12']);
    expect(() => fake.register(key.key, 'second', [])).toThrow('key already used');
    expect(await p.verifyGone(plan.session)).toBe(false);

    const deleted = await p.teardown(plan.session, created);
    expect(deleted.map((o) => o.kind).sort()).toEqual(['Deployment', 'Secret', 'TailscaleAuthKey', 'TailscaleDevice']);
    expect(await objectsOf(plan.session)).toEqual({ deployment: undefined, secret: undefined });
    expect(fake.devices.size).toBe(0);
    expect(fake.keys.size).toBe(0);
    expect(await p.verifyGone(plan.session)).toBe(true);
    // Every API call carried the token as a Bearer header.
    expect(fake.requests.every((r) => r.headers.authorization === `Bearer ${fake.apiKey}`)).toBe(true);
  });

  it('authenticates with an OAuth client when configured so', async () => {
    const { p } = provider({ apiKeyEnv: undefined, oauth: { clientIdEnv: 'TS_OAUTH_ID', clientSecretEnv: 'TS_OAUTH_SECRET' } }, { TS_OAUTH_ID: fake.oauth.id, TS_OAUTH_SECRET: fake.oauth.secret });
    const plan = testPlan('inc-2-oauth', 'tailscale');
    const ready = readinessController(raw, ns, workloadName(plan.session, 'tailscale'));
    const created = await p.create(plan);
    ready.stop();
    expect(fake.requests.some((r) => r.path === '/api/v2/oauth/token')).toBe(true);
    await p.teardown(plan.session, created);
    expect(await p.verifyGone(plan.session)).toBe(true);
  });

  it('rolls everything back when the router never becomes ready', async () => {
    const { p } = provider({ readinessTimeout: '1s' });
    const plan = testPlan('inc-3-notready', 'tailscale');
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'PROVIDER_NOT_READY' });
    expect(await objectsOf(plan.session)).toEqual({ deployment: undefined, secret: undefined });
    expect(fake.keys.size).toBe(0);
  });

  it('honours 429 Retry-After, then succeeds', async () => {
    const { p, waits } = provider();
    fake.failNext((r) => r.path.endsWith('/keys') && r.method === 'POST', { status: 429, headers: { 'retry-after': '2' }, body: { message: 'rate limited' } });
    const plan = testPlan('inc-4-ratelimit', 'tailscale');
    const ready = readinessController(raw, ns, workloadName(plan.session, 'tailscale'));
    const created = await p.create(plan);
    ready.stop();
    expect(waits).toContain(2000);
    await p.teardown(plan.session, created);
  });

  it('gives up after bounded retries on 5xx, with nothing created and no secret in the message', async () => {
    const { p, waits } = provider();
    fake.failNext((r) => r.path.endsWith('/keys') && r.method === 'POST', { status: 503, body: { message: 'upstream unavailable' } }, 4);
    const plan = testPlan('inc-5-down', 'tailscale');
    const err = (await p.create(plan).catch((e: Error & { code?: string }) => e)) as Error & { code?: string };
    expect(err).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', message: 'create Tailscale auth key failed after 4 attempts: HTTP 503: upstream unavailable' });
    expect(waits).toEqual([500, 1000, 2000]);
    expect(err.message).not.toContain(fake.apiKey);
    expect(await objectsOf(plan.session)).toEqual({ deployment: undefined, secret: undefined });
  });

  it('deletes the key it made when the cluster refuses the Secret', async () => {
    const d = recordingDelay();
    const p = tailscaleProvider(config(), { raw, namespace: 'bg-no-such-namespace', env: { TS_API_KEY: fake.apiKey }, http: { delay: d.delay } });
    await expect(p.create(testPlan('inc-6-nons', 'tailscale'))).rejects.toMatchObject({ code: 'KUBE_FAILED' });
    expect(fake.keys.size).toBe(0);
  });

  it('fails teardown loudly when the API keeps failing, and completes on the next attempt', async () => {
    const { p } = provider();
    const plan = testPlan('inc-7-teardown', 'tailscale');
    const ready = readinessController(raw, ns, workloadName(plan.session, 'tailscale'));
    const created = await p.create(plan);
    ready.stop();
    fake.register([...fake.keys.values()][0]!.key, routerHostname(plan.session), []);
    fake.failNext((r) => r.method === 'DELETE' && r.path.startsWith('/api/v2/device/'), { status: 500, body: { message: 'boom' } }, 4);
    await expect(p.teardown(plan.session, created)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(await p.verifyGone(plan.session)).toBe(false);
    await p.teardown(plan.session, created);
    expect(await p.verifyGone(plan.session)).toBe(true);
    expect(fake.keys.size).toBe(0);
  });

  it('refuses to start without its API key, naming the variable and nothing else', async () => {
    const { p } = provider({}, {});
    await expect(p.create(testPlan('inc-8-nokey', 'tailscale'))).rejects.toMatchObject({ code: 'PROVIDER_CONFIG', message: 'Tailscale: environment variable TS_API_KEY is not set' });
  });
});
