/**
 * Credentials by resource type through the real runner (the binary), and
 * failures of provider APIs: a command credential sealed, received and
 * revoked; a vendor-held resource where only the network path opens and
 * closes; a provider failing during assembly (rolled back, recorded failed);
 * a provider failing during teardown (retried next loop, then complete).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SESSION_LABEL } from '../../src/core/plan.js';
import { MarkerStore } from '../../src/runner/marker.js';
import { Kube } from '../../src/adapters/kubernetes.js';
import { routerHostname } from '../../src/runner/providers/tailscale.js';
import { workloadName } from '../../src/runner/providers/workload.js';
import { binary } from '../helpers/cli.js';
import { tailscaleRouter } from '../helpers/path-sim.js';
import { ProviderEnv } from '../helpers/provider-env.js';

const cluster = inject('cluster');
const NP = 'networking.k8s.io/v1';

describe('credentials and provider failures through the runner', () => {
  const env = new ProviderEnv(cluster);
  const secrets: string[] = [];
  let markers: MarkerStore;
  const run = () => env.reconcile();
  const record = (id: string) => parse(env.remoteFile(`sessions/${id}/record.yaml`) ?? 'null');
  const delivered = (id: string) => existsSync(join(env.outbox, `${id}.asc`));
  const labelled = async (id: string) => [
    ...(await env.raw.list('v1', 'ServiceAccount', env.namespace, `${SESSION_LABEL}=${id}`)),
    ...(await env.raw.list('apps/v1', 'Deployment', env.namespace, `${SESSION_LABEL}=${id}`)),
    ...(await env.raw.list('v1', 'Secret', env.namespace, `${SESSION_LABEL}=${id}`)),
    ...(await env.raw.listAllNamespaces(NP, 'NetworkPolicy', `${SESSION_LABEL}=${id}`)),
  ];

  beforeAll(async () => {
    await env.setup();
    markers = new MarkerStore(new Kube(env.admin()), env.namespace);
  });
  afterAll(() => env.cleanup());

  it('command: the output is sealed and delivered, received as the file itself (0600), revoked at the end', async () => {
    const id = 'cmd-db';
    await env.addSession(id, { resource: 'orders-db', privilege: 'read-write', command: { name: 'db-password', inputs: { database: 'orders' } }, duration: '20m' });
    await run();
    expect(delivered(id)).toBe(true);
    const got = await env.receive(id, `${id}.credential`);
    expect(got.code, got.stderr).toBe(0);
    const file = join(env.root, `${id}.credential`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const credential = readFileSync(file, 'utf8');
    expect(credential).toMatch(/^pw-orders-[0-9a-f]{16}$/);
    secrets.push(credential);

    env.endSession(id);
    await run();
    expect(env.revokedLog()).toBe(`orders ${id}\n`);
    expect(delivered(id)).toBe(false);
    const rec = record(id);
    expect(rec).toMatchObject({ outcome: 'ended', credential: { kind: 'command', sha256: `sha256:${createHash('sha256').update(credential).digest('hex')}` }, revocation: { method: 'command', result: 'revoked' } });
  });

  it('command: a runner killed right after the command ran rolls back on restart and revokes what it made', async () => {
    const id = 'cmd-crash';
    await env.addSession(id, { resource: 'orders-db', privilege: 'read-write', command: { name: 'db-password', inputs: { database: 'billing' } }, duration: '20m' });
    const killed = await env.run({ BREAKGLASS_FAULT_KILL_AFTER: 'credential' });
    expect(killed.code).not.toBe(0);
    expect(env.revokedLog()).not.toContain(id);
    await run();
    expect(env.revokedLog()).toContain(`billing ${id}\n`);
    expect(delivered(id)).toBe(false);
    expect(record(id)).toMatchObject({ outcome: 'failed', failure: { code: 'RUNNER_INTERRUPTED' }, revocation: { method: 'command', result: 'revoked' } });
    expect(record(id).credential).toBeUndefined();
  });

  it('vendor-held: nothing minted or delivered; only the NetworkPolicy opens and closes', async () => {
    const id = 'vh-box';
    await env.addSession(id, { resource: 'vendor-box', privilege: 'ssh', network: 'networkpolicy', duration: '20m' });
    const r = await run();
    expect(r.stderr).toMatch(new RegExp(`session ${id}: network path networkpolicy open; the credential is vendor-held, nothing delivered`));
    expect(delivered(id)).toBe(false);
    expect(await env.raw.get(NP, 'NetworkPolicy', env.appNamespace, `bg-${id}`)).toBeDefined();
    expect(await env.raw.list('v1', 'ServiceAccount', env.namespace, `${SESSION_LABEL}=${id}`)).toEqual([]);

    env.endSession(id);
    await run();
    expect(await labelled(id)).toEqual([]);
    const rec = record(id);
    expect(rec).toMatchObject({ outcome: 'ended', credential: { kind: 'none', delivery: { channel: 'none' } } });
    expect(rec.revocation).toBeUndefined();
    expect(rec.teardown.deleted).toEqual([expect.objectContaining({ kind: 'NetworkPolicy', namespace: env.appNamespace })]);
  });

  it('a provider API failing during assembly leaves nothing behind and records the session failed', async () => {
    const id = 'rb-tg';
    // The connector is created, then token generation fails: the connector must go too.
    env.twingate.failNext((q) => q.body.includes('connectorGenerateTokens'), { status: 200, body: { data: { connectorGenerateTokens: { ok: false, error: 'Insufficient permissions', connectorTokens: null } } } });
    await env.addSession(id, { network: 'twingate', duration: '20m' });
    const r = await run();
    expect(r.stderr).toMatch(new RegExp(`session ${id}: activation failed at network: generate Twingate connector tokens failed`));
    expect(env.twingate.requests.some((q) => q.body.includes('connectorCreate'))).toBe(true);
    expect(env.twingate.connectors.size).toBe(0);
    expect(await labelled(id)).toEqual([]);
    expect(delivered(id)).toBe(false);
    expect(record(id)).toMatchObject({ outcome: 'failed', failure: { step: 'network', code: 'PROVIDER_FAILED' } });
  });

  it('a provider API failing during teardown is retried on the next loop, which completes it', async () => {
    const id = 'td-ts';
    await env.addSession(id, { network: 'tailscale', duration: '20m' });
    const router = tailscaleRouter(env.raw, env.tailscale, env.namespace, id);
    await run();
    router.stop();
    const key = [...env.tailscale.keys.values()][0]!;
    secrets.push(key.key);
    // Every attempt of the bounded retry fails: this loop's teardown cannot finish.
    env.tailscale.failNext((q) => q.method === 'DELETE' && q.path.startsWith('/api/v2/device/'), { status: 500, body: { message: 'internal error' } }, 4);

    env.endSession(id);
    const first = await run();
    expect(first.stderr).toMatch(new RegExp(`session ${id}: .*HTTP 500: internal error; will retry next loop`));
    expect((await markers.get(id))?.state.phase).toBe('ending');
    expect(env.tailscale.devices.size).toBe(1);
    expect(env.remoteFile(`sessions/${id}/record.yaml`)).toBeUndefined();

    await run();
    expect((await markers.get(id))?.state.phase).toBe('ended');
    expect(env.tailscale.devices.size).toBe(0);
    expect(env.tailscale.keys.size).toBe(0);
    expect(await labelled(id)).toEqual([]);
    expect(record(id)).toMatchObject({ outcome: 'ended', endReason: 'end requested', revocation: { result: 'unauthenticated' } });
  });

  it('audit accepts the records: a successful revoke proves the command credential dead, vendor-held needs no proof', async () => {
    env.git('pull', '-q', '--rebase', 'origin', 'main');
    const r = await binary(['audit', '--trust', join(env.root, 'etc', 'trust.yaml'), '--repository', 'github.com/customer/access', '--poll-interval', '1s', '--json'], { cwd: env.work });
    const report = JSON.parse(r.stdout) as { sessions: { id: string; findings: { code: string }[] }[] };
    for (const id of ['cmd-db', 'vh-box']) expect(report.sessions.find((x) => x.id === id)?.findings).toEqual([]);
  });

  it('never writes the command output or a provider key to its log or to git', () => {
    secrets.push(env.tailscale.apiKey, env.twingate.apiKey);
    const history = env.remoteHistory();
    for (const s of secrets) {
      expect(history).not.toContain(s);
      for (const l of env.logs) expect(l).not.toContain(s);
    }
  });
});
