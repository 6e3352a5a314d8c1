/**
 * Sigstore approvals through the command line (`breakglass verify` and
 * `breakglass audit`, run in-process), in real git repositories with a
 * trust file outside them. Each attack is committed as an approval that a
 * runner (an old one, or a compromised one) counted in a runner-signed record:
 * `verify` must refuse it with its precise code, and `audit` must report it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inProcess } from './helpers/cli.js';
import { approvalYaml } from './helpers/approvals.js';
import { AuditRepo, T } from './helpers/audit-history.js';
import { LocalFulcio } from './helpers/sigstore.js';
import { ACTIONS, BEACON, bundleOf, rootOf } from './helpers/sigstore-conformance.js';

const ID = 'inc-77-sigstore';
const AT = T('02:30:00');
const BOB = 'bob@customer.example';
const DAVE = 'dave@customer.example';
const ISSUER = 'https://accounts.google.com';

// bob's and dave's own sigstore instances (each a CA and a log), pinned per approver.
let bobs: LocalFulcio;
let daves: LocalFulcio;
beforeAll(() => {
  bobs = new LocalFulcio();
  daves = new LocalFulcio();
});

type Json = Record<string, unknown>;

/** An AuditRepo whose trust file pins, per approver: beacon (the public identity) under public-good, bob and dave under their own roots. */
async function sigstoreRepo(editDavesRoot: (r: Json) => void = () => {}): Promise<{ repo: AuditRepo; policy: string }> {
  const repo = await AuditRepo.create();
  mkdirSync(join(repo.trustDir, 'roots'));
  const davesRoot = structuredClone(daves.trustedRoot()) as Json;
  editDavesRoot(davesRoot);
  writeFileSync(join(repo.trustDir, 'roots', 'public-good.json'), JSON.stringify(rootOf('happy-path-v0.3')));
  writeFileSync(join(repo.trustDir, 'roots', 'bob.json'), JSON.stringify(bobs.trustedRoot()));
  writeFileSync(join(repo.trustDir, 'roots', 'dave.json'), JSON.stringify(davesRoot));
  writeFileSync(
    repo.trustFile,
    [
      'apiVersion: breakglass.dev/v1',
      'kind: Trust',
      'threshold: 1',
      'approvers:',
      '  - { name: alice, openpgp: keys/alice.asc }',
      `  - { name: beacon, sigstore: { issuer: "${ACTIONS}", subject: "${BEACON}", trustedRoot: roots/public-good.json } }`,
      `  - { name: bob, sigstore: { issuer: "${ISSUER}", subject: "${BOB}", trustedRoot: roots/bob.json } }`,
      `  - { name: dave, sigstore: { issuer: "${ISSUER}", subject: "${DAVE}", trustedRoot: roots/dave.json } }`,
      'runner: keys/runner.asc',
      '',
    ].join('\n'),
  );
  const policy = await repo.policy(T('02:00:00'), { approvers: ['alice', 'beacon', 'bob', 'dave'] });
  return { repo, policy };
}

/**
 * Commits a request and `approver`'s approval with the bundle `makeBundle` returns
 * for the approval's bytes, then a runner-signed record that counted it.
 */
async function approvedAndRecorded(repo: AuditRepo, policy: string, approver: string, makeBundle: (body: Buffer) => string | Buffer, tamper?: (body: string) => string): Promise<void> {
  const request = repo.request(ID);
  repo.commit(T('02:17:00'), 'request');
  const body = approvalYaml(approver, request, { session: ID });
  const bundle = makeBundle(Buffer.from(body));
  const approval = repo.write(`sessions/${ID}/approvals/${approver}.yaml`, tamper ? tamper(body) : body);
  repo.write(`sessions/${ID}/approvals/${approver}.yaml.sigstore.json`, typeof bundle === 'string' ? bundle : bundle.toString('utf8'));
  const commit = repo.commit(T('02:21:30'), 'approve');
  const doc = repo.recordDoc(ID, { request, approval, policy, commit }, { approvals: [{ approver, fingerprint: `sigstore-identity:${approver}`, file: approval }] });
  await repo.record(ID, doc, T('02:40:10'));
}

