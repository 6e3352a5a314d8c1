/**
 * Session recording through the gateway, end to end: the real runner (a
 * long-lived process serving the gateway), the real API server, and the real
 * kubectl using the kubeconfig `receive` wrote. Every request is recorded and
 * sealed to the auditor; the vendor never holds the ServiceAccount token; the
 * end is instant at the gateway; deny rules hold; and a resource whose policy
 * requires recording is refused when it cannot be recorded.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:https';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openRecording } from '../../src/core/recording-open.js';
import type { RecordingEvent } from '../../src/core/recording.js';
import { readPrivateKey, unseal } from '../../src/crypto/openpgp.js';
import { binary } from '../helpers/cli.js';
import { GatewayEnv, type LiveRunner } from '../helpers/gateway-env.js';
import { kubectl, kubectlEventually } from '../helpers/kubectl.js';

const cluster = inject('cluster');
const ID = 'rec-admin';

type Req = Extract<RecordingEvent, { type: 'request' }>;

describe('a recorded session through the gateway', () => {
  const env = new GatewayEnv(cluster);
  const work = `bg-work-${Math.random().toString(16).slice(2, 8)}`;
  let runner: LiveRunner;
  let kc: string;
  let credential: string;
  let saToken: string;
  let events: RecordingEvent[] = [];

  beforeAll(async () => {
    await env.setupGateway();
    const core = env.admin().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: work } } });
    await core.createNamespacedServiceAccount({ namespace: work, body: { metadata: { name: 'default' } } });
    // A pod with no node: there is no kubelet here, so an exec into it fails at the API server — after the gateway recorded the attempt.
    await core.createNamespacedPod({ namespace: work, body: { metadata: { name: 'app' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'busybox' }] } } });
    await env.addSession(ID, { privilege: 'cluster-admin', duration: '15m' });
    await env.addSession('rec-nogw', { resource: 'prod-nogw', privilege: 'view', duration: '15m' });
    runner = env.startRunner();
    await runner.waitFor(new RegExp(`session ${ID}: credential delivered`));
  });
  afterAll(async () => {
    await runner?.stop();
    await env
      .admin()
      .makeApiClient(CoreV1Api)
      .deleteNamespace({ name: work })
      .catch(() => undefined);
    await env.cleanup();
  });

  it('delivers a kubeconfig that points at the gateway and holds no ServiceAccount token', async () => {
    const r = await env.receive(ID);
    expect(r.code, r.stderr).toBe(0);
    kc = join(env.root, `${ID}.kubeconfig`);
    const doc = parse(readFileSync(kc, 'utf8')) as { clusters: { cluster: { server: string } }[]; users: { user: { token: string } }[] };
    expect(doc.clusters[0]!.cluster.server).toBe(env.gatewayUrl);
    credential = doc.users[0]!.user.token;
    expect(credential).toMatch(new RegExp(`^bgw1\\.${ID}\\.[A-Za-z0-9_-]{43}$`));
    // The token the gateway forwards with lives only in the marker, sealed to the runner's key.
    const marker = await env
      .admin()
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace: env.namespace, name: `bg-marker-${ID}` });
    const state = JSON.parse(marker.data!['session.json']!) as { sealedToken: string; credentialSha256: string };
    saToken = new TextDecoder().decode(await unseal(await readPrivateKey(env.runnerKey.privateKey), state.sealedToken));
    expect(saToken.split('.')).toHaveLength(3);
    expect(readFileSync(kc, 'utf8')).not.toContain(saToken);
    expect(marker.data!['session.json']).not.toContain(credential);
  });

  it('serves get, create, delete, a watch and an exec attempt with the real kubectl', async () => {
    expect((await kubectlEventually(kc, 'get', 'configmaps', '-n', work)).ok).toBe(true);
    const created = await kubectl(kc, 'create', 'configmap', 'made-by-vendor', '-n', work, '--from-literal=k=v');
    expect(created.ok, created.out).toBe(true);
    // A watch: the stream stays open through the gateway while an object appears.
    const watch = spawn('kubectl', ['--kubeconfig', kc, 'get', 'configmaps', '-n', work, '-w', '--output-watch-events']);
    let watched = '';
    watch.stdout.on('data', (b: Buffer) => (watched += b.toString()));
    await until(() => watched.includes('made-by-vendor'));
    await env
      .admin()
      .makeApiClient(CoreV1Api)
      .createNamespacedConfigMap({ namespace: work, body: { metadata: { name: 'seen-by-watch' } } });
    await until(() => watched.includes('seen-by-watch'));
    watch.kill('SIGTERM');
    const deleted = await kubectl(kc, 'delete', 'configmap', 'made-by-vendor', '-n', work);
    expect(deleted.ok, deleted.out).toBe(true);
    const exec = await kubectl(kc, 'exec', 'app', '-n', work, '--', 'ls', '-la', '/tmp');
    expect(exec.ok).toBe(false);
  });

  it('refuses what the deny rules name, and the runner namespace, with 403 and a Status body', async () => {
    const ns = await kubectl(kc, 'delete', 'namespace', work);
    expect(ns.out).toMatch(/Error from server \(Forbidden\): breakglass gateway: delete namespaces is denied by the policy/);
    expect((await kubectl(kc, 'get', 'secrets', '-n', 'kube-system')).out).toMatch(/\(Forbidden\).*denied by the policy/);
    // Across all namespaces the runner's token and chunk Secrets would be in the answer: refused before any rule.
    expect((await kubectl(kc, 'get', 'secrets', '-A')).out).toMatch(/\(Forbidden\).*secrets across all namespaces would include the runner's/);
    expect((await kubectl(kc, 'get', '--raw', '/api/v1/nodes/n1/proxy/pods')).out).toMatch(/\(Forbidden\).*node proxy/);
    expect((await kubectl(kc, 'get', 'pods', '-A')).ok).toBe(true);
    expect((await kubectl(kc, 'get', 'configmaps', '-n', env.namespace)).out).toMatch(/\(Forbidden\).*holds the runner's own state/);
    // Nothing was deleted: the refusal happened at the gateway.
    expect((await kubectl(env.cluster.kubeconfig, 'get', 'namespace', work)).ok).toBe(true);
  });

  it('refuses a request that asks to act as someone else (kubectl --as, X-Remote-*), with 403 and a Status body', async () => {
    // --raw: no discovery requests first, so the one request below is the one refused.
    const as = await kubectl(kc, 'get', '--raw', `/api/v1/namespaces/${work}/configmaps`, '--as', 'system:admin', '--as-group', 'system:masters');
    expect(as.ok).toBe(false);
    expect(as.out).toMatch(/\(Forbidden\).*the session acts only as itself; refused the headers impersonate-group, impersonate-user/);
    expect(await gatewayStatus(env, credential, `/api/v1/namespaces/${work}/configmaps`, { 'X-Remote-User': 'system:admin' })).toBe(403);
  });

  it('is no open proxy: a forged secret for the session, a Kubernetes token, or no credential at all get 401', async () => {
    expect(await gatewayStatus(env, `bgw1.${ID}.${'A'.repeat(43)}`)).toBe(401);
    expect(await gatewayStatus(env, saToken)).toBe(401);
    expect(await gatewayStatus(env, '')).toBe(401);
    // The real one still works: the refusals were about the credential, not the session.
    expect(await gatewayStatus(env, credential)).toBe(200);
  });

  it('refuses a path the API server could read differently (percent-escapes), so no deny rule is dodged by spelling', async () => {
    // kubectl itself normalises %2D to "-", and the rule holds on the normalised path...
    expect((await kubectl(kc, 'get', '--raw', '/api/v1/namespaces/kube%2Dsystem/secrets')).out).toMatch(/\(Forbidden\).*denied by the policy/);
    // ...and a client that sends the escape as is gets 400 before any rule is even consulted.
    expect(await gatewayStatus(env, credential, '/api/v1/namespaces/kube%2Dsystem/secrets')).toBe(400);
    expect(await gatewayStatus(env, credential, '/api/v1/namespaces/default/../kube-system/secrets')).toBe(400);
  });

  it('refuses the credential on the first request after the runner processed the end, and cuts the watch still open', async () => {
    const watch = spawn('kubectl', ['--kubeconfig', kc, 'get', 'configmaps', '-n', work, '-w']);
    let out = '';
    watch.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<void>((r) => watch.once('exit', () => r()));
    await until(() => out.includes('seen-by-watch'));
    env.endSession(ID);
    await runner.waitFor(new RegExp(`gateway: session ${ID} refused from now on`));
    // The stream does not outlive the session: the gateway cut it (kubectl may retry the watch; that retry is refused).
    await exited;
    // The API server would still accept the ServiceAccount token for a while (its cache); the gateway does not wait for that.
    expect(await gatewayStatus(env, credential)).toBe(401);
    const after = await kubectl(kc, 'get', 'configmaps', '-n', work);
    expect(after.ok).toBe(false);
    expect(after.out).toMatch(/Unauthorized/);
  });

  it('commits the sealed recording with the signed record; the auditor opens it and sees each request', async () => {
    await runner.waitFor(new RegExp(`record ${ID}: pushed`));
    const record = parse(env.remoteFile(`sessions/${ID}/record.yaml`)!) as { recording: { chunks: number; head: string } };
    expect(record.recording.chunks).toBeGreaterThan(0);
    const names = execFileSync('git', ['-C', env.remote, 'ls-tree', '--name-only', `main:sessions/${ID}/recording`], { encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(names).toHaveLength(record.recording.chunks);
    const files = names.map((name) => ({ name, bytes: new Uint8Array(execFileSync('git', ['-C', env.remote, 'show', `main:sessions/${ID}/recording/${name}`])) }));
    const opened = await openRecording(ID, files, record.recording, await readPrivateKey(env.auditor.privateKey));
    expect(opened.ok, JSON.stringify(opened)).toBe(true);
    events = opened.ok ? opened.events : [];
    const requests = events.filter((e): e is Req => e.type === 'request');
    const find = (pred: (r: Req) => boolean) => requests.find(pred);
    const statusOf = (r: Req | undefined) => events.find((e) => e.type === 'response' && e.id === r?.id) as { status: number } | undefined;
    const list = find((r) => r.verb === 'list' && r.resource?.resource === 'configmaps' && r.resource.namespace === work);
    expect(statusOf(list)?.status).toBe(200);
    const create = find((r) => r.verb === 'create' && r.resource?.resource === 'configmaps');
    expect(statusOf(create)?.status).toBe(201);
    // What was created is in the recording: the body the client sent.
    expect(streamText(events, create!.id, 'client')).toContain('made-by-vendor');
    expect(statusOf(find((r) => r.verb === 'delete' && r.resource?.name === 'made-by-vendor'))?.status).toBe(200);
    const watch = find((r) => r.verb === 'watch' && r.resource?.resource === 'configmaps');
    expect(streamText(events, watch!.id, 'server')).toContain('seen-by-watch');
    const execs = requests.filter((r) => r.resource?.subresource === 'exec');
    expect(execs.length).toBeGreaterThan(0);
    for (const x of execs) expect(x.argv).toEqual(['ls', '-la', '/tmp']);
    expect(statusOf(execs[0])?.status).toBeGreaterThanOrEqual(400);
  });

  it('`breakglass replay` verifies the committed recording and shows each request, the exec argv and the denied ones', async () => {
    const clone = mkdtempSync(join(tmpdir(), 'bg-replay-'));
    try {
      execFileSync('git', ['clone', '-q', env.remote, join(clone, 'repo')]);
      // The auditor's secret key, as an auditor keeps it: a file only they can read.
      const keyFile = join(clone, 'auditor.asc');
      writeFileSync(keyFile, env.auditor.privateKey, { mode: 0o600 });
      const args = ['replay', ID, '--key', keyFile, '--trust', join(env.root, 'etc', 'trust.yaml'), '--repo', join(clone, 'repo')];
      const text = await binary(args, { cwd: clone });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/chain head sha256:[0-9a-f]{64} verified against the runner-signed record/);
      for (const shown of [
        /\blist +200 +configmaps/,
        /\bcreate +201 +configmaps/,
        /\bdelete +200 +configmaps\/made-by-vendor/,
        /\bwatch +200 +configmaps/,
        /exec .*\n *argv: \["ls","-la","\/tmp"\]/,
        /DENIED \(GATEWAY_DENIED/,
      ])
        expect(text.stdout).toMatch(shown);
      const json = await binary([...args, '--json'], { cwd: clone });
      expect(json.code).toBe(0);
      const doc = JSON.parse(json.stdout) as { verified: boolean; events: { type: string; verb?: string }[] };
      expect(doc.verified).toBe(true);
      expect(doc.events.filter((e) => e.type === 'request').map((e) => e.verb)).toEqual(expect.arrayContaining(['list', 'create', 'delete', 'watch']));
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
  });

  it('records each refused request as denied', () => {
    const denied = events.filter((e): e is Extract<RecordingEvent, { type: 'denied' }> => e.type === 'denied');
    const deniedRequest = (pred: (r: Req) => boolean) => denied.some((d) => events.some((e) => e.type === 'request' && e.id === d.id && pred(e)));
    expect(deniedRequest((r) => r.verb === 'delete' && r.resource?.resource === 'namespaces')).toBe(true);
    expect(deniedRequest((r) => r.verb === 'list' && r.resource?.resource === 'secrets' && r.resource.namespace === 'kube-system')).toBe(true);
    expect(deniedRequest((r) => r.verb === 'list' && r.resource?.resource === 'secrets' && !r.resource.namespace)).toBe(true);
    expect(denied.some((d) => d.rule.startsWith('GATEWAY_PROTECTED_NAMESPACE'))).toBe(true);
    expect(denied.some((d) => d.rule.includes('percent-escapes'))).toBe(true);
    expect(denied.filter((d) => d.rule.startsWith('GATEWAY_IMPERSONATION_REFUSED')).length).toBeGreaterThanOrEqual(2);
  });

  it('never records, commits, logs or stores the gateway credential or the ServiceAccount token in clear', () => {
    const recording = JSON.stringify(events);
    for (const secret of [credential, saToken]) {
      expect(recording).not.toContain(secret);
      expect(env.remoteHistory()).not.toContain(secret);
      expect(runner.logs).not.toContain(secret);
      for (const f of filesUnder(env.state)) expect(readFileSync(f).includes(secret), f).toBe(false);
    }
  });

  it('removes the chunks from the cluster once they are committed', async () => {
    const left = await env
      .admin()
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace: env.namespace, labelSelector: `breakglass.dev/recording=${ID}` });
    expect(left.items).toHaveLength(0);
  });

  it('refuses a session whose policy requires recording when its resource has no gateway: RECORDING_NO_GATEWAY, nothing delivered', async () => {
    const loop = JSON.parse(readFileSync(join(env.state, 'loop.json'), 'utf8')) as { refused?: Record<string, { code: string }> };
    expect(loop.refused?.['rec-nogw']?.code).toBe('RECORDING_NO_GATEWAY');
    expect(() => statSync(join(env.outbox, 'rec-nogw.asc'))).toThrow();
    const marker = await env
      .admin()
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace: env.namespace, name: 'bg-marker-rec-nogw' })
      .catch(() => undefined);
    expect(marker).toBeUndefined();
  });
});

describe('a recorded resource on a runner that serves no gateway', () => {
  const env = new GatewayEnv(cluster);
  beforeAll(async () => {
    await env.setupGateway();
    await env.addSession('rec-down', { privilege: 'view', duration: '15m' });
  });
  afterAll(() => env.cleanup());

  it('--once serves no gateway, so the session is held back: RECORDING_GATEWAY_DOWN, nothing created or delivered', async () => {
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    const loop = JSON.parse(readFileSync(join(env.state, 'loop.json'), 'utf8')) as { failures?: Record<string, { code: string }> };
    expect(loop.failures?.['rec-down']?.code).toBe('RECORDING_GATEWAY_DOWN');
    expect(() => statSync(join(env.outbox, 'rec-down.asc'))).toThrow();
  });

  it('without the gateway listener in the config, the resource is refused: RECORDING_NO_GATEWAY', async () => {
    env.listener = false;
    env.writeRunnerFiles('4h');
    env.endSession('rec-down');
    await env.addSession('rec-nolisten', { privilege: 'view', duration: '15m' });
    const r = await env.runner();
    expect(r.code, r.stderr).toBe(0);
    const loop = JSON.parse(readFileSync(join(env.state, 'loop.json'), 'utf8')) as { refused?: Record<string, { code: string }> };
    expect(loop.refused?.['rec-nolisten']?.code).toBe('RECORDING_NO_GATEWAY');
    expect(() => statSync(join(env.outbox, 'rec-nolisten.asc'))).toThrow();
  });
});

/** Bounded polling for something the test itself caused; never a timing assertion. */
async function until(cond: () => boolean, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !cond(); i++) await new Promise((r) => setTimeout(r, 200));
  if (!cond()) throw new Error('condition never held');
}

function streamText(events: RecordingEvent[], id: string, direction: 'client' | 'server'): string {
  return Buffer.concat(
    events.filter((e): e is Extract<RecordingEvent, { type: 'stream' }> => e.type === 'stream' && e.id === id && e.direction === direction).map((e) => Buffer.from(e.data, 'base64')),
  ).toString('utf8');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** One request straight to the gateway, as any HTTPS client would send it. */
function gatewayStatus(env: GatewayEnv, token: string, path = '/api/v1/namespaces/default/configmaps', headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    // host/port/path given apart, so the path reaches the gateway byte for byte (no URL normalisation).
    const req = request({ host: '127.0.0.1', port: env.port, path, ca: readFileSync(env.tls.ca), headers: { ...headers, authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
