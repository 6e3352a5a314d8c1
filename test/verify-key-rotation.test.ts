/**
 * An approver rotates keys, with the real `gpg`: alice approves session
 * inc-1 with her old key, the runner activates and records it, then on
 * 2026-11-25 she makes a new key and revokes the old one. The auditor's trust
 * file now holds both of alice's keys in one armored block, as
 * `gpg --armor --export OLD NEW` writes it.
 *
 * - revoked as superseded: the audit of inc-1 stays clean; the new key
 *   approves new sessions; the old key approves nothing new, even with a
 *   signature dated before the rotation (KEY_RETIRED).
 * - revoked as compromised: inc-1's approval is void, and the audit says so.
 * - one person counts once, under one name with two keys or under two names
 *   (DUPLICATE_APPROVER).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRepo, T } from './helpers/audit-history.js';
import { approvalYaml, REPOSITORY } from './helpers/approvals.js';
import { inProcess } from './helpers/cli.js';
import { GpgHome } from './helpers/gpg-home.js';
import { verifyJson, type VerifyJson } from './helpers/verify-json.js';
import { CommitSource } from '../src/adapters/source.js';
import { loadTrust } from '../src/adapters/trust.js';
import { loadRepository } from '../src/core/repository.js';
import { verifyApprovals } from '../src/core/verify.js';

const OLD_MADE = '2026-11-01T00:00:00Z';
const ROTATED = '2026-11-25T00:00:00Z';
const AFTER = '2026-11-26T10:00:00Z';
const JUDGED = '2026-11-26T10:10:00Z';
const BACKDATED = '2026-11-24T10:00:00Z';
const LATER_EXPIRES = '2026-11-26T11:00:00Z';

const gpg = new GpgHome();
const trustHome = new GpgHome();
let repo: AuditRepo;
let oldKey: string;
let newKey: string;
let newKeySignatureOfInc4: Buffer;

/** Writes an approval of `id` by `approver`, signed by gpg with `key` at `signed`; returns the approval file's digest. */
function gpgApprove(id: string, approver: string, request: string, key: string, signed: string, expires: string): string {
  const rel = `sessions/${id}/approvals/${approver}.yaml`;
  const digest = repo.write(rel, approvalYaml(approver, request, { session: id, signed, expires }));
  gpg.sign(key, join(repo.dir, rel), join(repo.dir, `${rel}.asc`), signed);
  return digest;
}

/** inc-1: approved by alice's old key on 2026-11-21, activated, ended and recorded by the runner. */
async function pastSession(policy: string): Promise<void> {
  const request = repo.request('inc-1');
  repo.commit(T('02:17:00'), 'request inc-1');
  const approval = gpgApprove('inc-1', 'alice', request, oldKey, T('02:21:00'), T('03:21:00'));
  const commit = repo.commit(T('02:21:30'), 'approve inc-1');
  repo.end('inc-1', T('02:40:00'));
  repo.commit(T('02:40:00'), 'end inc-1');
  const doc = repo.recordDoc('inc-1', { request, approval, policy, commit }, { approvals: [{ approver: 'alice', fingerprint: `openpgp:${oldKey}`, file: approval }] });
  await repo.record('inc-1', doc, T('02:40:08'));
}

/**
 * After the rotation: inc-2 approved by the new key; inc-3 by the old key with
 * a signature dated before the rotation (what a thief of the retired key would
 * do); inc-4 by alice under two names (old key as alice, new key as alice2).
 * Signed before the revocation is imported, or gpg would refuse the old key.
 */
function laterSessions(): void {
  const req = Object.fromEntries(['inc-2', 'inc-3', 'inc-4'].map((id) => [id, repo.request(id, { created: '2026-11-26T09:55:00Z' })]));
  repo.commit('2026-11-26T09:55:00Z', 'requests');
  gpgApprove('inc-2', 'alice', req['inc-2']!, newKey, AFTER, LATER_EXPIRES);
  gpgApprove('inc-3', 'alice', req['inc-3']!, oldKey, BACKDATED, LATER_EXPIRES);
  gpgApprove('inc-4', 'alice', req['inc-4']!, oldKey, AFTER, LATER_EXPIRES);
  gpgApprove('inc-4', 'alice2', req['inc-4']!, newKey, AFTER, LATER_EXPIRES);
  const out = join(gpg.dir, 'inc-4-alice-by-new-key.sig');
  gpg.sign(newKey, join(repo.dir, 'sessions/inc-4/approvals/alice.yaml'), out, AFTER);
  newKeySignatureOfInc4 = readFileSync(out);
  repo.commit('2026-11-26T10:01:00Z', 'approvals after the rotation');
}

