/**
 * `breakglass audit` on crafted histories: one test per finding code, each a
 * real git repository with real signatures, and a clean history that exits 0.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_CODES, type AuditReport } from '../src/core/audit.js';
import { cli } from './helpers/cli.js';
import { AUDIT_NOW, AuditRepo, T } from './helpers/audit-history.js';
import { recordedSession } from './helpers/recording.js';

async function audit(repo: AuditRepo, extra: string[] = []): Promise<{ code: number; report: AuditReport; stderr: string }> {
  const r = await cli(['audit', '--trust', repo.trustFile, '--repo', repo.dir, '--json', ...extra], { cwd: repo.dir, now: AUDIT_NOW });
  if (r.code === 2) throw new Error(`audit failed: ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as AuditReport, stderr: r.stderr };
}

function codes(report: AuditReport, session?: string): string[] {
  const all = [...report.findings, ...report.sessions.flatMap((s) => s.findings)];
  return [...new Set(all.filter((f) => session === undefined || f.session === session).map((f) => f.code))].sort();
}

/** A repository with the approved policy; returns it and the policy digest. */
async function base(): Promise<{ repo: AuditRepo; policy: string }> {
  const repo = await AuditRepo.create();
  return { repo, policy: await repo.policy(T('02:00:00')) };
}

function expectOnly(report: AuditReport, id: string | undefined, ...expected: string[]): void {
  expect(codes(report, id)).toEqual([...expected].sort());
}

