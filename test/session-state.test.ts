/**
 * The session state machine, each transition on its own, and the runner's
 * loop held to it: for every marker the loop finds, the phases it writes are
 * exactly the ones decide()'s action implies — nothing ended early, nothing
 * rolled back that another runner is still activating, and a teardown that
 * fails half-way is resumed, never re-opened.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTime } from '../src/core/duration.js';
import { decide, phaseChangeAllowed, type MarkerPhase, type SessionFacts, type Transition } from '../src/core/session-state.js';
import { generateKeyPair, readPrivateKey } from '../src/crypto/openpgp.js';
import type { RunnerDeps, Target } from '../src/runner/context.js';
import { FileMarkerStore } from '../src/runner/file-markers.js';
import { reconcileOnce } from '../src/runner/loop.js';
import { checkedMarkers, markerFactsOf, type Marker, type Markers, type MarkerState } from '../src/runner/marker.js';

const NOW = Date.parse('2026-11-21T02:30:00Z');
const git = { requestValid: true, rejected: false, endRequested: false, recorded: false };
const at = (f: Partial<SessionFacts>, now = NOW): Transition => decide({ ...git, ...f }, now);

describe('decide(), before any marker exists', () => {
  it('activates a verified session', () => {
    expect(at({ verified: { ok: true } })).toEqual({ state: 'approved', reason: expect.any(String), action: 'activate' });
  });
  it('keeps an unverified or refused one pending, with the reason', () => {
    expect(at({})).toMatchObject({ state: 'pending', action: 'none' });
    expect(at({ verified: { ok: false, reason: 'THRESHOLD_NOT_MET' } })).toEqual({ state: 'pending', reason: 'THRESHOLD_NOT_MET', action: 'none' });
  });
  it('settles from git alone what is closed there: recorded, invalid, rejected, ended before activation', () => {
    expect(at({ recorded: true, verified: { ok: true } })).toMatchObject({ state: 'ended', action: 'none' });
    expect(at({ requestValid: false, verified: { ok: true } })).toMatchObject({ state: 'failed', action: 'none' });
    expect(at({ rejected: true, verified: { ok: true } })).toMatchObject({ state: 'ended', reason: 'rejected', action: 'none' });
    expect(at({ endRequested: true, verified: { ok: true } })).toMatchObject({ state: 'ended', reason: 'ended before activation', action: 'none' });
  });
});

describe('decide(), with a marker', () => {
  it('never activates again, whatever git says', () => {
    for (const phase of ['activating', 'active', 'ending', 'ended', 'failed'] as const) expect(at({ verified: { ok: true }, marker: { phase, mine: true } }).action).not.toBe('activate');
  });
  it('ends an active session on end.yaml (end) and at its expiry (expire), not before', () => {
    expect(at({ endRequested: true, marker: { phase: 'active', expires: NOW + 1000 } })).toEqual({ state: 'ending', reason: 'end requested', action: 'teardown' });
    expect(at({ marker: { phase: 'active', expires: NOW } })).toEqual({ state: 'ending', reason: 'expired', action: 'teardown' });
    expect(at({ marker: { phase: 'active', expires: NOW + 1 } })).toMatchObject({ state: 'active', action: 'none' });
  });
  it('resumes a teardown in progress (teardown)', () => {
    expect(at({ marker: { phase: 'ending' } })).toMatchObject({ state: 'ending', action: 'resume-teardown' });
  });
  it('rolls back a failed activation (fail), before or after it was marked active', () => {
    for (const phase of ['activating', 'active'] as const)
      expect(at({ marker: { phase, failed: { step: 'delivered', code: 'DELIVERY_FAILED' } } })).toEqual({
        state: 'failed',
        reason: 'activation failed at delivered: DELIVERY_FAILED',
        action: 'rollback',
      });
  });
  it("rolls back our own interrupted activation and a stale one, and leaves another runner's in progress alone", () => {
    const activating = { phase: 'activating' as const, started: NOW - 1000, staleAfterMs: 120_000 };
    expect(at({ marker: { ...activating, mine: true } })).toMatchObject({ state: 'failed', reason: 'activation was interrupted', action: 'rollback' });
    expect(at({ marker: { ...activating, mine: false } })).toMatchObject({ state: 'activating', action: 'none' });
    expect(at({ marker: { ...activating, mine: false, started: NOW - 120_001 } })).toMatchObject({ state: 'failed', reason: 'activation went stale', action: 'rollback' });
    // A start time that cannot be read is not "fresh": fail closed.
    expect(at({ marker: { phase: 'activating', mine: false, staleAfterMs: 120_000 } })).toMatchObject({ action: 'rollback' });
  });
  it('leaves ended and failed sessions alone: they are final', () => {
    expect(at({ endRequested: true, marker: { phase: 'ended' } })).toMatchObject({ state: 'ended', action: 'none' });
    expect(at({ endRequested: true, marker: { phase: 'failed', failed: { step: 'x', code: 'Y' } } })).toMatchObject({ state: 'failed', action: 'none' });
  });
});

describe('the marker phases the state machine writes', () => {
  it('starts at activating and moves only forward', () => {
    expect(phaseChangeAllowed(undefined, 'activating')).toBe(true);
    expect(phaseChangeAllowed(undefined, 'active')).toBe(false);
    expect(phaseChangeAllowed('activating', 'active')).toBe(true);
    expect(phaseChangeAllowed('active', 'ending')).toBe(true);
    expect(phaseChangeAllowed('ending', 'ended')).toBe(true);
    expect(phaseChangeAllowed('ending', 'active')).toBe(false);
    expect(phaseChangeAllowed('active', 'ended')).toBe(false);
    for (const to of ['activating', 'active', 'ending', 'ended', 'failed'] as const) {
      expect(phaseChangeAllowed('ended', to)).toBe(false);
      expect(phaseChangeAllowed('failed', to)).toBe(false);
    }
  });
});

/** A marker state as the runner writes it; only the fields the loop reads differ between cases. */
function state(session: string, phase: MarkerPhase, o: Partial<MarkerState> = {}): MarkerState {
  return {
    session,
    phase,
    runner: 'other-runner',
    started: formatTime(NOW - 1000),
    commit: 'c'.repeat(40),
    repository: 'github.com/acme/access',
    requestDigest: `sha256:${'a'.repeat(64)}`,
    resource: 'box',
    network: 'direct',
    approvals: [{ approver: 'alice', fingerprint: 'F'.repeat(40), file: `sha256:${'b'.repeat(64)}` }],
    policy: { name: 'box', digest: `sha256:${'d'.repeat(64)}` },
    type: 'vendor-held',
    objects: [],
    delivery: { channel: 'none' },
    ...o,
  };
}

