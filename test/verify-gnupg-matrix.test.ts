/**
 * The GnuPG matrix, through the real binary: keys made by the real `gpg`
 * (RSA-4096, an expiring key, a primary with valid, expired and revoked
 * signing subkeys side by side, primaries revoked as superseded, retired,
 * compromised or for no reason), approvals signed by gpg (armored and binary
 * packets, binary mode and text mode), and `breakglass verify --at --json`
 * asked for the verdict on each cell, exact exit code and reason code: in
 * process for every cell, and through the real binary (`bin/breakglass.js`
 * under Node 24) for an accepted and a refused cell, which must say the same.
 *
 * One timeline, fixed with gpg's --faked-system-time: keys made on T0,
 * approvals signed on SIGNED, revocations on REVOKED; each cell is judged
 * before the revocations (BEFORE), after them (AFTER) or after the expiring
 * key's end (EXPIRED).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalYaml, makeKeys, policyApprovalYaml, policyYaml, Repo, requestYaml, sign, type Keys } from './helpers/approvals.js';
import { GpgHome, type GpgReason } from './helpers/gpg-home.js';
import { verifyJson, type VerifyJson } from './helpers/verify-json.js';

const T0 = '2026-11-10T00:00:00Z';
const SIGNED = '2026-11-11T00:00:00Z';
const BEFORE = '2026-11-11T00:10:00Z';
const REVOKED = '2026-11-13T00:00:00Z';
const AFTER = '2026-11-14T00:00:00Z';
const SIGNED_AFTER = '2026-11-14T00:00:00Z';
const JUDGED_AFTER = '2026-11-14T00:10:00Z';
const EXPIRED = '2026-11-16T00:00:00Z';

type Verdict = 'approved' | 'KEY_REVOKED' | 'KEY_RETIRED' | 'KEY_EXPIRED' | 'KEY_WEAK' | 'SIGNATURE_TEXT_MODE';

/** One cell: who signs with which (sub)key, how, when, and when `verify` judges it. */
interface Cell {
  id: string;
  approver: string;
  /** Names a key in `fpr` (primary or subkey). */
  signer: string;
  signed?: string;
  at: string;
  armor?: boolean;
  textmode?: boolean;
  expect: Verdict;
}

const CELLS: Cell[] = [
  { id: 'rsa-armored', approver: 'rsa', signer: 'rsa', at: BEFORE, expect: 'approved' },
  { id: 'rsa-binary-packet', approver: 'rsa', signer: 'rsa', at: BEFORE, armor: false, expect: 'approved' },
  { id: 'rsa-textmode', approver: 'rsa', signer: 'rsa', at: BEFORE, textmode: true, expect: 'SIGNATURE_TEXT_MODE' },
  { id: 'rsa-textmode-binary-packet', approver: 'rsa', signer: 'rsa', at: BEFORE, textmode: true, armor: false, expect: 'SIGNATURE_TEXT_MODE' },
  { id: 'rsa2048', approver: 'weak', signer: 'weak', at: BEFORE, expect: 'KEY_WEAK' },
  { id: 'expiring-in-force', approver: 'exp', signer: 'exp', at: BEFORE, expect: 'approved' },
  { id: 'expiring-judged-after-expiry', approver: 'exp', signer: 'exp', at: EXPIRED, expect: 'KEY_EXPIRED' },
  { id: 'subkey-valid-beside-bad-ones', approver: 'subs', signer: 'subs-valid', at: AFTER, expect: 'approved' },
  { id: 'subkey-expiring-in-force', approver: 'subs', signer: 'subs-expiring', at: BEFORE, expect: 'approved' },
  { id: 'subkey-expired', approver: 'subs', signer: 'subs-expiring', at: AFTER, expect: 'KEY_EXPIRED' },
  { id: 'subkey-compromised-judged-before', approver: 'subs', signer: 'subs-compromised', at: BEFORE, expect: 'KEY_REVOKED' },
  { id: 'subkey-superseded-judged-before', approver: 'subs', signer: 'subs-superseded', at: BEFORE, expect: 'approved' },
  { id: 'subkey-superseded-judged-after', approver: 'subs', signer: 'subs-superseded', at: AFTER, expect: 'KEY_RETIRED' },
  { id: 'primary-superseded-judged-before', approver: 'sup', signer: 'sup', at: BEFORE, expect: 'approved' },
  { id: 'primary-superseded-judged-after', approver: 'sup', signer: 'sup', at: AFTER, expect: 'KEY_RETIRED' },
  { id: 'primary-superseded-signed-after', approver: 'sup', signer: 'sup', signed: SIGNED_AFTER, at: JUDGED_AFTER, expect: 'KEY_RETIRED' },
  { id: 'primary-retired-judged-before', approver: 'ret', signer: 'ret', at: BEFORE, expect: 'approved' },
  { id: 'primary-compromised-judged-before', approver: 'comp', signer: 'comp', at: BEFORE, expect: 'KEY_REVOKED' },
  { id: 'primary-no-reason-judged-before', approver: 'none', signer: 'none', at: BEFORE, expect: 'KEY_REVOKED' },
];