describe('breakglass audit', () => {
  it('exits 0 on a clean history: ended by request, ended at expiry, pending, rejected', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1-clean', policy);
    await repo.session('inc-2-expired', policy, { end: false, record: { ended: T('03:22:04'), endReason: 'expired' } });
    repo.request('inc-3-pending');
    repo.commit(T('05:00:00'));
    repo.request('inc-4-rejected');
    repo.write(
      'sessions/inc-4-rejected/rejection.yaml',
      'apiVersion: breakglass.dev/v1\nkind: Rejection\nsession: inc-4-rejected\nrequest: sha256:0000000000000000000000000000000000000000000000000000000000000000\nby: alice\nat: 2026-11-21T05:01:00Z\nreason: not needed\n',
    );
    repo.commit(T('05:01:00'));
    const { code, report } = await audit(repo);
    expect(report.sessions.flatMap((s) => s.findings)).toEqual([]);
    expect(code).toBe(0);
    expect(report.clean).toBe(true);
    expect(Object.fromEntries(report.sessions.map((s) => [s.id, s.status]))).toEqual({ 'inc-1-clean': 'recorded', 'inc-2-expired': 'recorded', 'inc-3-pending': 'open', 'inc-4-rejected': 'rejected' });
    const s1 = report.sessions.find((s) => s.id === 'inc-1-clean')!;
    expect(s1.approvals).toMatchObject([{ approver: 'alice', accepted: true, key: repo.keys.alice!.fingerprint }]);
  });

  it('RECORD_FORGED: a record signed by a key that is not the runner key of the trust file', async () => {
    const { repo, policy } = await base();
    const request = repo.request('inc-1');
    repo.commit(T('02:17:00'));
    const approval = await repo.approve('inc-1', 'alice', request);
    const commit = repo.commit(T('02:21:30'));
    await repo.record('inc-1', repo.recordDoc('inc-1', { request, approval, policy, commit }), T('02:40:05'), 'mallory');
    const { code, report } = await audit(repo);
    expect(code).toBe(1);
    expectOnly(report, 'inc-1', 'RECORD_FORGED');
    expect(report.sessions[0]!.findings[0]!.message).toContain('KEY_UNTRUSTED');
  });

  it('RECORD_INVALID: the record names a request digest the activation commit does not hold', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1', policy, { record: { request: `sha256:${'ab'.repeat(32)}` } });
    expectOnly((await audit(repo)).report, 'inc-1', 'RECORD_INVALID');
  });

  it('RECORD_CHANGED: a record rewritten after the runner committed it', async () => {
    const { repo, policy } = await base();
    const s = await repo.session('inc-1', policy);
    await repo.record('inc-1', repo.recordDoc('inc-1', { ...s, policy }, { endReason: 'tidied up' }), T('06:00:00'));
    expectOnly((await audit(repo)).report, 'inc-1', 'RECORD_CHANGED');
  });

  it('REQUEST_CHANGED: a request edited after approval (and activated on the edited bytes)', async () => {
    const { repo, policy } = await base();
    const request = repo.request('inc-1');
    repo.commit(T('02:17:00'));
    const approval = await repo.approve('inc-1', 'alice', request);
    repo.commit(T('02:21:00'));
    const edited = repo.request('inc-1', { privilege: 'cluster-admin' });
    const commit = repo.commit(T('02:21:30'), 'widen');
    await repo.record('inc-1', repo.recordDoc('inc-1', { request: edited, approval, policy, commit }), T('02:40:05'));
    const { report } = await audit(repo);
    expectOnly(report, 'inc-1', 'REQUEST_CHANGED', 'APPROVALS_INSUFFICIENT');
    expect(report.sessions[0]!.findings.find((f) => f.code === 'APPROVALS_INSUFFICIENT')!.message).toContain('REQUEST_DIGEST_MISMATCH');
  });

  it('APPROVALS_INSUFFICIENT: activated after the only approval had expired', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1', policy, { end: false, record: { activated: T('03:30:00'), expires: T('04:30:00'), ended: T('04:30:03') } });
    const { report } = await audit(repo);
    expectOnly(report, 'inc-1', 'APPROVALS_INSUFFICIENT');
    expect(report.sessions[0]!.findings[0]!.message).toContain('APPROVAL_EXPIRED');
  });

  it('APPROVAL_AFTER_ACTIVATION: an approval added after activation does not make it approved', async () => {
    const { repo, policy } = await base();
    const request = repo.request('inc-1');
    const commit = repo.commit(T('02:17:00'));
    const approval = await repo.approve('inc-1', 'alice', request);
    repo.commit(T('02:45:00'), 'approve after the fact');
    await repo.record('inc-1', repo.recordDoc('inc-1', { request, approval, policy, commit }), T('02:46:00'));
    const { report } = await audit(repo);
    expectOnly(report, 'inc-1', 'APPROVAL_AFTER_ACTIVATION', 'UNAPPROVED_RECORD');
  });

  it('UNAPPROVED_RECORD: a record for a session that was rejected', async () => {
    const { repo, policy } = await base();
    const request = repo.request('inc-1');
    repo.write('sessions/inc-1/rejection.yaml', `apiVersion: breakglass.dev/v1\nkind: Rejection\nsession: inc-1\nrequest: ${request}\nby: alice\nat: 2026-11-21T02:18:00Z\nreason: no\n`);
    const commit = repo.commit(T('02:18:00'));
    await repo.record('inc-1', repo.recordDoc('inc-1', { request, approval: request, policy, commit }, { approvals: [] }), T('02:40:05'));
    expectOnly((await audit(repo)).report, 'inc-1', 'UNAPPROVED_RECORD');
  });

  it('ACTIVATION_OFF_BRANCH: activated from the pull request before it was merged', async () => {
    const { repo, policy } = await base();
    repo.git('checkout', '-q', '-b', 'pr');
    const request = repo.request('inc-1');
    repo.commit(T('02:17:00'));
    const approval = await repo.approve('inc-1', 'alice', request);
    const commit = repo.commit(T('02:21:00'));
    repo.git('checkout', '-q', 'main');
    repo.git('-c', 'core.editor=true', 'merge', '-q', '--no-ff', 'pr', '-m', 'merge pr');
    await repo.record('inc-1', repo.recordDoc('inc-1', { request, approval, policy, commit }), T('02:40:05'));
    expectOnly((await audit(repo)).report, 'inc-1', 'ACTIVATION_OFF_BRANCH');
  });

  it('DURATION_EXCEEDED: active for longer than approved', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1', policy, { end: false, record: { expires: T('04:22:00'), ended: T('04:22:03'), endReason: 'expired' } });
    const { report } = await audit(repo);
    expectOnly(report, 'inc-1', 'DURATION_EXCEEDED');
    expect(report.sessions[0]!.findings).toHaveLength(2);
  });

  it('END_NOT_HONOURED: an end request noticed later than one poll interval (plus tolerance)', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1', policy, { record: { ended: T('02:41:00') } });
    expectOnly((await audit(repo)).report, 'inc-1', 'END_NOT_HONOURED');
    // With a runner that polls every minute, the same history is fine: the option is the contract.
    expect((await audit(repo, ['--poll-interval', '1m'])).code).toBe(0);
  });

  it('TEARDOWN_INCOMPLETE: teardown did not delete everything it created', async () => {
    const { repo, policy } = await base();
    const deleted = [{ kind: 'ServiceAccount', apiVersion: 'v1', namespace: 'breakglass-system', name: 'bg-inc-1' }];
    await repo.session('inc-1', policy, { record: { teardown: { deleted, completed: T('02:40:03'), errors: [] } } });
    const { report } = await audit(repo);
    expectOnly(report, 'inc-1', 'TEARDOWN_INCOMPLETE');
    expect(report.sessions[0]!.findings[0]!.message).toContain('ClusterRoleBinding bg-inc-1');
  });

  it('TEARDOWN_INCOMPLETE: a record with no teardown at all', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1', policy, { record: { teardown: undefined } });
    expectOnly((await audit(repo)).report, 'inc-1', 'TEARDOWN_INCOMPLETE');
  });

  it('REVOCATION_UNPROVEN: the token was still accepted at the end', async () => {
    const { repo, policy } = await base();
    await repo.session('inc-1', policy, { record: { revocation: { method: 'TokenReview', at: T('02:40:03'), result: 'still-authenticated', attempts: 10 } } });
    expectOnly((await audit(repo)).report, 'inc-1', 'REVOCATION_UNPROVEN');
  });

  it('REVOCATION_UNPROVEN: "serviceaccount-absent" proves nothing when no ServiceAccount was deleted', async () => {
    const { repo, policy } = await base();
    const revocation = { method: 'ServiceAccount deleted', at: T('02:40:03'), result: 'serviceaccount-absent' };
    await repo.session('inc-ok', policy, { record: { revocation } });
    await repo.session('inc-1', policy, { record: { revocation, objects: [], teardown: { deleted: [], completed: T('02:40:03'), errors: [] } } });
    const { report } = await audit(repo);
    expect(codes(report, 'inc-ok')).toEqual([]);
    expectOnly(report, 'inc-1', 'REVOCATION_UNPROVEN');
  });

  it('POLICY_UNAPPROVED: a policy changed without approval, and a session activated under it', async () => {
    const { repo } = await base();
    const widened = repo.write('policies/production.yaml', (await import('./helpers/approvals.js')).policyYaml({ maxDuration: '4h' }));
    repo.commit(T('02:05:00'), 'widen policy, no approval');
    await repo.session('inc-1', widened);
    const { report } = await audit(repo);
    expectOnly(report, undefined, 'POLICY_UNAPPROVED');
    expect(report.findings).toHaveLength(1);
    expect(report.sessions[0]!.findings.map((f) => f.code)).toEqual(['POLICY_UNAPPROVED']);
  });
});

