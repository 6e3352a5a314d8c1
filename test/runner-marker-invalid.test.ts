/**
 * A marker or claim that cannot be read is MARKER_INVALID / CLAIM_INVALID and
 * fails closed: nothing is activated, torn down or rolled back from it, it is
 * reported every loop, the other sessions go on, and the reaper still removes
 * its objects once their expiry annotation has passed. File markers and a
 * fake API server's ConfigMaps stand in for a cluster.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Kube } from '../src/adapters/kubernetes.js';
import { EXPIRES_ANNOTATION, MANAGED_BY, SESSION_LABEL } from '../src/core/plan.js';
import { generateKeyPair, readPrivateKey } from '../src/crypto/openpgp.js';
import type { RunnerDeps, Target } from '../src/runner/context.js';
import { FileClaimStore, FileMarkerStore } from '../src/runner/file-markers.js';
import { reconcileOnce } from '../src/runner/loop.js';
import { MARKER_LABEL, MarkerStore, markerName, PHASE_LABEL } from '../src/runner/marker.js';
import { reap } from '../src/runner/reaper.js';
import { readLoopState, writeLoopState } from '../src/runner/repo.js';
import { markerState } from './helpers/markers.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bg-mi-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Plants `text` as version 1 of `session`'s file marker, as a hand edit or a torn copy would. */
function plant(markers: string, session: string, text: string): void {
  mkdirSync(markers, { recursive: true });
  writeFileSync(join(markers, `${session}.v000001.json`), text);
}

const BAD: [string, (s: string) => string][] = [
  ['bad JSON', () => '{"session": "s-bad", "phase": "act'],
  ['the wrong shape (objects is not a list)', (s) => JSON.stringify({ ...markerState(s, 'active'), objects: 'all of them' })],
  ['an unknown phase', (s) => JSON.stringify({ ...markerState(s, 'active'), phase: 'paused' })],
  ['an active phase without an expiry', (s) => JSON.stringify({ ...markerState(s, 'active'), expires: undefined })],
  ['another session in it', () => JSON.stringify(markerState('s-other', 'active'))],
  ['a time that is not a time', (s) => JSON.stringify({ ...markerState(s, 'active'), expires: 'tomorrow' })],
];

describe('a file marker that cannot be read', () => {
  for (const [what, text] of BAD) {
    it(`is MARKER_INVALID, naming the session and the file, when it holds ${what}`, async () => {
      const store = new FileMarkerStore(dir);
      plant(dir, 's-bad', text('s-bad'));
      await expect(store.get('s-bad')).rejects.toMatchObject({ code: 'MARKER_INVALID', message: expect.stringContaining('s-bad') });
      await expect(store.get('s-bad')).rejects.toMatchObject({ message: expect.stringContaining('s-bad.v000001.json') });
    });
  }

  it('is listed as unreadable beside the open markers it must not hide', async () => {
    const store = new FileMarkerStore(dir);
    await store.create(markerState('s-good', 'active'));
    await store.create(markerState('s-done', 'ended'));
    plant(dir, 's-bad', '{');
    const listed = await store.listOpen();
    expect(listed.markers.map((m) => m.state.session)).toEqual(['s-good']);
    expect(listed.unreadable.map((u) => [u.session, u.error.code])).toEqual([['s-bad', 'MARKER_INVALID']]);
  });
});

