/**
 * A real Kubernetes API server on loopback, for tests, the demo and benches:
 * etcd (Debian's etcd-server) + kube-apiserver 1.20.2 built from Debian's
 * source package by test/k8s/build-apiserver.sh, with a throwaway CA and
 * serving certificate, RBAC, a static admin token and service-account
 * issuer/signing keys. Or, when BREAKGLASS_TEST_KUBECONFIG names a
 * kubeconfig, that existing cluster (kind, k3d, staging) instead.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { messageOf } from '../crypto/error-parts.js';

const run = promisify(execFile);

/** How to reach a cluster: what tests and the demo need. */
export interface ClusterInfo {
  kubeconfig: string;
  server: string;
  /** PEM file of the CA that signed the API server's certificate. */
  caFile: string;
  /** Whether this process started the cluster (and may stop or restart it). */
  local: boolean;
}

export interface LocalCluster extends ClusterInfo {
  /** Stops the API server only (etcd keeps the data): for "cluster goes away" tests. */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

/**
 * Builds (or finds cached) kube-apiserver; returns its path. The build script's
 * progress lines (phase and elapsed time, one every few seconds) are passed to
 * `log` as they come, so a first run of ten minutes or more is never silent.
 */
export async function ensureApiServerBinary(log: (s: string) => void = () => {}, signal?: AbortSignal): Promise<string> {
  signal?.throwIfAborted();
  const script = join(PROJECT_ROOT, 'test', 'k8s', 'build-apiserver.sh');
  log('ensuring kube-apiserver (built once from Debian source, then cached)');
  // Its own process group, so an abort stops the script and whatever it runs (make, go, apt-get) together.
  const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const onAbort = () => {
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch {
      // Already gone.
    }
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let stdout = '';
  const stderr: string[] = [];
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    if (stderr.length > 60) stderr.shift();
    log(line.replace(/^\[build-apiserver\] /, ''));
  });
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? 1)));
  signal?.removeEventListener('abort', onAbort);
  signal?.throwIfAborted();
  if (code !== 0) throw new Error(`test/k8s/build-apiserver.sh exited ${code}:\n${stderr.join('\n')}`);
  return stdout.trim().split('\n').at(-1)!;
}

async function makePki(dir: string): Promise<void> {
  const o = (args: string[]) => run('openssl', args, { cwd: dir });
  await o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=breakglass-test-ca']);
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n');
  await o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
  await o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
  await o(['genrsa', '-out', 'sa.key', '2048']);
  await o(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

async function waitReady(server: string, token: string, ca: Buffer, proc: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const { Agent, request } = await import('node:https');
  const agent = new Agent({ ca });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode})`);
    const ok = await new Promise<boolean>((res) => {
      const req = request(`${server}/readyz`, { agent, headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (r) => {
        r.resume();
        res(r.statusCode === 200);
      });
      req.on('error', () => res(false));
      req.on('timeout', () => (req.destroy(), res(false)));
      req.end();
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function kubeconfigFor(server: string, ca: Buffer, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin' } }],
    'current-context': 'local',
  });
}

/**
 * Starts etcd and kube-apiserver on loopback in a temporary directory. If
 * starting fails or `signal` aborts it, whatever was started is stopped and
 * the directory removed before the error is thrown; once started, `stop()`
 * is the caller's.
 */
export async function startLocalCluster(opts: { log?: (s: string) => void; signal?: AbortSignal } = {}): Promise<LocalCluster> {
  const log = opts.log ?? (() => {});
  const bin = await ensureApiServerBinary(log, opts.signal);
  const dir = await mkdtemp(join(tmpdir(), 'breakglass-kube-'));
  const started: { etcd?: ChildProcess; stopApiServer?: () => Promise<void> } = {};
  const stopAll = async () => {
    await started.stopApiServer?.();
    const etcd = started.etcd;
    if (etcd && etcd.exitCode === null && etcd.signalCode === null) {
      const exited = new Promise((r) => etcd.once('exit', r));
      etcd.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  // An abort while starting stops what runs, which makes the start below fail and clean up.
  const onAbort = () => void started.stopApiServer?.().then(() => started.etcd?.kill('SIGTERM'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const cluster = await startIn(dir, bin, log, started);
    opts.signal?.throwIfAborted();
    return { ...cluster, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** The body of startLocalCluster: records each process in `started` as soon as it runs. */
async function startIn(dir: string, bin: string, log: (s: string) => void, started: { etcd?: ChildProcess; stopApiServer?: () => Promise<void> }): Promise<Omit<LocalCluster, 'stop'>> {
  await makePki(dir);
  const token = randomBytes(24).toString('hex');
  await writeFile(join(dir, 'tokens.csv'), `${token},breakglass-admin,breakglass-admin,system:masters\n`, { mode: 0o600 });
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const etcd = spawn(
    'etcd',
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${etcdPeer}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  started.etcd = etcd;
  const etcdLog: string[] = [];
  etcd.stderr?.on('data', (d: Buffer) => etcdLog.push(d.toString()));
  const server = `https://127.0.0.1:${apiPort}`;
  const ca = await readFile(join(dir, 'ca.crt'));
  const args = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--tls-cert-file=${join(dir, 'server.crt')}`,
    `--tls-private-key-file=${join(dir, 'server.key')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--api-audiences=https://kubernetes.default.svc',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--enable-priority-and-fairness=false',
    `--cert-dir=${join(dir, 'certs')}`,
    '--v=0',
  ];
  let api: ChildProcess | undefined;
  const apiLog: string[] = [];
  const startApiServer = async () => {
    api = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    api.stderr?.on('data', (d: Buffer) => {
      apiLog.push(d.toString());
      if (apiLog.length > 200) apiLog.shift();
    });
    try {
      await waitReady(server, token, ca, api, 'kube-apiserver');
    } catch (e) {
      throw new Error(`${messageOf(e)}\n${apiLog.join('').slice(-4000)}\n${etcdLog.join('').slice(-2000)}`);
    }
  };
  const stopApiServer = async () => {
    const p = api;
    api = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 5000).unref();
    });
  };
  started.stopApiServer = stopApiServer;
  await startApiServer();
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, kubeconfigFor(server, ca, token), { mode: 0o600 });
  await aggregateClusterRoles(kubeconfig);
  log(`kube-apiserver ready at ${server}`);
  return {
    kubeconfig,
    server,
    caFile: join(dir, 'ca.crt'),
    local: true,
    stopApiServer,
    startApiServer,
  };
}