/** The real file store, recording each phase it is asked to write; `failOnce` injects one failed write of that phase. */
function recording(inner: Markers, failOnce?: MarkerPhase): Markers & { writes: string[] } {
  const writes: string[] = [];
  let fail = failOnce;
  return {
    writes,
    location: inner.location,
    create: (s) => inner.create(s),
    get: (id) => inner.get(id),
    listOpen: () => inner.listOpen(),
    async update(m: Marker, s: MarkerState) {
      writes.push(`${s.session}: ${m.state.phase} -> ${s.phase}`);
      if (s.phase === fail) {
        fail = undefined;
        throw new Error('injected: the write was lost');
      }
      return inner.update(m, s);
    },
  };
}

/** The writes each action makes, from decide()'s answer alone. */
function expectedWrites(session: string, from: MarkerPhase, tr: Transition): string[] {
  if (tr.action === 'teardown') return [`${session}: ${from} -> ending`, `${session}: ending -> ended`];
  if (tr.action === 'resume-teardown') return [`${session}: ${from} -> ended`];
  if (tr.action === 'rollback') return [`${session}: ${from} -> failed`];
  return [];
}

describe('the loop takes only the transitions decide() gives it', () => {
  const root = mkdtempSync(join(tmpdir(), 'bg-state-'));
  let signingKey: Awaited<ReturnType<typeof readPrivateKey>>;
  beforeAll(async () => {
    signingKey = await readPrivateKey((await generateKeyPair({ name: 'runner', email: 'runner@example.org' })).privateKey);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A runner with one clusterless resource, git unreachable (step 2 alone runs), its markers in `markers`. */
  function deps(dir: string, markers: Markers): RunnerDeps {
    const target = { resource: 'box', config: { markers: 'file', namespace: 'n' }, namespace: 'n', markers, clusterless: true, server: '' } as unknown as Target;
    const offline = {
      fetch: async () => {
        throw new Error('offline');
      },
    };
    const deps = {
      config: { state: dir, repository: { name: 'github.com/acme/access' }, caps: { maxDuration: '4h' }, pollSeconds: 5 },
      trust: {},
      signingKey,
      publicKey: signingKey.toPublic().armor(),
      fingerprint: signingKey.getFingerprint().toUpperCase(),
      runnerId: 'this-runner',
      targets: new Map([['box', target]]),
      mirror: offline,
      channel: { name: 'directory', withdraw: async () => {} },
      env: {},
      now: () => NOW,
      delay: async () => {},
      log: () => {},
      afterStep: async () => {},
      revocationAttempts: 1,
      staleActivationMs: 120_000,
      preflightFailures: new Map(),
      auditors: [],
    };
    return deps as unknown as RunnerDeps;
  }

  const cases: [string, MarkerState][] = [
    ['an active session within its time box', state('open', 'active', { expires: formatTime(NOW + 60_000) })],
    ['an expired session', state('expired', 'active', { expires: formatTime(NOW - 1) })],
    ['another runner activating it right now', state('theirs', 'activating')],
    ["another runner's activation gone stale", state('stale', 'activating', { started: formatTime(NOW - 3_600_000) })],
    ['our own activation, interrupted by a restart', state('ours', 'activating', { runner: 'this-runner' })],
    ['a teardown interrupted half-way', state('half', 'ending', { expires: formatTime(NOW - 1), endReason: 'expired' })],
  ];

  it.each(cases)('%s: the marker is written exactly as decide() says', async (_what, s) => {
    const dir = mkdtempSync(join(root, 'case-'));
    const store = new FileMarkerStore(join(dir, 'markers'));
    const seeded = await store.create(s);
    expect(seeded).toBeDefined();
    const markers = recording(store);
    await reconcileOnce(deps(dir, markers));
    const tr = decide({ ...git, marker: markerFactsOf(s, { runnerId: 'this-runner', staleActivationMs: 120_000 }) }, NOW);
    expect(markers.writes).toEqual(expectedWrites(s.session, s.phase, tr));
    for (const w of markers.writes) {
      const [from, to] = w.split(': ')[1]!.split(' -> ') as [MarkerPhase, MarkerPhase];
      expect(phaseChangeAllowed(from, to), w).toBe(true);
    }
  });

  it('a teardown whose last write is lost is resumed from "ending" next loop, never taken back to active', async () => {
    const dir = mkdtempSync(join(root, 'fault-'));
    const store = new FileMarkerStore(join(dir, 'markers'));
    await store.create(state('lost', 'active', { expires: formatTime(NOW - 1) }));
    const markers = recording(store, 'ended');
    const d = deps(dir, markers);
    await reconcileOnce(d);
    expect((await store.get('lost'))?.state.phase).toBe('ending');
    await reconcileOnce(d);
    expect(markers.writes).toEqual(['lost: active -> ending', 'lost: ending -> ended', 'lost: ending -> ended']);
    expect((await store.get('lost'))?.state.phase).toBe('ended');
    // A third loop finds nothing open: ended is final.
    await reconcileOnce(d);
    expect(markers.writes).toHaveLength(3);
  });

  it('the checked store refuses a write the state machine does not make, and writes nothing', async () => {
    const dir = mkdtempSync(join(root, 'checked-'));
    const store = new FileMarkerStore(join(dir, 'markers'));
    const checked = checkedMarkers(store);
    await expect(checked.create(state('x', 'active'))).rejects.toMatchObject({ code: 'STATE_TRANSITION' });
    const m = await checked.create(state('x', 'activating'));
    expect(m).toBeDefined();
    if (!m) return;
    const ended = await store.update(m, { ...m.state, phase: 'failed' });
    await expect(checked.update(ended, { ...ended.state, phase: 'active' })).rejects.toMatchObject({ code: 'STATE_TRANSITION' });
    expect((await store.get('x'))?.state.phase).toBe('failed');
  });
});