describe('a marker ConfigMap that cannot be read', () => {
  /** Just enough of the Kubernetes adapter for MarkerStore's reads. */
  function fakeKube(cms: V1ConfigMap[]): Kube {
    const fake: Pick<Kube, 'readConfigMap' | 'listConfigMaps'> = {
      readConfigMap: async (_ns, name) => cms.find((c) => c.metadata?.name === name),
      listConfigMaps: async () => cms,
    };
    return fake as Kube;
  }
  const cm = (session: string, phase: string, json: string, resourceVersion = '7'): V1ConfigMap => ({
    metadata: { name: markerName(session), namespace: 'bg', resourceVersion, labels: { [MARKER_LABEL]: 'true', [PHASE_LABEL]: phase, [SESSION_LABEL]: session } },
    data: { 'session.json': json },
  });

  it('is MARKER_INVALID naming the session and the ConfigMap, and does not hide the readable ones', async () => {
    const store = new MarkerStore(
      fakeKube([
        cm('s-good', 'active', JSON.stringify(markerState('s-good', 'active'))),
        cm('s-bad', 'active', JSON.stringify({ ...markerState('s-bad', 'active'), phase: 'paused' })),
        // The label is what the open list selects by: content that disagrees with it is not trusted either way.
        cm('s-relabelled', 'active', JSON.stringify(markerState('s-relabelled', 'ended'))),
      ]),
      'bg',
    );
    await expect(store.get('s-bad')).rejects.toMatchObject({ code: 'MARKER_INVALID', message: expect.stringContaining('ConfigMap bg/bg-marker-s-bad') });
    const listed = await store.listOpen();
    expect(listed.markers.map((m) => m.state.session)).toEqual(['s-good']);
    expect(listed.unreadable.map((u) => [u.session, u.error.code])).toEqual([
      ['s-bad', 'MARKER_INVALID'],
      ['s-relabelled', 'MARKER_INVALID'],
    ]);
  });

  it('is MARKER_INVALID when it has no session.json or no resourceVersion', async () => {
    const noData: V1ConfigMap = { ...cm('s-a', 'active', ''), data: {} };
    const noVersion = cm('s-b', 'active', JSON.stringify(markerState('s-b', 'active')), '');
    const store = new MarkerStore(fakeKube([noData, noVersion]), 'bg');
    await expect(store.get('s-a')).rejects.toMatchObject({ code: 'MARKER_INVALID' });
    await expect(store.get('s-b')).rejects.toMatchObject({ code: 'MARKER_INVALID' });
  });
});

describe('a claim that cannot be read', () => {
  const claim = { session: 's1', resource: 'db', requestDigest: `sha256:${'0'.repeat(64)}`, runner: 'r', commit: 'c'.repeat(40) };
  const planted: [string, string][] = [
    ['bad JSON', '{"session"'],
    ['the wrong shape', JSON.stringify({ session: 's1', resource: 7 })],
  ];
  for (const [what, text] of planted) {
    it(`refuses the id with CLAIM_INVALID when it holds ${what}, even for the same resource and request`, async () => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 's1.json'), text);
      expect(await new FileClaimStore(dir).claim(claim)).toMatch(/^CLAIM_INVALID: session id s1 /);
    });
  }

  it('still lets our own readable claim go on, and refuses another', async () => {
    const store = new FileClaimStore(dir);
    expect(await store.claim(claim)).toBeUndefined();
    expect(await store.claim(claim)).toBeUndefined();
    expect(await store.claim({ ...claim, resource: 'other' })).toMatch(/^SESSION_CLAIMED: /);
  });
});

