/**
 * The runner under faults, on the real API server: killed with SIGKILL after
 * every activation step and restarted, raced against a second runner, fed
 * unsigned and tampered sessions, and cut off from its git remote.
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Kube } from '../../src/adapters/kubernetes.js';
import { SESSION_LABEL } from '../../src/core/plan.js';
import { MarkerStore, markerName } from '../../src/runner/marker.js';
import { binary } from '../helpers/cli.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

describe('the runner under faults', () => {
  const env = new RunnerEnv(cluster);
  let kube: Kube;
  let markers: MarkerStore;
  const owned = async (id: string) => kube.listOwned(env.namespace, `${SESSION_LABEL}=${id}`);
  const delivered = (id: string) => existsSync(join(env.outbox, `${id}.asc`));
  // The marker object itself: a second activation would need a new one (markers are never deleted, creation is atomic).
  const markerUid = async (id: string) => (await kube.readConfigMap(env.namespace, markerName(id)))?.metadata?.uid;
  beforeAll(async () => {
    await env.setup();
    kube = new Kube(env.admin());
    markers = new MarkerStore(kube, env.namespace);
  });
  afterAll(() => env.cleanup());

  describe('when killed with SIGKILL right after a step of activation, then restarted', () => {
    const rolledBack = ['marker', 'network', 'serviceaccount', 'binding', 'token', 'sealed'];
    for (const step of rolledBack) {
      it(`after "${step}": rolls back, leaves nothing, never delivers`, async () => {
        const id = `kill-${step}`;
        await env.addSession(id, { duration: '20m' });
        const killed = await env.runner(['--once'], { BREAKGLASS_FAULT_KILL_AFTER: step });
        expect(killed.code).not.toBe(0);
        expect((await markers.get(id))?.state.phase).toBe('activating');
        const uid = await markerUid(id);
        expect(uid).toBeTruthy();
        const again = await env.runner();
        expect(again.code, again.stderr).toBe(0);
        // Rolled back on the marker of the killed run, not re-activated on a new one.
        expect(await markerUid(id)).toBe(uid);
        expect((await markers.get(id))?.state.phase).toBe('failed');
        expect(await owned(id)).toEqual([]);
        expect(delivered(id)).toBe(false);
        expect(env.remoteFile(`sessions/${id}/record.yaml`)).toMatch(/outcome: failed[\s\S]*RUNNER_INTERRUPTED/);
      });
    }

    it('after "active" (marked, not yet delivered): stays active and is never delivered', async () => {
      const id = 'kill-active';
      await env.addSession(id, { duration: '20m' });
      expect((await env.runner(['--once'], { BREAKGLASS_FAULT_KILL_AFTER: 'active' })).code).not.toBe(0);
      const again = await env.runner();
      expect(again.code).toBe(0);
      expect((await markers.get(id))?.state.phase).toBe('active');
      expect(delivered(id)).toBe(false);
      expect((await owned(id)).length).toBe(2);
    });

    it('after "delivered": delivered exactly once, not again after the restart', async () => {
      const id = 'kill-delivered';
      await env.addSession(id, { duration: '20m' });
      expect((await env.runner(['--once'], { BREAKGLASS_FAULT_KILL_AFTER: 'delivered' })).code).not.toBe(0);
      expect(delivered(id)).toBe(true);
      const uid = await markerUid(id);
      const sealed = readFileSync(join(env.outbox, `${id}.asc`));
      const again = await env.runner();
      expect(again.code, again.stderr).toBe(0);
      // The same marker, and the delivery byte for byte the first one: nothing was minted or sealed again.
      expect(await markerUid(id)).toBe(uid);
      expect(readFileSync(join(env.outbox, `${id}.asc`)).equals(sealed)).toBe(true);
      expect(readdirSync(env.outbox).filter((f) => f.startsWith(id))).toEqual([`${id}.asc`]);
      expect((await owned(id)).filter((o) => o.kind === 'ServiceAccount').length).toBe(1);
      expect((await markers.get(id))?.state.phase).toBe('active');
    });
  });

  it('two runners at once: exactly one activation', async () => {
    const id = 'race-once';
    await env.addSession(id, { duration: '20m' });
    // A second runner with its own state directory, same cluster and outbox: a second replica.
    const second = join(env.root, 'etc', 'runner-b.yaml');
    writeFileSync(second, env.configYaml().replace(env.state, `${env.state}-b`));
    const [a, b] = await Promise.all([env.runner(), binary(['runner', '--config', second, '--once'], { cwd: env.root, env: { BREAKGLASS_RUNNER_ID: 'runner-b' } })]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const created = [a.stderr, b.stderr].join('\n').match(new RegExp(`session ${id}: marker created`, 'g')) ?? [];
    expect(created.length).toBe(1);
    expect((await owned(id)).filter((o) => o.kind === 'ServiceAccount').length).toBe(1);
    expect(readdirSync(env.outbox).filter((f) => f === `${id}.asc`).length).toBe(1);
  });

  describe('when a session on the default branch is not properly signed', () => {
    for (const tamper of ['unsigned', 'wrong-bytes', 'request-changed'] as const) {
      it(`(${tamper}) nothing is minted`, async () => {
        const id = `bad-${tamper}`;
        // The approval was for `view` for 1h; the tampered request asks cluster-admin for 2h.
        await env.addSession(id, { tamper, privilege: 'view' });
        const r = await env.runner();
        expect(r.code).toBe(0);
        expect(r.stderr).toMatch(new RegExp(`session ${id}: pending: .*(SIGNATURE|DIGEST|THRESHOLD)`));
        expect(await markers.get(id)).toBeUndefined();
        expect(await owned(id)).toEqual([]);
        expect(delivered(id)).toBe(false);
      });
    }
  });

  it('with the git remote unreachable, a session still ends on time; the record is pushed once it is back', async () => {
    const id = 'offline-expiry';
    await env.addSession(id, { duration: '10s' });
    expect((await env.runner()).code).toBe(0);
    expect(delivered(id)).toBe(true);
    const expires = Date.parse((await markers.get(id))!.state.expires!);
    renameSync(env.remote, `${env.remote}.away`);
    try {
      await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 1000));
      const r = await env.runner();
      expect(r.stderr).toMatch(/fetch failed/);
      expect((await markers.get(id))?.state.phase).toBe('ended');
      expect(await owned(id)).toEqual([]);
      expect(existsSync(join(env.state, 'records', id, 'record.yaml'))).toBe(true);
    } finally {
      renameSync(`${env.remote}.away`, env.remote);
    }
    expect((await env.runner()).code).toBe(0);
    expect(env.remoteFile(`sessions/${id}/record.yaml`)).toMatch(/endReason: expired/);
  });
});

describe('when the git history is rewritten', () => {
  const env = new RunnerEnv(cluster);
  beforeAll(() => env.setup());
  afterAll(() => env.cleanup());

  it('a session id that already activated never activates again', async () => {
    const id = 'rewritten';
    const before = env.git('rev-parse', 'HEAD').trim();
    await env.addSession(id, { duration: '20m' });
    expect((await env.runner()).code).toBe(0);
    const kube = new Kube(env.admin());
    const first = await kube.readConfigMap(env.namespace, markerName(id));
    expect(first?.metadata?.uid).toBeTruthy();
    const sealed = readFileSync(join(env.outbox, `${id}.asc`));
    // Force-push history without the session, then the same id again with a fresh, valid approval.
    env.git('reset', '-q', '--hard', before);
    env.git('push', '-q', '--force', 'origin', 'HEAD:main');
    await env.addSession(id, { duration: '20m', privilege: 'cluster-admin' });
    const again = await env.runner();
    expect(again.code).toBe(0);
    // The first activation's marker, untouched in what it was for; the first delivery, and no other.
    const after = await kube.readConfigMap(env.namespace, markerName(id));
    expect(after?.metadata?.uid).toBe(first?.metadata?.uid);
    expect(after?.data?.['session.json']).toBe(first?.data?.['session.json']);
    expect(readdirSync(env.outbox)).toEqual([`${id}.asc`]);
    expect(readFileSync(join(env.outbox, `${id}.asc`)).equals(sealed)).toBe(true);
  });
});