describe('which policy and which session', () => {
  it('POLICY_ROLLBACK: an older policy version restored with its old approvals, and a session activated under it', async () => {
    const { repo, policy: v1 } = await base();
    const { policyApprovalYaml, policyYaml, sign } = await import('./helpers/approvals.js');
    const old = new Map(['production.yaml', 'approvals/production/alice.yaml', 'approvals/production/alice.yaml.asc'].map((f) => [f, readFileSync(join(repo.dir, 'policies', f))]));
    const v2 = repo.write('policies/production.yaml', policyYaml({ maxDuration: '1h' }));
    const pa = policyApprovalYaml('alice', v2, { signed: '2026-11-10T00:00:00Z' });
    repo.write('policies/approvals/production/alice.yaml', pa);
    repo.write('policies/approvals/production/alice.yaml.asc', await sign(repo.keys.alice!, pa, new Date('2026-11-10T00:00:00Z')));
    repo.commit(T('02:05:00'), 'v2, approved');
    for (const [f, body] of old) writeFileSync(join(repo.dir, 'policies', f), body);
    repo.commit(T('02:10:00'), 'back to v1 with its old approval');
    await repo.session('inc-1', v1);
    const { code, report } = await audit(repo);
    expect(code).toBe(1);
    expectOnly(report, undefined, 'POLICY_ROLLBACK');
    expect(report.findings).toEqual([expect.objectContaining({ code: 'POLICY_ROLLBACK', file: 'policies/production.yaml' })]);
    expect(report.sessions[0]!.findings.map((f) => f.code)).toEqual(['POLICY_ROLLBACK']);
  });

  it('REQUEST_ID_MISMATCH: a request whose metadata.id is not its folder', async () => {
    const { repo } = await base();
    const { requestYaml } = await import('./helpers/approvals.js');
    const digest = repo.write('sessions/inc-1/request.yaml', requestYaml('inc-9-another'));
    await repo.approve('inc-1', 'alice', digest);
    repo.commit(T('02:21:30'));
    expectOnly((await audit(repo)).report, 'inc-1', 'REQUEST_ID_MISMATCH');
  });
});

