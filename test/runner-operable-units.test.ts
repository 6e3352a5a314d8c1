/**
 * The parts of an operable runner that need no API server: the permission
 * list agrees with deploy/rbac.yaml rule for rule; every recorded failure
 * carries a specific code; JSON log lines carry only their fixed fields.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BreakglassError } from '../src/core/errors.js';
import { VerificationFailure } from '../src/core/reasons.js';
import { StepError } from '../src/runner/context.js';
import { failureCode } from '../src/runner/failure-code.js';
import { FileMarkerStore } from '../src/runner/file-markers.js';
import type { MarkerState } from '../src/runner/marker.js';
import { fieldsOf, jsonLog } from '../src/runner/log.js';
import { RUNNER_PERMISSIONS } from '../src/runner/permissions.js';
import { ROOT } from './helpers/cli.js';
import { markerState } from './helpers/markers.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** Every (scope, group, resource, verb, name) a set of rules grants, as sortable strings. */
function grants(scope: string, rules: readonly Rule[]): string[] {
  return rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.flatMap((v) => (r.resourceNames ?? ['*']).map((n) => `${scope} ${g}/${res} ${v} ${n}`)))));
}

describe('the permissions the runner checks', () => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy', 'rbac.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; rules?: Rule[] });
  const shipped = [...grants('namespace', docs.find((d) => d.kind === 'Role')!.rules!), ...grants('cluster', docs.find((d) => d.kind === 'ClusterRole')!.rules!)].sort();
  const listed = RUNNER_PERMISSIONS.flatMap((p) =>
    grants(p.scope, [{ apiGroups: [p.group], resources: [p.resource], verbs: [...p.verbs], resourceNames: p.resourceNames && [...p.resourceNames] }]),
  ).sort();

  it('are exactly what deploy/rbac.yaml grants: nothing missing, nothing extra', () => {
    expect(listed).toEqual(shipped);
  });
});

describe('a recorded failure', () => {
  it('keeps the code of our own errors', () => {
    expect(new StepError('credential', new BreakglassError('COMMAND_FAILED', 'x')).code).toBe('COMMAND_FAILED');
    expect(failureCode(new VerificationFailure('KEY_EXPIRED', 'x'), 'session')).toBe('KEY_EXPIRED');
  });

  it('gets the code of its step when the cause has none, never ERROR', () => {
    // What openpgp.js throws for a sign-only runner key at "sealed".
    const openpgp = new Error('Error encrypting message: Could not find valid encryption key packet in key 1234');
    expect(new StepError('sealed', openpgp).code).toBe('SEAL_FAILED');
    expect(new StepError('delivered', Object.assign(new Error('EACCES'), { code: 'EACCES' })).code).toBe('DELIVERY_FAILED');
    for (const step of ['marker', 'network', 'recipient', 'credential', 'active', 'teardown', 'git', 'reaper', 'records', 'unknown-step']) {
      const code = new StepError(step, 'plain string').code;
      expect(code).toMatch(/^[A-Z]+(?:_[A-Z]+)+$/);
      expect(code).not.toBe('ERROR');
    }
  });
});

describe('a JSON log line', () => {
  it('has time, level, session, event and code, and only those with msg', () => {
    const out: string[] = [];
    const log = jsonLog(
      (s) => out.push(s),
      () => Date.parse('2026-12-02T10:00:00Z'),
    );
    log('session inc-1: activation failed at sealed: boom; rolling back (SEAL_FAILED)', { event: 'activation-failed', level: 'error' });
    log('session inc-1: credential delivered', { session: 'inc-1', event: 'activated', extra: 'leak' } as never);
    const [a, b] = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(a).toEqual({
      time: '2026-12-02T10:00:00.000Z',
      level: 'error',
      session: 'inc-1',
      event: 'activation-failed',
      code: 'SEAL_FAILED',
      msg: 'session inc-1: activation failed at sealed: boom; rolling back (SEAL_FAILED)',
    });
    expect(Object.keys(b!).sort()).toEqual(['event', 'level', 'msg', 'session', 'time']);
    expect(out.every((l) => !l.includes('\n'))).toBe(true);
  });

  it('infers the session and code of a plain line', () => {
    expect(fieldsOf('record inc-9: push failed, kept for retry')).toMatchObject({ session: 'inc-9', level: 'warn', event: 'log' });
    expect(fieldsOf('git: fetch failed: GIT_FAILED')).toMatchObject({ code: 'GIT_FAILED', session: undefined });
  });
});

describe('file markers', () => {
  const state = (session: string, phase: MarkerState['phase']) => markerState(session, phase);

  it('are created once, updated by compare-and-swap, and listed open by their latest version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-fm-'));
    try {
      const store = new FileMarkerStore(dir);
      const m = (await store.create(state('s1', 'activating')))!;
      expect(await store.create(state('s1', 'activating'))).toBeUndefined();
      const active = await store.update(m, state('s1', 'active'));
      // A second writer from the same version loses, as with a ConfigMap's resourceVersion.
      await expect(store.update(m, state('s1', 'failed'))).rejects.toMatchObject({ code: 'KUBE_CONFLICT' });
      expect((await store.listOpen()).markers.map((x) => x.state.phase)).toEqual(['active']);
      await store.update(active, state('s1', 'ended'));
      expect(await store.listOpen()).toEqual({ markers: [], unreadable: [] });
      expect((await store.get('s1'))?.state.phase).toBe('ended');
      // Every version is kept, and no temporary file is left behind.
      expect(readdirSync(dir).sort()).toEqual(['s1.v000001.json', 's1.v000002.json', 's1.v000003.json']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