function writeTrust(file: string, alice: string, extra = ''): string {
  writeFileSync(join(repo.trustDir, 'keys', file), alice);
  const path = join(repo.trustDir, `trust-${file.replace(/\.asc$/, '')}.yaml`);
  writeFileSync(
    path,
    `apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: keys/${file} }\n${extra}  - { name: bob, openpgp: keys/bob.asc }\nrunner: keys/runner.asc\n`,
  );
  return path;
}

const trusts: Record<'superseded' | 'compromised' | 'twoNames' | 'concatenated' | 'keyTwice' | 'bothUnrevoked', string> = {} as never;

/** The rotation on 2026-11-25, and the trust files an auditor might hold afterwards. */
function rotate(): void {
  const oldPlain = gpg.exportKeys(oldKey);
  const newPlain = gpg.exportKeys(newKey);
  const superseded = gpg.revocationCertificate(oldKey, 'superseded', ROTATED);
  const compromised = gpg.revocationCertificate(oldKey, 'compromised', ROTATED);
  gpg.import(superseded);
  const oldSuperseded = gpg.exportKeys(oldKey);
  for (const [name, text] of [
    ['old.asc', oldPlain],
    ['new.asc', newPlain],
  ] as const)
    writeFileSync(join(trustHome.dir, name), text);
  trustHome.import(join(trustHome.dir, 'old.asc'));
  trustHome.import(join(trustHome.dir, 'new.asc'));
  trustHome.import(compromised);
  trusts.superseded = writeTrust('alice-superseded.asc', gpg.exportKeys(oldKey, newKey));
  trusts.compromised = writeTrust('alice-compromised.asc', trustHome.exportKeys(oldKey, newKey));
  trusts.twoNames = writeTrust('alice-old.asc', oldPlain, '  - { name: alice2, openpgp: keys/alice-new.asc }\n');
  writeFileSync(join(repo.trustDir, 'keys', 'alice-new.asc'), newPlain);
  trusts.concatenated = writeTrust('alice-concatenated.asc', oldSuperseded + newPlain);
  trusts.keyTwice = writeTrust('alice-twice.asc', gpg.exportKeys(oldKey, newKey) + oldPlain);
  trusts.bothUnrevoked = writeTrust('alice-both.asc', oldPlain + newPlain);
}

beforeAll(async () => {
  oldKey = gpg.generate('alice', 'ed25519', 'sign', 'never', OLD_MADE);
  newKey = gpg.generate('alice', 'ed25519', 'sign', 'never', ROTATED);
  repo = await AuditRepo.create();
  const policy = await repo.policy(T('02:00:00'), {}, ['bob']);
  await pastSession(policy);
  laterSessions();
  rotate();
});

afterAll(() => {
  gpg.dispose();
  trustHome.dispose();
  for (const dir of repo ? [repo.dir, repo.trustDir] : []) rmSync(dir, { recursive: true, force: true });
});

function verify(id: string, trust: string, at: string): Promise<{ code: number; json: VerifyJson }> {
  return verifyJson(id, trust, repo.dir, at);
}

async function audit(
  trust: string,
): Promise<{ code: number; report: { clean: boolean; sessions: { id: string; approvals: { accepted: boolean; key?: string }[]; findings: { code: string; message: string }[] }[] } }> {
  const r = await inProcess(['audit', '--trust', trust, '--json'], { cwd: repo.dir });
  return { code: r.code, report: JSON.parse(r.stdout) };
}