const PRIMARIES: [name: string, algo: string, usage: string, expire: string][] = [
  ['rsa', 'rsa4096', 'sign', 'never'],
  ['weak', 'rsa2048', 'sign', 'never'],
  ['exp', 'ed25519', 'sign', '5d'],
  ['subs', 'ed25519', 'cert', 'never'],
  ['sup', 'ed25519', 'sign', 'never'],
  ['ret', 'ed25519', 'sign', 'never'],
  ['comp', 'ed25519', 'sign', 'never'],
  ['none', 'ed25519', 'sign', 'never'],
];
const PRIMARY_REVOCATIONS: [name: string, reason: GpgReason][] = [
  ['sup', 'superseded'],
  ['ret', 'retired'],
  ['comp', 'compromised'],
  ['none', 'unspecified'],
];

const gpg = new GpgHome();
const repo = new Repo();
const trustDir = mkdtempSync(join(tmpdir(), 'bg-matrix-trust-'));
const fpr: Record<string, string> = {};
let keys: Keys;

/** Keys on T0; subkeys of `subs` in order: valid, expiring in 2 days, to be revoked as compromised, to be revoked as superseded. */
function makeGpgKeys(): void {
  for (const [name, algo, usage, expire] of PRIMARIES) fpr[name] = gpg.generate(name, algo, usage, expire, T0);
  for (const [sub, expire] of [
    ['subs-valid', 'never'],
    ['subs-expiring', '2d'],
    ['subs-compromised', 'never'],
    ['subs-superseded', 'never'],
  ] as const) {
    fpr[sub] = gpg.addSubkey(fpr.subs!, 'ed25519', 'sign', expire, T0);
  }
}

/** The policy (approved by alice, an openpgp.js key) and every cell's request and gpg-signed approval. */
async function writeRepository(): Promise<void> {
  const policy = policyYaml({ approvers: ['alice', ...new Set(CELLS.map((c) => c.approver))] }).replace('requestExpiry: 4h', 'requestExpiry: 200h');
  const pd = repo.write('policies/production.yaml', policy);
  const pa = policyApprovalYaml('alice', pd);
  repo.write('policies/approvals/production/alice.yaml', pa);
  repo.write('policies/approvals/production/alice.yaml.asc', await sign(keys.alice!, pa, new Date('2026-11-01T00:00:00Z')));
  for (const c of CELLS) {
    const signed = c.signed ?? SIGNED;
    const digest = repo.write(`sessions/${c.id}/request.yaml`, requestYaml(c.id, { created: '2026-11-10T23:55:00Z' }));
    const rel = `sessions/${c.id}/approvals/${c.approver}.yaml`;
    repo.write(rel, approvalYaml(c.approver, digest, { session: c.id, signed, expires: '2026-11-17T00:00:00Z' }));
    gpg.sign(fpr[c.signer]!, join(repo.dir, rel), join(repo.dir, `${rel}.asc`), signed, { armor: c.armor, textmode: c.textmode });
  }
  repo.commit('the matrix');
}

