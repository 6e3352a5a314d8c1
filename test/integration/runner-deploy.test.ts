/**
 * The runner running under exactly the RBAC in deploy/rbac.yaml, with a token
 * for its own ServiceAccount — not as cluster admin — can still do the whole
 * job, including granting cluster-admin (through `bind`, not by holding it).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenKubeConfig } from '../../src/adapters/kubernetes.js';
import { ROOT } from '../helpers/cli.js';
import { kubectl, kubectlEventually } from '../helpers/kubectl.js';
import { tailscaleRouter } from '../helpers/path-sim.js';
import { ProviderEnv } from '../helpers/provider-env.js';
import { workloadName } from '../../src/runner/providers/workload.js';

const run = promisify(execFile);
const cluster = inject('cluster');


describe('the runner under the RBAC in deploy/', () => {
  // Every provider configured: the RBAC must cover their objects, the reaper's sweeps and their teardown.
  const env = new ProviderEnv(cluster);
  const runnerName = () => `breakglass-runner-${env.namespace}`;
  let runnerKubeconfig: string;
  beforeAll(async () => {
    await env.setup();
    // deploy/rbac.yaml as shipped, moved into this test's namespace and names (the Namespace document exists already).
    const manifest = readFileSync(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8')
      .split(/^---$/m)
      .filter((doc) => !/^kind: Namespace$/m.test(doc))
      .join('---')
      .replaceAll('breakglass-system', env.namespace)
      .replaceAll('breakglass-runner', runnerName());
    execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'apply', '-f', '-'], { input: manifest, stdio: ['pipe', 'ignore', 'inherit'] });
    const tr = await env.admin().makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: runnerName(), namespace: env.namespace, body: { spec: { expirationSeconds: 3600, audiences: [] } } });
    runnerKubeconfig = join(env.root, 'runner-sa.kubeconfig');
    writeFileSync(runnerKubeconfig, tokenKubeConfig(cluster.server, readFileSync(cluster.caFile, 'utf8'), tr.status!.token!).exportConfig(), { mode: 0o600 });
    env.useKubeconfig(runnerKubeconfig);
  });
  afterAll(async () => {
    for (const kind of ['clusterrole', 'clusterrolebinding']) await run('kubectl', ['--kubeconfig', cluster.kubeconfig, 'delete', kind, runnerName(), '--ignore-not-found']).catch(() => undefined);
    await env.cleanup();
  });

  it('is not cluster admin itself', async () => {
    const secrets = await kubectl(runnerKubeconfig, 'get', 'secrets', '-A');
    expect(secrets.ok).toBe(false);
    expect(secrets.out).toMatch(/forbidden/i);
  });

  it('activates cluster-admin and namespace sessions, and tears them down', async () => {
    await env.addSession('dep-admin', { privilege: 'cluster-admin', duration: '15m' });
    // A namespace the workload runs in: the runner's own is protected (PRIVILEGE_PROTECTED_NAMESPACE).
    await env.addSession('dep-edit', { privilege: `edit:${env.appNamespace}`, duration: '15m' });
    const r = await env.run();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/activation failed|will retry/);
    expect((await env.receive('dep-admin')).code).toBe(0);
    const kc = join(env.root, 'dep-admin.kubeconfig');
    expect((await kubectlEventually(kc, 'get', 'secrets', '-A')).ok).toBe(true);
    const rb = await kubectl(cluster.kubeconfig, 'get', 'rolebinding', 'bg-dep-edit', '-n', env.appNamespace, '-o', 'jsonpath={.roleRef.name}');
    expect(rb.out).toBe('edit');

    env.endSession('dep-admin');
    env.endSession('dep-edit');
    const end = await env.run();
    expect(end.code, end.stderr).toBe(0);
    expect((await kubectl(kc, 'get', 'namespaces')).ok).toBe(false);
    for (const id of ['dep-admin', 'dep-edit']) expect(env.remoteFile(`sessions/${id}/record.yaml`)).toMatch(/outcome: ended[\s\S]*result: unauthenticated/);
  });

  it('opens and closes tailscale and networkpolicy paths, and reaps, with only the deploy/ rules', async () => {
    await env.addSession('dep-ts', { network: 'tailscale', duration: '15m' });
    await env.addSession('dep-np', { network: 'networkpolicy', duration: '15m' });
    const router = tailscaleRouter(env.raw, env.tailscale, env.namespace, 'dep-ts');
    const r = await env.run();
    router.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/activation failed|will retry|forbidden/i);
    expect(await env.raw.get('networking.k8s.io/v1', 'NetworkPolicy', env.appNamespace, 'bg-dep-np')).toBeDefined();
    env.endSession('dep-ts');
    env.endSession('dep-np');
    const end = await env.run();
    expect(end.stderr).not.toMatch(/will retry|forbidden/i);
    for (const id of ['dep-ts', 'dep-np']) expect(env.remoteFile(`sessions/${id}/record.yaml`)).toMatch(/outcome: ended/);
    expect(env.tailscale.keys.size).toBe(0);
  });
});
