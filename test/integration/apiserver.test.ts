/**
 * Proves the test API server behaves as DESIGN.md relies on: a TokenRequest
 * token is accepted, and after its ServiceAccount is deleted it is rejected
 * (after the API server's ~10 s authentication cache), as TokenReview shows.
 */
import { randomBytes } from 'node:crypto';
import { AuthenticationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, describe, expect, inject, it } from 'vitest';

const cluster = inject('cluster');

function admin(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  return kc;
}

/** A kubeconfig that authenticates with nothing but `token`. */
function asToken(token: string): KubeConfig {
  const base = admin();
  const c = base.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: c.server, caData: c.caData, caFile: c.caFile, skipTLSVerify: false }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function review(token: string): Promise<boolean> {
  const res = await admin()
    .makeApiClient(AuthenticationV1Api)
    .createTokenReview({ body: { spec: { token } } });
  return res.status?.authenticated === true;
}

describe('the test Kubernetes API server', () => {
  const ns = `bg-it-${randomBytes(3).toString('hex')}`;
  const core = admin().makeApiClient(CoreV1Api);
  afterAll(async () => {
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('has the aggregated ClusterRoles filled, as a cluster with a controller-manager does', async () => {
    // Without this, tests of view/edit/admin would pass vacuously: the roles would grant nothing.
    const rbac = admin().makeApiClient(RbacAuthorizationV1Api);
    for (const name of ['view', 'edit', 'admin']) {
      const role = await rbac.readClusterRole({ name });
      expect(role.rules?.length, name).toBeGreaterThan(0);
    }
    const view = await rbac.readClusterRole({ name: 'view' });
    expect(view.rules!.some((r) => r.resources?.includes('pods') && r.verbs.includes('list'))).toBe(true);
    expect(view.rules!.some((r) => r.verbs.includes('create'))).toBe(false);
  });

  it('mints a token that works, and rejects it once its ServiceAccount is deleted', async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'session' } } });
    const tr = await core.createNamespacedServiceAccountToken({ name: 'session', namespace: ns, body: { spec: { expirationSeconds: 600, audiences: [] } } });
    const token = tr.status?.token;
    expect(token).toMatch(/^ey/);
    expect(new Date(tr.status!.expirationTimestamp!).getTime()).toBeGreaterThan(Date.now());

    expect(await review(token!)).toBe(true);
    // The token itself can reach the API (discovery is open to any authenticated user).
    const versions = await asToken(token!).makeApiClient(CoreV1Api).getAPIResources();
    expect(versions.resources.length).toBeGreaterThan(0);

    await core.deleteNamespacedServiceAccount({ name: 'session', namespace: ns });
    // Poll past the authentication cache; bounded, never a timing assertion.
    let authenticated = true;
    for (let i = 0; i < 60 && authenticated; i++) {
      authenticated = await review(token!);
      if (authenticated) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(authenticated).toBe(false);
    await expect(asToken(token!).makeApiClient(CoreV1Api).getAPIResources()).rejects.toMatchObject({ code: 401 });
  });
});