describe('when the history was rewritten to remove a session', () => {
  async function twoSessions(): Promise<AuditRepo> {
    const { repo, policy } = await base();
    await repo.session('inc-a', policy);
    await repo.session('inc-b', policy);
    repo.git('filter-branch', '-f', '--index-filter', 'git rm -r -q --cached --ignore-unmatch sessions/inc-a', '--', 'main');
    return repo;
  }

  it('HISTORY_REWRITTEN: the surviving record names an activation commit the branch lost (old objects pruned)', async () => {
    const repo = await twoSessions();
    repo.git('update-ref', '-d', 'refs/original/refs/heads/main');
    repo.git('reflog', 'expire', '--expire=now', '--all');
    repo.git('gc', '-q', '--prune=now');
    const { code, report } = await audit(repo);
    expect(code).toBe(1);
    expect(report.sessions.map((s) => s.id)).toEqual(['inc-b']);
    expectOnly(report, 'inc-b', 'HISTORY_REWRITTEN');
  });

  it('HISTORY_REWRITTEN: a runner-signed record of the removed session survives on another ref', async () => {
    const repo = await twoSessions();
    const { report } = await audit(repo);
    const a = report.sessions.find((s) => s.id === 'inc-a')!;
    expect(a.status).toBe('vanished');
    expectOnly(report, 'inc-a', 'HISTORY_REWRITTEN');
    expectOnly(report, 'inc-b', 'HISTORY_REWRITTEN');
  });
});

