/**
 * Rotating the runner's own key. The trust file's `runner:` file may hold
 * several keys: the new one beside the old one, which stays (revoked as
 * superseded) because the records it signed must still verify. Each test
 * attacks the rotation: a record or delivery signed by the old key after it
 * was retired, by a stranger, and a runner started with the retired key.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRunnerKeys } from '../src/adapters/trust.js';
import { checkRecordSignature } from '../src/core/audit-record.js';
import { sha256Digest } from '../src/core/digest.js';
import { verifyDelivery } from '../src/core/verify-delivery.js';
import { generateKeyPair, readPrivateKey, revoke, signDetached, type GeneratedKey, type PublicKey } from '../src/crypto/openpgp.js';
import { seal } from '../src/runner/delivery.js';
import { checkKey } from '../src/runner/preflight.js';

const at = (iso: string) => new Date(iso);
const RECORD = new TextEncoder().encode('apiVersion: breakglass.dev/v1\nkind: Record\n');

let dir: string;
let old: GeneratedKey;
let current: GeneratedKey;
let stranger: GeneratedKey;
let vendor: GeneratedKey;
let runner: PublicKey[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bg-rotation-'));
  const key = (name: string, date: string) => generateKeyPair({ name, email: `${name}@example.invalid`, date: at(date) });
  [old, current, stranger, vendor] = await Promise.all([
    key('runner-2025', '2025-01-01T00:00:00Z'),
    key('runner-2026', '2026-06-01T00:00:00Z'),
    key('mallory', '2025-01-01T00:00:00Z'),
    key('vendor', '2025-01-01T00:00:00Z'),
  ]);
  // The old key retired (superseded) on 1 July; the file holds it and the new one, as `cat old.asc new.asc` makes it.
  const retired = await revoke(old.privateKey, { reason: 'superseded', date: at('2026-07-01T00:00:00Z') });
  writeFileSync(join(dir, 'runner-keys.asc'), `${retired}\n${current.publicKey}`);
  writeFileSync(
    join(dir, 'trust.yaml'),
    stringify({ apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: 'alice', openpgp: 'runner-keys.asc' }], runner: 'runner-keys.asc' }),
  );
  for (const [name, k] of [
    ['old.sec.asc', old],
    ['current.sec.asc', current],
    ['stranger.sec.asc', stranger],
  ] as const)
    writeFileSync(join(dir, name), k.privateKey, { mode: 0o600 });
  runner = await loadRunnerKeys(join(dir, 'trust.yaml'));
});

async function signedRecord(by: GeneratedKey, when: string): Promise<Uint8Array> {
  return Buffer.from(await signDetached(await readPrivateKey(by.privateKey), RECORD, at(when)));
}

describe('the trust file names both runner keys during a rotation', () => {
  it('reads every key in the runner: file', () => {
    expect(runner.map((k) => k.getFingerprint().toUpperCase())).toEqual([old.fingerprint, current.fingerprint]);
  });
});

describe('audit verifies each record against the runner keys as of when it was committed', () => {
  it("keeps the old key's records verifying after it retired", async () => {
    expect(
      await checkRecordSignature(RECORD, await signedRecord(old, '2026-03-01T00:00:00Z'), { approvals: { threshold: 1, approvers: [] }, runner }, Date.parse('2026-03-01T00:01:00Z')),
    ).toBeUndefined();
  });

  it("accepts the new key's records", async () => {
    expect(
      await checkRecordSignature(RECORD, await signedRecord(current, '2026-08-01T00:00:00Z'), { approvals: { threshold: 1, approvers: [] }, runner }, Date.parse('2026-08-01T00:01:00Z')),
    ).toBeUndefined();
  });

  it('refuses a record the old key signed after it was retired (KEY_RETIRED), and one by a key not in the file (KEY_UNTRUSTED)', async () => {
    const trust = { approvals: { threshold: 1, approvers: [] }, runner };
    expect(await checkRecordSignature(RECORD, await signedRecord(old, '2026-08-01T00:00:00Z'), trust, Date.parse('2026-08-01T00:01:00Z'))).toMatch(/^KEY_RETIRED: /);
    expect(await checkRecordSignature(RECORD, await signedRecord(stranger, '2026-08-01T00:00:00Z'), trust, Date.parse('2026-08-01T00:01:00Z'))).toMatch(/^KEY_UNTRUSTED: /);
  });
});

describe('receive accepts a delivery signed by any current runner key, and nothing else', () => {
  const ID = 'inc-rotation';
  async function delivered(by: GeneratedKey, sealed: string): Promise<string> {
    const binding = {
      session: ID,
      request: sha256Digest(Buffer.from('request')),
      commit: 'a'.repeat(40),
      repository: 'github.com/customer/access',
      recipient: vendor.fingerprint,
      runner: by.fingerprint,
      sealed,
    };
    const payload = {
      apiVersion: 'breakglass.dev/v1',
      kind: 'Credential',
      session: ID,
      type: 'kubernetes-token',
      server: 'https://prod.example:6443',
      token: 'eyJ-t',
      expires: '2026-12-31T00:00:00Z',
    } as const;
    return seal(payload, vendor.publicKey, { signingKey: await readPrivateKey(by.privateKey), publicKey: by.publicKey }, binding);
  }
  const open = async (armored: string) => verifyDelivery(armored, await readPrivateKey(vendor.privateKey), { keys: runner }, { session: ID }, at('2026-08-01T00:05:00Z'));

  it('accepts the new key', async () => {
    expect((await open(await delivered(current, '2026-08-01T00:00:00Z'))).runnerFingerprint).toBe(current.fingerprint);
  });

  it('refuses the retired key after its retirement (DELIVERY_SIGNATURE_INVALID) and a stranger (DELIVERY_SIGNER_UNKNOWN)', async () => {
    await expect(open(await delivered(old, '2026-08-01T00:00:00Z'))).rejects.toMatchObject({ code: 'DELIVERY_SIGNATURE_INVALID' });
    await expect(open(await delivered(stranger, '2026-08-01T00:00:00Z'))).rejects.toMatchObject({ code: 'DELIVERY_SIGNER_UNKNOWN' });
  });
});

describe("the runner's preflight refuses a signing key whose signatures would not verify", () => {
  const check = (key: string) => checkKey({ signingKey: join(dir, key), trust: join(dir, 'trust.yaml') }, {});

  it('passes with the new key', async () => {
    expect(await check('current.sec.asc')).toEqual([]);
  });

  it('refuses the retired key (PREFLIGHT_KEY_NOT_RUNNER, KEY_RETIRED) and a key not in the file (KEY_UNTRUSTED)', async () => {
    expect(await check('old.sec.asc')).toEqual([expect.objectContaining({ code: 'PREFLIGHT_KEY_NOT_RUNNER', message: expect.stringContaining('KEY_RETIRED') })]);
    expect(await check('stranger.sec.asc')).toEqual([expect.objectContaining({ code: 'PREFLIGHT_KEY_NOT_RUNNER', message: expect.stringContaining('KEY_UNTRUSTED') })]);
  });
});