interface Role {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  rules?: unknown[];
  aggregationRule?: { clusterRoleSelectors?: { matchLabels?: Record<string, string> }[] };
}

/**
 * Does once what kube-controller-manager's ClusterRole aggregation controller
 * does continuously: fills `view`, `edit` and `admin` with the rules of the
 * roles labelled to aggregate into them. A bare API server leaves them empty,
 * and then "view cannot create" would hold for the wrong reason: view could
 * do nothing at all.
 */
export async function aggregateClusterRoles(kubeconfig: string): Promise<void> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { RawKube } = await import('../adapters/kube-raw.js');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const raw = new RawKube(kc);
  const path = '/apis/rbac.authorization.k8s.io/v1/clusterroles';
  // Aggregated roles aggregate into each other (view -> edit -> admin): repeat until nothing changes.
  for (let pass = 0; pass < 5; pass++) {
    const roles = ((await raw.send('GET', path)).body as { items: Role[] }).items;
    let changed = false;
    for (const role of roles.filter((r) => r.aggregationRule?.clusterRoleSelectors?.length)) {
      const selectors = role.aggregationRule!.clusterRoleSelectors!;
      const matches = (r: Role) => r.metadata.name !== role.metadata.name && selectors.some((sel) => Object.entries(sel.matchLabels ?? {}).every(([k, v]) => r.metadata.labels?.[k] === v));
      const rules = roles.filter(matches).flatMap((r) => r.rules ?? []);
      const unique = [...new Map(rules.map((r) => [JSON.stringify(r), r])).values()];
      if (JSON.stringify(unique) === JSON.stringify(role.rules ?? [])) continue;
      await raw.send('PUT', `${path}/${role.metadata.name}`, { ...role, apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', rules: unique });
      changed = true;
    }
    if (!changed) return;
  }
}

/** An existing cluster named by BREAKGLASS_TEST_KUBECONFIG, described the same way. */
export async function externalCluster(kubeconfig: string): Promise<ClusterInfo> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfig} has no current cluster`);
  const dir = await mkdtemp(join(tmpdir(), 'breakglass-ext-'));
  const caFile = join(dir, 'ca.crt');
  await writeFile(caFile, cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? await readFile(cluster.caFile) : '');
  return { kubeconfig, server: cluster.server, caFile, local: false };
}