describe('the loop, when one marker cannot be read', () => {
  /** A runner with one clusterless resource, whose git remote is unreachable: only step 2 runs. */
  async function runner(now: number): Promise<{ deps: RunnerDeps; markers: string; log: string[] }> {
    const state = join(dir, 'state');
    const markers = join(state, 'markers', 'db');
    mkdirSync(markers, { recursive: true });
    const key = await generateKeyPair({ name: 'runner', email: 'runner@example.com' });
    const log: string[] = [];
    const target = { resource: 'db', config: {}, namespace: 'bg', markers: new FileMarkerStore(markers), clusterless: true, server: '' } as unknown as Target;
    const deps = {
      config: { state, repository: { name: 'github.com/customer/access' } },
      signingKey: await readPrivateKey(key.privateKey),
      fingerprint: key.fingerprint,
      runnerId: 'runner-b',
      targets: new Map([['db', target]]),
      mirror: {
        fetch: async () => {
          throw new Error('unreachable');
        },
      },
      env: {},
      now: () => now,
      delay: async () => undefined,
      log: (line: string) => log.push(line),
      afterStep: async () => undefined,
      staleActivationMs: 60_000,
      preflightFailures: new Map(),
      auditors: [],
    } as unknown as RunnerDeps;
    return { deps, markers, log };
  }

  it('reports it as MARKER_INVALID, leaves it untouched, and still rolls back a dead activation beside it', async () => {
    const now = Date.parse('2026-11-21T05:00:00Z');
    const { deps, markers, log } = await runner(now);
    // Past its expiry: were it readable, it would be torn down now. Unreadable, nothing may be done from it.
    const bad = JSON.stringify({ ...markerState('s-bad', 'active'), objects: 'gone' });
    plant(markers, 's-bad', bad);
    const store = new FileMarkerStore(markers);
    await store.create(markerState('s-dead', 'activating', { runner: 'runner-a' }));

    await reconcileOnce(deps);

    expect(readdirSync(markers).filter((f) => f.startsWith('s-bad'))).toEqual(['s-bad.v000001.json']);
    expect(readFileSync(join(markers, 's-bad.v000001.json'), 'utf8')).toBe(bad);
    expect((await store.get('s-dead'))?.state.phase).toBe('failed');
    const loop = JSON.parse(readFileSync(join(deps.config.state, 'loop.json'), 'utf8')) as { failures: Record<string, { code: string }> };
    expect(loop.failures['s-bad']?.code).toBe('MARKER_INVALID');
    expect(log.some((l) => l.includes('s-bad') && l.includes('MARKER_INVALID'))).toBe(true);
  });
});

describe('the reaper, when a marker cannot be read', () => {
  it("keeps the session's objects until their expiry annotation has passed, then removes them", async () => {
    const markers = join(dir, 'markers');
    plant(markers, 's-bad', '{');
    const removed: string[] = [];
    const object = (name: string, expires: string) => ({
      kind: 'ServiceAccount',
      name,
      namespace: 'bg',
      labels: { [MANAGED_BY]: 'breakglass', [SESSION_LABEL]: 's-bad' },
      annotations: { [EXPIRES_ANNOTATION]: expires },
    });
    const owned = [object('bg-s-bad-live', '2026-11-21T06:00:00Z'), object('bg-s-bad-overdue', '2026-11-21T04:00:00Z')];
    const t = {
      resource: 'db',
      namespace: 'bg',
      markers: new FileMarkerStore(markers),
      kube: { listOwned: async () => owned, delete: async (o: { name: string }) => removed.push(o.name) > 0 },
      raw: { list: async () => [], listAllNamespaces: async () => [] },
    } as unknown as Target;
    const d = { now: () => Date.parse('2026-11-21T05:00:00Z'), log: () => undefined } as unknown as RunnerDeps;
    expect(await reap(d, t)).toBe(1);
    expect(removed).toEqual(['bg-s-bad-overdue']);
  });
});

describe("the runner's loop state, when it cannot be read", () => {
  const planted: [string, string][] = [
    ['bad JSON', '{"pending": ['],
    ['the wrong shape', JSON.stringify({ pending: 'all', failures: [] })],
  ];
  for (const [what, text] of planted) {
    it(`is reported as STATE_INVALID and read as an empty state when it holds ${what}`, async () => {
      writeFileSync(join(dir, 'loop.json'), text);
      const log: string[] = [];
      expect(await readLoopState(dir, (l) => log.push(l))).toEqual({ pending: [] });
      expect(log.some((l) => l.startsWith('STATE_INVALID'))).toBe(true);
    });
  }

  it('is read back as written', async () => {
    const st = { lastCommit: 'c'.repeat(40), pending: ['s1'], ends: ['s2'], failures: { s3: { code: 'MARKER_INVALID', message: 'm' } } };
    await writeLoopState(dir, st);
    expect(await readLoopState(dir)).toEqual(st);
  });
});