/** Revocations on REVOKED, imported, then every key exported into its own trust file beside alice. */
function revokeAndExport(): void {
  for (const [name, reason] of PRIMARY_REVOCATIONS) gpg.import(gpg.revocationCertificate(fpr[name]!, reason, REVOKED));
  gpg.revokeSubkey(fpr.subs!, 3, 'compromised', REVOKED);
  gpg.revokeSubkey(fpr.subs!, 4, 'superseded', REVOKED);
  mkdirSync(join(trustDir, 'keys'));
  writeFileSync(join(trustDir, 'keys', 'alice.asc'), keys.alice!.publicKey);
  for (const [name] of PRIMARIES) {
    writeFileSync(join(trustDir, 'keys', `${name}.asc`), gpg.exportKeys(fpr[name]!));
    writeFileSync(
      join(trustDir, `trust-${name}.yaml`),
      `apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: keys/alice.asc }\n  - { name: ${name}, openpgp: keys/${name}.asc }\n`,
    );
  }
}

beforeAll(async () => {
  keys = await makeKeys({ alice: 'alice@customer.example' });
  makeGpgKeys();
  await writeRepository();
  revokeAndExport();
});

afterAll(() => {
  gpg.dispose();
  rmSync(repo.dir, { recursive: true, force: true });
  rmSync(trustDir, { recursive: true, force: true });
});

const verdicts = new Map<string, Promise<{ code: number; json: VerifyJson }>>();

/** `breakglass verify --json` (in process) for one cell, run once per cell. */
function verify(c: Cell): Promise<{ code: number; json: VerifyJson }> {
  if (!verdicts.has(c.id)) verdicts.set(c.id, runVerify(c));
  return verdicts.get(c.id)!;
}

function runVerify(c: Cell): Promise<{ code: number; json: VerifyJson }> {
  return verifyJson(c.id, join(trustDir, `trust-${c.approver}.yaml`), repo.dir, c.at);
}

describe('gpg-made keys and signatures through `breakglass verify`', () => {
  it.each(CELLS.filter((c) => c.expect === 'approved'))('$id: approved (exit 0), counting the primary key and naming the (sub)key that signed', async (c) => {
    const { code, json } = await verify(c);
    expect(json.reasons).toEqual([]);
    expect(code).toBe(0);
    expect(json.accepted).toEqual([expect.objectContaining({ approver: c.approver, keyId: `openpgp:${fpr[c.approver]}`, signingKey: fpr[c.signer] })]);
  });

  it.each(CELLS.filter((c) => c.expect !== 'approved'))('$id: refused (exit 1) with $expect', async (c) => {
    const { code, json } = await verify(c);
    expect(json.reasons.map((r) => r.code)).toEqual([c.expect, 'THRESHOLD_NOT_MET']);
    expect(json.reasons[0]!.file).toBe(`sessions/${c.id}/approvals/${c.approver}.yaml`);
    expect(json.approved).toBe(false);
    expect(code).toBe(1);
  });

  // The real binary: the compiled lib/ must judge as the in-process src/ does.
  it.each(['rsa-armored', 'primary-compromised-judged-before'])('%s: the real binary gives the same exit code and JSON', async (id) => {
    const c = CELLS.find((x) => x.id === id)!;
    const real = await verifyJson(c.id, join(trustDir, `trust-${c.approver}.yaml`), repo.dir, c.at, 'binary');
    expect(real).toEqual(await verify(c));
    expect(real.code).toBe(c.expect === 'approved' ? 0 : 1);
  });

  it('names the revocation reason, and for a retired key the time it stopped counting', async () => {
    const comp = await verify(CELLS.find((c) => c.id === 'primary-compromised-judged-before')!);
    expect(comp.json.reasons[0]!.message).toMatch(/revoked \(compromised: "compromised \(test\)", 2026-11-13T00:00:00\.000Z\)/);
    const sup = await verify(CELLS.find((c) => c.id === 'primary-superseded-judged-after')!);
    expect(sup.json.reasons[0]!.message).toContain('retired (superseded: "superseded (test)") at 2026-11-13T00:00:00.000Z');
    const sub = await verify(CELLS.find((c) => c.id === 'subkey-expired')!);
    expect(sub.json.reasons[0]!.message).toContain(`signing subkey ${fpr['subs-expiring']}`);
  });
});