async function verify(repo: AuditRepo): Promise<{ code: number; reasons: { code: string; file?: string; message: string }[]; stderr: string }> {
  const r = await inProcess(['verify', ID, '--trust', repo.trustFile, '--at', AT, '--json'], { cwd: repo.dir });
  return { code: r.code, reasons: r.stdout ? (JSON.parse(r.stdout) as { reasons: { code: string; file?: string; message: string }[] }).reasons : [], stderr: r.stderr };
}

async function audit(repo: AuditRepo): Promise<{ code: number; clean?: boolean; findings: { code: string; message: string }[]; stderr: string }> {
  const r = await inProcess(['audit', '--trust', repo.trustFile, '--json'], { cwd: repo.dir });
  if (!r.stdout) return { code: r.code, findings: [], stderr: r.stderr };
  const report = JSON.parse(r.stdout) as { clean: boolean; sessions: { findings: { code: string; message: string }[] }[] };
  return { code: r.code, clean: report.clean, findings: report.sessions.flatMap((s) => s.findings), stderr: r.stderr };
}

const file = (approver: string) => `sessions/${ID}/approvals/${approver}.yaml`;

describe('sigstore approvals through breakglass verify and audit', () => {
  it("bob's own bundle over the approval verifies, and the audit is clean (the control)", async () => {
    const { repo, policy } = await sigstoreRepo();
    await approvedAndRecorded(repo, policy, 'bob', (b) => bobs.keylessBundle(bobs.issue(BOB, ISSUER), b));
    const v = await verify(repo);
    expect(v).toMatchObject({ code: 0, reasons: [] });
    expect(await audit(repo)).toMatchObject({ code: 0, clean: true, findings: [] });
  });

  type Attack = [string, string, (body: Buffer) => string | Buffer, ((body: string) => string) | undefined, string];
  const attacks: Attack[] = [
    // A real public in-toto attestation signed by the beacon identity: it says nothing about this approval.
    ['a public DSSE attestation by a trusted identity', 'beacon', () => bundleOf('happy-path-intoto-in-dsse-v3'), undefined, 'SIGSTORE_DSSE_REFUSED'],
    ["bob's identity certified by dave's instance", 'bob', (b) => daves.keylessBundle(daves.issue(BOB, ISSUER), b), undefined, 'SIGSTORE_ROOT_MISMATCH'],
    [
      'an approval changed after bob signed it',
      'bob',
      (b) => bobs.keylessBundle(bobs.issue(BOB, ISSUER), b),
      (body) => body.replace(/^expires: .*$/m, `expires: ${T('23:59:00')}`),
      'SIGSTORE_DIGEST_MISMATCH',
    ],
  ];
  it.each(attacks)('%s (approver %s): verify refuses it with its code, and audit reports it', async (_, approver, makeBundle, tamper, code) => {
    const { repo, policy } = await sigstoreRepo();
    await approvedAndRecorded(repo, policy, approver, makeBundle, tamper);
    const v = await verify(repo);
    expect(v.code).toBe(1);
    expect(v.reasons.find((r) => r.file === file(approver))?.code).toBe(code);
    const a = await audit(repo);
    expect(a.code).toBe(1);
    expect(a.findings.find((f) => f.code === 'APPROVALS_INSUFFICIENT')?.message).toContain(code);
  });

  it('a pinned root whose log key has no validFor.start: refused naming root and field, by verify and audit alike (exit 2)', async () => {
    const { repo, policy } = await sigstoreRepo((r) => delete ((r.tlogs as Json[])[0]!.publicKey as { validFor: Json }).validFor.start);
    await approvedAndRecorded(repo, policy, 'bob', (b) => bobs.keylessBundle(bobs.issue(BOB, ISSUER), b));
    const want = 'trusted root of dave (roots/dave.json) is not a valid sigstore trusted root: tlogs[0].publicKey.validFor.start: required';
    const v = await verify(repo);
    // The command line prints an operational error's message, not its code; loadTrust's TRUST_INVALID is asserted in sigstore-binding.test.ts.
    expect(v.code).toBe(2);
    expect(v.stderr).toContain(want);
    const a = await audit(repo);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(want);
  });
});