describe('when the approver rotates and revokes the old key as superseded', () => {
  it('the audit of the session the old key approved stays clean (exit 0)', async () => {
    const { code, report } = await audit(trusts.superseded);
    const inc1 = report.sessions.find((s) => s.id === 'inc-1')!;
    expect(inc1.findings).toEqual([]);
    expect(inc1.approvals).toEqual([expect.objectContaining({ accepted: true, key: oldKey })]);
    expect(report.clean).toBe(true);
    expect(code).toBe(0);
  });
  it('verify of that session as of its activation accepts the old key', async () => {
    const { code, json } = await verify('inc-1', trusts.superseded, T('02:22:00'));
    expect(json.reasons).toEqual([]);
    expect(json.accepted).toEqual([expect.objectContaining({ approver: 'alice', keyId: `openpgp:${oldKey}` })]);
    expect(code).toBe(0);
  });
  it('the new key approves a new session', async () => {
    const { code, json } = await verify('inc-2', trusts.superseded, JUDGED);
    expect(json.reasons).toEqual([]);
    expect(json.accepted).toEqual([expect.objectContaining({ approver: 'alice', keyId: `openpgp:${newKey}` })]);
    expect(code).toBe(0);
  });
  it('the old key approves nothing new, even with a signature backdated before the rotation: KEY_RETIRED', async () => {
    const { code, json } = await verify('inc-3', trusts.superseded, JUDGED);
    expect(json.reasons.map((r) => r.code)).toEqual(['KEY_RETIRED', 'THRESHOLD_NOT_MET']);
    expect(json.reasons[0]!.message).toContain(oldKey);
    expect(code).toBe(1);
  });
  it('the two keys may also sit in the file as two armored blocks one after the other', async () => {
    expect((await verify('inc-2', trusts.concatenated, JUDGED)).code).toBe(0);
    expect((await verify('inc-3', trusts.concatenated, JUDGED)).json.reasons[0]!.code).toBe('KEY_RETIRED');
  });
});

describe('when the old key is revoked as compromised instead', () => {
  it('the audit finds the past session unapproved (exit 1), naming KEY_REVOKED', async () => {
    const { code, report } = await audit(trusts.compromised);
    const inc1 = report.sessions.find((s) => s.id === 'inc-1')!;
    expect(inc1.findings.map((f) => f.code)).toEqual(['APPROVALS_INSUFFICIENT']);
    expect(inc1.findings[0]!.message).toMatch(/KEY_REVOKED: key [0-9A-F]{40} is revoked \(compromised/);
    expect(inc1.approvals).toEqual([expect.objectContaining({ accepted: false })]);
    expect(code).toBe(1);
  });
  it('verify as of the activation refuses the old key: KEY_REVOKED', async () => {
    const { code, json } = await verify('inc-1', trusts.compromised, T('02:22:00'));
    expect(json.reasons.map((r) => r.code)).toEqual(['KEY_REVOKED', 'THRESHOLD_NOT_MET']);
    expect(code).toBe(1);
  });
  it('the new key still approves', async () => {
    expect((await verify('inc-2', trusts.compromised, JUDGED)).code).toBe(0);
  });
});

describe('one approver counts once, whatever the number of keys', () => {
  it('one name with two keys, two signatures: DUPLICATE_APPROVER, and the threshold sees one', async () => {
    const trust = { ...(await loadTrust(trusts.bothUnrevoked)), threshold: 2 };
    expect(trust.approvers.filter((a) => a.name === 'alice')).toHaveLength(2);
    const model = await loadRepository(await CommitSource.open(repo.dir, 'HEAD'));
    const byOld = model.sessions.get('inc-4')!.approvals.find((a) => a.name === 'alice')!;
    const byNew = { ...byOld, signatures: [{ path: `${byOld.path}.asc`, bytes: new Uint8Array(newKeySignatureOfInc4), type: 'openpgp' as const }] };
    const s = model.sessions.get('inc-4')!.request!;
    const policy = model.policies[0]!.value!;
    const subject = { sessionId: 'inc-4', requestDigest: s.digest, requester: s.value!.metadata.requester, duration: s.value!.spec.duration, repository: REPOSITORY, policy };
    const v = await verifyApprovals([byOld, byNew], subject, trust, Date.parse(JUDGED));
    expect(v.reasons.map((r) => r.code)).toEqual(['DUPLICATE_APPROVER', 'THRESHOLD_NOT_MET']);
    expect(v.accepted.map((a) => a.keyId)).toEqual([`openpgp:${oldKey}`]);
  });
  it('two names in the trust file, one person (same e-mail in both keys): DUPLICATE_APPROVER', async () => {
    const { code, json } = await verify('inc-4', trusts.twoNames, JUDGED);
    expect(json.reasons.map((r) => [r.code, r.file])).toEqual([['DUPLICATE_APPROVER', 'sessions/inc-4/approvals/alice2.yaml']]);
    expect(json.reasons[0]!.message).toContain('alice@customer.example');
    expect(json.accepted.map((a) => a.approver)).toEqual(['alice']);
    expect(code).toBe(1);
  });
  it('a trust file holding one key twice is refused (exit 2): the copies could disagree on a revocation', async () => {
    const r = await inProcess(['verify', 'inc-2', '--trust', trusts.keyTwice, '--repo', repo.dir, '--repository', REPOSITORY, '--at', JUDGED, '--json'], { cwd: repo.dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`key ${oldKey} appears twice`);
  });
});
