/**
 * The Twingate provider (real API server + a local Twingate GraphQL API that
 * follows the public docs) and the NetworkPolicy provider (manifests applied
 * exactly as written, the existing policy set untouched).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawKube, type RawObject } from '../../src/adapters/kube-raw.js';
import { TwingateConfig } from '../../src/core/schemas.js';
import { networkPolicyProvider, readManifest } from '../../src/runner/providers/networkpolicy.js';
import { connectorName, twingateProvider } from '../../src/runner/providers/twingate.js';
import { workloadName } from '../../src/runner/providers/workload.js';
import { TwingateFake } from '../fakes/twingate-api.js';
import { adminKubeConfig, deleteNamespace, freshNamespace, recordingDelay, testPlan } from '../helpers/kube.js';
import { twingateConnector } from '../helpers/path-sim.js';

const raw = new RawKube(adminKubeConfig());
const fake = new TwingateFake();
let ns = '';

beforeAll(async () => {
  await fake.start();
  ns = await freshNamespace(raw, 'bg-tg');
});
afterAll(async () => {
  await fake.stop();
  await deleteNamespace(raw, ns);
});

function provider(over: Partial<TwingateConfig> = {}, env: NodeJS.ProcessEnv = { TG_KEY: fake.apiKey }) {
  const config = TwingateConfig.parse({ url: `${fake.url}/api/graphql/`, network: 'acme', apiKeyEnv: 'TG_KEY', remoteNetworkId: fake.remoteNetworkId, readinessTimeout: '20s', ...over });
  return twingateProvider(config, { raw, namespace: ns, env, http: { delay: recordingDelay().delay }, delay: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 100))) });
}

async function expectNothingLeft(session: string) {
  const name = workloadName(session, 'twingate');
  expect(await raw.get('apps/v1', 'Deployment', ns, name)).toBeUndefined();
  expect(await raw.get('v1', 'Secret', ns, name)).toBeUndefined();
  expect(fake.connectors.size).toBe(0);
}

describe('the twingate provider', () => {
  it('creates a connector with tokens in a labelled Secret, runs it hardened, waits for ALIVE, and deletes both at teardown', async () => {
    const p = provider();
    const plan = testPlan('inc-1-tg', 'twingate');
    const pod = twingateConnector(raw, fake, ns, plan.session);
    const created = await p.create(plan);
    pod.stop();
    expect([...fake.connectors.values()][0]!.state).toBe('ALIVE');
    const spec = ((await raw.get('apps/v1', 'Deployment', ns, workloadName(plan.session, 'twingate')))!.spec as any).template.spec;
    const c = spec.containers[0];
    expect(c.env).toContainEqual({ name: 'TWINGATE_URL', value: 'https://acme.twingate.com' });
    expect(c.readinessProbe).toMatchObject({ exec: { command: ['/connectorctl', 'health'] } });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, capabilities: { drop: ['ALL'] } });
    expect(c.volumeMounts).toEqual([{ name: 'run', mountPath: '/var/run/twingate' }]);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(await p.health!(plan.session, created)).toBeUndefined();
    fake.setState(created[0]!.name, 'DEAD_HEARTBEAT_TOO_OLD');
    expect(await p.health!(plan.session, created)).toMatchObject({ code: 'TWINGATE_CONNECTOR_DEAD', message: expect.stringContaining('DEAD_HEARTBEAT_TOO_OLD') });
    const connector = [...fake.connectors.values()][0]!;
    expect(connector).toMatchObject({ name: connectorName(plan.session), remoteNetworkId: fake.remoteNetworkId });
    expect(created.map((o) => o.kind)).toEqual(['TwingateConnector', 'Secret', 'Deployment']);
    const secret = await raw.get('v1', 'Secret', ns, workloadName(plan.session, 'twingate'));
    const data = secret!.data as Record<string, string>;
    expect(Buffer.from(data.TWINGATE_ACCESS_TOKEN!, 'base64').toString()).toBe(connector.tokens!.accessToken);
    expect(Buffer.from(data.TWINGATE_REFRESH_TOKEN!, 'base64').toString()).toBe(connector.tokens!.refreshToken);
    expect(fake.requests.every((r) => r.headers['x-api-key'] === fake.apiKey)).toBe(true);

    await p.teardown(plan.session, created);
    expect(fake.connectors.size).toBe(0);
    expect(await p.verifyGone(plan.session)).toBe(true);
  });

  it('fails closed and rolls back when the connector stays DEAD_NO_HEARTBEAT to the deadline', async () => {
    const p = provider({ readinessTimeout: '2s' });
    const plan = testPlan('inc-5-dead', 'twingate');
    const pod = twingateConnector(raw, fake, ns, plan.session, { heartbeat: false });
    await expect(p.create(plan)).rejects.toMatchObject({ code: 'TWINGATE_CONNECTOR_NOT_ALIVE', message: expect.stringContaining('DEAD_NO_HEARTBEAT') });
    pod.stop();
    await expectNothingLeft(plan.session);
  });

  it('a key without Provision cannot mint tokens: PROVIDER_AUTH, the connector deleted again', async () => {
    fake.permission = 'readWrite';
    const p = provider();
    const plan = testPlan('inc-6-perm', 'twingate');
    const err = await p.create(plan).catch((e) => e);
    fake.permission = 'provision';
    expect(err).toMatchObject({ code: 'PROVIDER_AUTH', message: expect.stringContaining('generate Twingate connector tokens failed: Permission denied') });
    await expectNothingLeft(plan.session);
  });

  it('preflight says when the key is missing, refused, or cannot see the remote network', async () => {
    expect(await provider().preflight!()).toEqual([{ need: expect.stringContaining('Read, Write & Provision'), ok: true }]);
    expect((await provider({}, {}).preflight!())[0]).toMatchObject({ ok: false, detail: 'TG_KEY is not set' });
    expect((await provider({}, { TG_KEY: 'wrong' }).preflight!())[0]).toMatchObject({ ok: false, detail: expect.stringContaining('PROVIDER_AUTH') });
    expect((await provider({ remoteNetworkId: 'UmVtb3RlTmV0d29yazpub3Bl' }).preflight!())[0]).toMatchObject({ ok: false, detail: 'remote network not found' });
  });

  it('deletes the connector when token generation fails (ok: false)', async () => {
    const p = provider();
    fake.failNext((r) => r.body.includes('connectorGenerateTokens'), { status: 200, body: { data: { connectorGenerateTokens: { ok: false, error: 'Insufficient permissions', connectorTokens: null } } } });
    await expect(p.create(testPlan('inc-2-tokens', 'twingate'))).rejects.toMatchObject({ code: 'PROVIDER_FAILED', message: 'generate Twingate connector tokens failed: Insufficient permissions' });
    expect(fake.connectors.size).toBe(0);
  });

  it('reports an unknown remote network and leaves nothing', async () => {
    const p = provider({ remoteNetworkId: 'UmVtb3RlTmV0d29yazpub3Bl' });
    await expect(p.create(testPlan('inc-3-rn', 'twingate'))).rejects.toMatchObject({ message: 'create Twingate connector failed: Remote network not found' });
    expect(fake.connectors.size).toBe(0);
  });

  it('finds and deletes a connector by name when a crash lost its reference', async () => {
    const p = provider();
    // As if the runner died right after connectorCreate: the connector exists, no record of it.
    fake.connectors.set('Q29ubmVjdG9yOjEyMw', { id: 'Q29ubmVjdG9yOjEyMw', name: connectorName('inc-4-crash'), remoteNetworkId: fake.remoteNetworkId, state: 'DEAD_NO_HEARTBEAT', lastHeartbeatAt: null });
    expect(await p.verifyGone('inc-4-crash')).toBe(false);
    await p.teardown('inc-4-crash', []);
    expect(await p.verifyGone('inc-4-crash')).toBe(true);
  });
});

const MANIFEST = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: vendor-to-api
  namespace: NS
spec:
  podSelector:
    matchLabels: { app: api }
  policyTypes: [Ingress]
  ingress:
    - from:
        - ipBlock: { cidr: 100.64.0.0/10, except: [100.64.1.0/24] }
        - namespaceSelector: { matchLabels: { breakglass.dev/router: "true" } }
          podSelector: { matchLabels: { app: router } }
      ports:
        - { protocol: TCP, port: 8443 }
        - { protocol: UDP, port: 53 }
`;

describe('the networkpolicy provider', () => {
  const bytes = () => Buffer.from(MANIFEST.replace('NS', ns));
  const sha = () => createHash('sha256').update(bytes()).digest('hex');

  it('applies a manifest with from and ports exactly as written, and leaves existing policies untouched', async () => {
    const denyAll: RawObject = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } };
    const before = await raw.create(denyAll);
    const manifest = readManifest('policies/networkpolicies/prod-eu.yaml', bytes(), sha());
    const p = networkPolicyProvider(manifest, raw, ns);
    const plan = testPlan('inc-5-np', 'networkpolicy');
    const created = await p.create(plan);
    const applied = await raw.get('networking.k8s.io/v1', 'NetworkPolicy', ns, created[0]!.name);
    // Read back: the spec is the manifest's, key for key, `from` included.
    expect(applied!.spec).toEqual(manifest.spec);
    expect((applied!.spec as any).ingress[0].from).toHaveLength(2);
    expect(applied!.metadata.labels).toMatchObject({ 'breakglass.dev/session': plan.session });
    await p.teardown(plan.session, created);
    expect(await p.verifyGone(plan.session)).toBe(true);
    const after = await raw.get('networking.k8s.io/v1', 'NetworkPolicy', ns, 'default-deny');
    expect(after!.spec).toEqual(before.spec);
    expect(after!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('removes the policy and refuses when the API server drops a field it does not know', async () => {
    // Kubernetes 1.20 prunes endPort (added in 1.21): enforcing the rest would not be what was approved.
    const withEndPort = Buffer.from(MANIFEST.replace('NS', ns).replace('port: 53 }', 'port: 53, endPort: 60 }'));
    const manifest = readManifest('m.yaml', withEndPort, createHash('sha256').update(withEndPort).digest('hex'));
    const p = networkPolicyProvider(manifest, raw, ns);
    const plan = testPlan('inc-6-pruned', 'networkpolicy');
    const err = await p.create(plan).catch((e) => e);
    if (err?.code === undefined) {
      // A cluster that supports endPort stores it: then there is nothing to refuse.
      await p.teardown(plan.session, []);
      return;
    }
    expect(err).toMatchObject({ code: 'NETPOL_ALTERED', message: expect.stringContaining('spec.ingress[0].ports[1]') });
    expect(await p.verifyGone(plan.session)).toBe(true);
  });

  it('refuses manifest bytes that the approved policy does not pin', () => {
    const tampered = Buffer.from(MANIFEST.replace('8443', '1-65535'));
    expect(() => readManifest('m.yaml', tampered, sha())).toThrow(expect.objectContaining({ code: 'NETPOL_DIGEST' }));
  });

  it('refuses a manifest that is not a namespaced NetworkPolicy', () => {
    const other = Buffer.from('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x, namespace: y }\n');
    expect(() => readManifest('m.yaml', other, createHash('sha256').update(other).digest('hex'))).toThrow(expect.objectContaining({ code: 'NETPOL_INVALID' }));
  });
});
