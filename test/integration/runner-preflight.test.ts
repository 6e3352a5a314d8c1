/**
 * `breakglass runner --check` and the same checks at start, through the real
 * binary, real gpg, real git and the real API server: a good config passes
 * (also under exactly deploy/'s RBAC); each bad one is refused with its own
 * code and a fix, and a runner started on it refuses to start — an approved
 * session waiting in git is not activated, and nothing appears in the cluster.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenKubeConfig } from '../../src/adapters/kubernetes.js';
import { binary, ROOT } from '../helpers/cli.js';
import { GpgHome } from '../helpers/gpg-home.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');
type Config = Record<string, any>;

describe('runner --check and the refusal to start', () => {
  const env = new RunnerEnv(cluster);
  const gpg = new GpgHome();
  const etc = () => join(env.root, 'etc');
  const id = 'pf-waiting';
  const roleNames: string[] = [];
  /** The overlay's namespace, then its cluster-scoped names. */
  const kustomized: string[] = [];

  /** A copy of the good config with one thing changed, written beside it (so relative paths still work). */
  function variant(name: string, change: (c: Config) => void): string {
    const c = parse(env.configYaml()) as Config;
    change(c);
    const file = join(etc(), `${name}.yaml`);
    writeFileSync(file, stringify(c));
    return file;
  }
  const run = (config: string, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    binary(['runner', '--config', config, ...args], { cwd: env.root, env: { BREAKGLASS_RUNNER_ID: 'pf', TS_API_KEY: '', ...extra } });
  /** What the runner could have created: claims, markers, session identities, deliveries. */
  async function created(): Promise<string[]> {
    const core = env.admin().makeApiClient(CoreV1Api);
    const cms = (await core.listNamespacedConfigMap({ namespace: env.namespace })).items.map((o) => `ConfigMap ${o.metadata!.name}`).filter((n) => /^\w+ bg-/.test(n));
    const sas = (await core.listNamespacedServiceAccount({ namespace: env.namespace })).items.map((o) => `ServiceAccount ${o.metadata!.name}`).filter((n) => /^\w+ bg-/.test(n));
    const outbox = (() => {
      try {
        return readdirSync(env.outbox);
      } catch {
        return [];
      }
    })();
    return [...cms, ...sas, ...outbox];
  }

  /** A ServiceAccount bound to deploy/rbac.yaml as shipped, or with `restrict` applied to it; returns its kubeconfig. */
  async function serviceAccount(name: string, restrict: (manifest: string) => string = (m) => m): Promise<string> {
    const manifest = restrict(
      readFileSync(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8')
        .split(/^---$/m)
        .filter((doc) => !/^kind: Namespace$/m.test(doc))
        .join('---')
        .replaceAll('breakglass-system', env.namespace)
        .replaceAll('breakglass-runner', name),
    );
    execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'apply', '-f', '-'], { input: manifest, stdio: ['pipe', 'ignore', 'inherit'] });
    roleNames.push(name);
    const tr = await env
      .admin()
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccountToken({ name, namespace: env.namespace, body: { spec: { expirationSeconds: 3600, audiences: [] } } });
    const file = join(etc(), `${name}.kubeconfig`);
    writeFileSync(file, tokenKubeConfig(cluster.server, readFileSync(cluster.caFile, 'utf8'), tr.status!.token!).exportConfig(), { mode: 0o600 });
    return file;
  }

  beforeAll(async () => {
    await env.setup();
    // An approved session waits in git: a runner that starts on a bad config must not activate it.
    await env.addSession(id, { duration: '15m' });
  });
  afterAll(async () => {
    const [ns, name] = kustomized;
    if (ns) execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'delete', 'namespace', ns, '--wait=false', '--ignore-not-found'], { stdio: 'ignore' });
    if (name) roleNames.push(name);
    for (const n of roleNames)
      for (const kind of ['clusterrole', 'clusterrolebinding']) execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'delete', kind, n, '--ignore-not-found'], { stdio: 'ignore' });
    gpg.dispose();
    await env.cleanup();
  });

  it('passes a good config: exit 0, one ok line', async () => {
    const r = await run(env.configFile, ['--check']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^runner --check: ok \(\d+ checks passed\)$/m);
    expect(await created()).toEqual([]);
  });

  it('passes under exactly the RBAC deploy/ ships, with a real ServiceAccount token', async () => {
    const kc = await serviceAccount(`pf-full-${env.namespace}`);
    const r = await run(
      variant('full-rbac', (c) => (c.resources['prod-eu'].kubeconfig = kc)),
      ['--check'],
    );
    expect(r.code, r.stderr).toBe(0);
  });

  const cases: { name: string; code: string; message: RegExp; make: () => Promise<string> | string; env?: NodeJS.ProcessEnv }[] = [
    {
      name: 'a sign-only key (gpg --quick-gen-key ... sign)',
      code: 'PREFLIGHT_KEY_CANNOT_ENCRYPT',
      message: /signing key [0-9A-F]{40} cannot encrypt to itself: .*encryption key.*\(fix: add an encryption subkey/,
      make: () => {
        const fpr = gpg.generate('runner-signonly', 'ed25519', 'sign', 'never', new Date(Date.now() - 3600_000).toISOString());
        writeFileSync(join(etc(), 'keys', 'signonly.sec.asc'), gpg.run(['--armor', '--export-secret-keys', fpr]), { mode: 0o600 });
        writeFileSync(join(etc(), 'keys', 'signonly.asc'), gpg.exportKeys(fpr));
        const trust = parse(readFileSync(join(etc(), 'trust.yaml'), 'utf8')) as Config;
        writeFileSync(join(etc(), 'trust-signonly.yaml'), stringify({ ...trust, runner: 'keys/signonly.asc' }));
        return variant('sign-only', (c) => ((c.signingKey = 'keys/signonly.sec.asc'), (c.trust = 'trust-signonly.yaml')));
      },
    },
    {
      name: 'a missing trust file',
      code: 'PREFLIGHT_TRUST_INVALID',
      message: /trust file .*no-such-trust\.yaml: .*\(fix: point `trust:`/,
      make: () => variant('no-trust', (c) => (c.trust = 'no-such-trust.yaml')),
    },
    {
      name: 'an unreachable remote',
      code: 'PREFLIGHT_REMOTE_UNREACHABLE',
      message: /repository .*gone\.git cannot be reached: .*\(fix: check `repository.url`/,
      make: () => variant('no-remote', (c) => (c.repository.url = join(env.root, 'gone.git'))),
    },
    {
      name: 'a branch the remote does not have',
      code: 'PREFLIGHT_BRANCH_MISSING',
      message: /has no branch release \(fix: set `repository.branch`/,
      make: () => variant('no-branch', (c) => (c.repository.branch = 'release')),
    },
    {
      name: 'a missing namespace',
      code: 'PREFLIGHT_NAMESPACE_MISSING',
      message: /namespace bg-pf-absent of resource prod-eu .* does not exist \(fix: create it/,
      make: () => variant('no-ns', (c) => (c.resources['prod-eu'].namespace = 'bg-pf-absent')),
    },
    {
      name: 'a Role without one verb the runner needs (update configmaps)',
      code: 'PREFLIGHT_PERMISSION_MISSING',
      message: /the runner may not update configmaps in namespace bg-rt-\w+ \(needed for markers and claims \("once"\)\) for resource prod-eu .*\(fix: grant it as deploy\/rbac\.yaml does/,
      make: async () => {
        const kc = await serviceAccount(`pf-less-${env.namespace}`, (m) => m.replace('verbs: [create, get, list, update]', 'verbs: [create, get, list]'));
        return variant('less-rbac', (c) => (c.resources['prod-eu'].kubeconfig = kc));
      },
    },
    {
      name: 'a provider variable that is not set',
      code: 'PREFLIGHT_PROVIDER_ENV_MISSING',
      message: /resource prod-eu: tailscale needs BG_TS_KEY, which is not set in the runner's environment \(fix: set BG_TS_KEY/,
      make: () =>
        variant(
          'no-provider-env',
          (c) => (c.resources['prod-eu'].tailscale = { tailnet: 'example.com', apiUrl: 'http://127.0.0.1:9', apiKeyEnv: 'BG_TS_KEY', tags: ['tag:breakglass'], routes: ['10.96.0.0/12'] }),
        ),
    },
  ];

  describe.each(cases)('with $name', ({ code, message, make }) => {
    let config: string;
    beforeAll(async () => void (config = await make()));

    it(`--check exits 2 with ${code} and how to fix it`, async () => {
      const r = await run(config, ['--check']);
      expect(r.code).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l.includes('preflight: PREFLIGHT_'));
      // Exactly the problem this config has, one line, nothing else wrong.
      expect(lines.map((l) => /preflight: (\w+)/.exec(l)![1])).toEqual([code]);
      expect(lines[0]).toMatch(message);
      expect(r.stdout).toBe('');
    });

    it('the runner refuses to start: the approved session is not activated, nothing is created', async () => {
      const r = await run(config, ['--once']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`runner refuses to start[\\s\\S]*`));
      expect(r.stderr).not.toMatch(/marker created|credential delivered/);
      expect(await created()).toEqual([]);
    });
  });

  it("kubectl apply -k of an overlay on deploy/ creates the runner's objects, and its ServiceAccount passes --check", async () => {
    // An overlay as an operator would write one: its own namespace and a suffix (cluster-scoped names are shared with other runs).
    const suffix = env.namespace.slice(-6);
    const ns = `bg-kz-${suffix}`;
    const overlay = join(env.root, 'overlay');
    mkdirSync(overlay);
    writeFileSync(join(overlay, 'kustomization.yaml'), stringify({ resources: [relative(overlay, join(ROOT, 'deploy'))], namespace: ns, nameSuffix: `-${suffix}` }));
    kustomized.push(ns, `breakglass-runner-${suffix}`);
    const applied = execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'apply', '-k', overlay], { encoding: 'utf8' });
    for (const what of [
      `namespace/${ns}`,
      `serviceaccount/breakglass-runner-${suffix}`,
      `role.rbac.authorization.k8s.io/breakglass-runner-${suffix}`,
      `clusterrole.rbac.authorization.k8s.io/breakglass-runner-${suffix}`,
      `deployment.apps/breakglass-runner-${suffix}`,
      `networkpolicy.networking.k8s.io/breakglass-runner-${suffix}`,
      `service/breakglass-runner-metrics-${suffix}`,
    ]) {
      expect(applied).toContain(`${what} created`);
    }
    const deployment = JSON.parse(execFileSync('kubectl', ['--kubeconfig', cluster.kubeconfig, 'get', 'deployment', `breakglass-runner-${suffix}`, '-n', ns, '-o', 'json'], { encoding: 'utf8' }));
    const container = deployment.spec.template.spec.containers[0];
    expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path, container.ports[0].containerPort]).toEqual(['/healthz', '/readyz', 9090]);
    const tr = await env
      .admin()
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccountToken({ name: `breakglass-runner-${suffix}`, namespace: ns, body: { spec: { expirationSeconds: 3600, audiences: [] } } });
    const kc = join(etc(), 'kustomized.kubeconfig');
    writeFileSync(kc, tokenKubeConfig(cluster.server, readFileSync(cluster.caFile, 'utf8'), tr.status!.token!).exportConfig(), { mode: 0o600 });
    const r = await run(
      variant('kustomized', (c) => Object.assign(c.resources['prod-eu'], { kubeconfig: kc, namespace: ns })),
      ['--check'],
    );
    expect(r.code, r.stderr).toBe(0);
  });

  it('the good config then activates the waiting session (the refusals above held it back)', async () => {
    const r = await run(env.configFile, ['--once']);
    expect(r.code, r.stderr).toBe(0);
    expect(await created()).toEqual(expect.arrayContaining([`ConfigMap bg-marker-${id}`, `ServiceAccount bg-${id}`, `${id}.asc`]));
  });
});
