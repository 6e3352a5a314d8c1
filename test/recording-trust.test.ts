/**
 * The trust file's `auditors:` (issue 12): who recordings are sealed to.
 * Each bad entry is refused with its own code before any session could be
 * recorded to nobody, or to a key an auditor cannot use.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuditors, loadTrust } from '../src/adapters/trust.js';
import type { Governing } from '../src/core/policy.js';
import { generateKeyPair, readPublicKey, type GeneratedKey, type PublicKey } from '../src/crypto/openpgp.js';
import type { RunnerDeps, Target } from '../src/runner/context.js';
import { recordingRefusal } from '../src/runner/recording.js';

let dir = '';
let sec: GeneratedKey;
let ciso: GeneratedKey;

const head = 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: keys/sec.asc }\n';

async function trust(auditors: string): Promise<string> {
  const file = join(dir, `trust-${Math.random().toString(16).slice(2)}.yaml`);
  await writeFile(file, head + auditors);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-auditors-'));
  await mkdir(join(dir, 'keys'));
  [sec, ciso] = await Promise.all([generateKeyPair({ name: 'sec-team', email: 'sec@customer.example' }), generateKeyPair({ name: 'ciso', email: 'ciso@customer.example' })]);
  const expired = await generateKeyPair({ name: 'old', email: 'old@customer.example', date: new Date('2026-01-01T00:00:00Z'), expiresIn: 3600 });
  await writeFile(join(dir, 'keys', 'sec.asc'), sec.publicKey);
  await writeFile(join(dir, 'keys', 'ciso.asc'), ciso.publicKey);
  await writeFile(join(dir, 'keys', 'expired.asc'), expired.publicKey);
  await writeFile(join(dir, 'keys', 'secret.asc'), sec.privateKey);
  await writeFile(join(dir, 'keys', 'junk.asc'), 'not a key');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a trust file with auditors', () => {
  it('loads each auditor with the keys a recording is sealed to', async () => {
    const file = await trust('auditors:\n  - { name: sec-team, openpgp: keys/sec.asc }\n  - { name: ciso, openpgp: keys/ciso.asc }\n');
    const auditors = await loadAuditors(file);
    expect(auditors.map((a) => [a.name, a.keys.map((k) => k.getFingerprint().toUpperCase())])).toEqual([
      ['sec-team', [sec.fingerprint]],
      ['ciso', [ciso.fingerprint]],
    ]);
    // Approvers are untouched by the new field.
    expect((await loadTrust(file)).approvers.map((a) => a.name)).toEqual(['alice']);
  });

  it('without the field has no auditors (the field is optional)', async () => {
    expect(await loadAuditors(await trust(''))).toEqual([]);
  });
});

describe('a trust file whose auditors cannot be used', () => {
  const cases: [string, string, string][] = [
    ['an auditor listed twice', 'auditors:\n  - { name: sec-team, openpgp: keys/sec.asc }\n  - { name: sec-team, openpgp: keys/ciso.asc }\n', 'AUDITOR_DUPLICATE'],
    ['one key under two names', 'auditors:\n  - { name: sec-team, openpgp: keys/sec.asc }\n  - { name: ciso, openpgp: keys/sec.asc }\n', 'AUDITOR_DUPLICATE'],
    ['a file that is not a key', 'auditors:\n  - { name: sec-team, openpgp: keys/junk.asc }\n', 'AUDITOR_INVALID'],
    ['a secret key instead of a public one', 'auditors:\n  - { name: sec-team, openpgp: keys/secret.asc }\n', 'AUDITOR_INVALID'],
    ['an expired key', 'auditors:\n  - { name: old, openpgp: keys/expired.asc }\n', 'AUDITOR_KEY_UNUSABLE'],
    ['a key file that does not exist', 'auditors:\n  - { name: sec-team, openpgp: keys/none.asc }\n', 'TRUST_UNREADABLE'],
  ];
  for (const [what, yaml, code] of cases) {
    it(`refuses ${what} with ${code}`, async () => {
      await expect(loadAuditors(await trust(yaml))).rejects.toMatchObject({ code });
    });
  }

  it('refuses an empty list, an entry with a sigstore identity, and an unknown key, with schema findings', async () => {
    for (const [yaml, code] of [
      ['auditors: []\n', 'SCHEMA_VALUE'],
      ['auditors:\n  - { name: sec-team, sigstore: { publicKey: keys/x.pem } }\n', 'SCHEMA_UNKNOWN_KEY'],
      ['auditors:\n  - { name: Sec Team, openpgp: keys/sec.asc }\n', 'APPROVER_INVALID'],
    ] as const) {
      const err = await loadAuditors(await trust(yaml)).then(
        () => undefined,
        (e: { code: string; findings: { code: string }[] }) => e,
      );
      expect(err?.code).toBe('INVALID_DOCUMENT');
      expect(err?.findings.map((f) => f.code)).toContain(code);
    }
  });

  it('refuses an auditor key inside the repository under verification', async () => {
    const file = await trust('auditors:\n  - { name: sec-team, openpgp: keys/sec.asc }\n');
    await expect(loadAuditors(file, join(dir, 'keys'))).rejects.toMatchObject({ code: 'TRUST_IN_REPOSITORY' });
  });
});

describe("when the request's recipient key is also an auditor key", () => {
  // Only what recordingRefusal reads: a recorded resource, a listener that is up, the auditors' keys.
  const target = { resource: 'prod', gateway: { url: 'https://gateway.example:8443' } } as unknown as Target;
  const governing = { resource: { type: 'kubernetes', recording: 'required' } } as unknown as Governing;
  const deps = (auditors: PublicKey[]) => ({ auditors, config: { gateway: { listen: '127.0.0.1:0' } }, gateway: { listening: true } }) as unknown as RunnerDeps;

  it('refuses the session with RECORDING_AUDITOR_IS_RECIPIENT: the vendor could read the recording of their own session', async () => {
    const auditors = (await loadAuditors(await trust('auditors:\n  - { name: sec-team, openpgp: keys/sec.asc }\n  - { name: ciso, openpgp: keys/ciso.asc }\n'))).flatMap((a) => a.keys);
    for (const recipient of [ciso.fingerprint, ciso.fingerprint.toLowerCase()])
      expect(recordingRefusal(deps(auditors), target, governing, recipient)).toMatchObject({ code: 'RECORDING_AUDITOR_IS_RECIPIENT' });
  });

  it("refuses a recipient that is an auditor key's subkey, and even when the policy only allows recording (the gateway records anyway)", async () => {
    const auditors = await Promise.all([readPublicKey(sec.publicKey)]);
    const subkey = auditors[0]?.getSubkeys()[0]?.getFingerprint() ?? '';
    expect(subkey).not.toBe('');
    expect(recordingRefusal(deps(auditors), target, governing, subkey)).toMatchObject({ code: 'RECORDING_AUDITOR_IS_RECIPIENT' });
    const optional = { resource: { type: 'kubernetes' } } as unknown as Governing;
    expect(recordingRefusal(deps(auditors), target, optional, sec.fingerprint)).toMatchObject({ code: 'RECORDING_AUDITOR_IS_RECIPIENT' });
  });

  it('accepts a recipient that is no auditor', async () => {
    const vendor = await generateKeyPair({ name: 'vendor', email: 'oncall@vendor.example' });
    const auditors = [await readPublicKey(sec.publicKey)];
    expect(recordingRefusal(deps(auditors), target, governing, vendor.fingerprint)).toBeUndefined();
  });
});