describe('breakglass audit of session recordings (issue 12)', () => {
  // One history of recorded sessions, each tampered with in one way, audited once.
  let report: AuditReport;
  let exit: number;
  beforeAll(async () => {
    const { repo, policy } = await base();
    const chunk = (i: number) => `${String(i).padStart(6, '0')}.pgp`;
    const files = (cs: { fileName: string; bytes: Uint8Array }[]) => cs.map((c) => ({ name: c.fileName, bytes: c.bytes }));
    await recordedSession(repo, 'inc-1-recorded', policy);
    await recordedSession(repo, 'inc-2-missing', policy, { tamper: () => [] });
    await recordedSession(repo, 'inc-3-truncated', policy, { tamper: (c) => files(c).slice(0, -1) });
    await recordedSession(repo, 'inc-4-extra', policy, { tamper: (c) => [...files(c), { name: 'notes.txt', bytes: new Uint8Array([1]) }] });
    await recordedSession(repo, 'inc-5-reordered', policy, { tamper: (c) => files(c).map((f) => ({ ...f, name: f.name === chunk(1) ? chunk(2) : f.name === chunk(2) ? chunk(1) : f.name })) });
    await recordedSession(repo, 'inc-6-altered', policy, {
      tamper: (c) => files(c).map((f, i) => (i === 0 ? { ...f, bytes: Uint8Array.from(f.bytes, (b, k) => (k === f.bytes.length - 1 ? b ^ 1 : b)) } : f)),
    });
    await recordedSession(repo, 'inc-7-unbound', policy, { record: { recording: undefined } });
    // Deleting a recorded session's whole folder later is allowed: its recording is judged as it was.
    await recordedSession(repo, 'inc-8-deleted-later', policy);
    repo.remove('sessions/inc-8-deleted-later');
    // A recording deleted after its record was committed.
    await recordedSession(repo, 'inc-9-dropped-later', policy);
    repo.remove('sessions/inc-9-dropped-later/recording');
    repo.commit(T('06:00:00'), 'clean up');
    ({ code: exit, report } = await audit(repo));
  });

  it('keeps a recording that matches its signed record clean, also once its folder is deleted', () => {
    expect(exit).toBe(1);
    expectOnly(report, 'inc-1-recorded');
    expectOnly(report, 'inc-8-deleted-later');
    expect(report.sessions.find((s) => s.id === 'inc-1-recorded')!.recording).toMatchObject({ chunks: 4, verified: true });
  });

  it('RECORDING_MISSING: the record names chunks, none are there (never committed, or deleted later)', () => {
    expectOnly(report, 'inc-2-missing', 'RECORDING_MISSING');
    expectOnly(report, 'inc-9-dropped-later', 'RECORDING_MISSING');
  });

  it('RECORDING_MISSING: the policy that governed the session required recording, and its signed record names none', async () => {
    const repo = await AuditRepo.create();
    const policy = await repo.policy(T('02:00:00'), { recording: 'required' });
    await repo.session('inc-1-unrecorded', policy);
    await recordedSession(repo, 'inc-2-recorded', policy);
    // Never activated (failed before anything existed): there was nothing to record.
    await repo.session('inc-3-never-active', policy, { record: { outcome: 'failed', activated: undefined, expires: undefined, failure: { step: 'mint', code: 'PROVIDER_FAILED', message: 'no' } } });
    const { code, report } = await audit(repo);
    expect(code).toBe(1);
    expectOnly(report, 'inc-1-unrecorded', 'RECORDING_MISSING');
    expectOnly(report, 'inc-2-recorded');
    expect(codes(report, 'inc-3-never-active')).not.toContain('RECORDING_MISSING');
  });

  it('RECORDING_TRUNCATED: the last chunk is gone', () => {
    expectOnly(report, 'inc-3-truncated', 'RECORDING_TRUNCATED');
  });

  it('RECORDING_EXTRA: a file in the recording folder that is not a signed chunk', () => {
    expectOnly(report, 'inc-4-extra', 'RECORDING_EXTRA');
  });

  it('RECORDING_REORDERED: two chunks renamed into each other', () => {
    expectOnly(report, 'inc-5-reordered', 'RECORDING_REORDERED');
  });

  it('RECORDING_ALTERED: one byte of a chunk flipped', () => {
    expectOnly(report, 'inc-6-altered', 'RECORDING_ALTERED');
    expect(report.sessions.find((s) => s.id === 'inc-6-altered')!.recording).toMatchObject({ verified: false });
  });

  it('RECORDING_UNBOUND: chunks for a session whose signed record names no recording', () => {
    expectOnly(report, 'inc-7-unbound', 'RECORDING_UNBOUND');
  });
});

describe('the finding codes', () => {
  // Read from this file's text, not from what earlier tests happened to record: the check holds
  // whatever ran before it (a filtered run, a shuffled order) and fails when a code loses its test.
  it('each has a test above, named after it, that expects exactly it', () => {
    const text = readFileSync(import.meta.filename, 'utf8');
    const tests = text.split(/\n {2}it\(/).slice(1);
    const untested = AUDIT_CODES.filter((code) => !tests.some((t) => t.startsWith(`'${code}:`) && new RegExp(`expectOnly\\([^;]*'${code}'`).test(t)));
    expect(untested).toEqual([]);
  });
});
