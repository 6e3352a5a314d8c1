/**
 * Attacks on what a sigstore approval is bound to, with real public bundles
 * from the conformance fixtures: another approver's root, a trusted root that
 * leaves a bound out, a log key used outside its window, log entries and
 * digests of the wrong kind. Each asserts its precise refusal code.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { loadTrust } from '../src/adapters/trust.js';
import { pinTrustedRoot } from '../src/crypto/sigstore-root.js';
import { verifySigstoreBundle } from '../src/crypto/sigstore.js';
import type { TrustedApprover } from '../src/core/trust.js';
import { ACTIONS, artifactOf, BEACON, bundleOf, outcome, rootOf } from './helpers/sigstore-conformance.js';

// Bundles and roots are edited as plain JSON, the way an attacker would edit them.
type Json = Record<string, any>;
const STAGING = 'rekor2-happy-path'; // signed under the staging instance; ships its root
const PROD = 'happy-path-v0.3'; // signed under the public-good instance

const keyless = (name: string, subject: string, root: unknown): TrustedApprover => ({ name, key: { type: 'sigstore-identity', issuer: ACTIONS, subject, trustedRoot: root } });
const copy = (v: unknown): Json => structuredClone(v) as Json;
const bundleWith = (c: string, edit: (b: Json) => void): Buffer => {
  const b = JSON.parse(bundleOf(c).toString('utf8')) as Json;
  edit(b);
  return Buffer.from(JSON.stringify(b));
};
const trustError = (root: unknown): string => {
  try {
    pinTrustedRoot(root, 'trusted root of bob');
    return 'accepted';
  } catch (e) {
    return `${(e as { code: string }).code} ${(e as Error).message}`;
  }
};

describe('a keyless identity verifies only under the root pinned for that approver', () => {
  it('a staging-signed bundle for bob, while only dave pins the staging root: SIGSTORE_ROOT_MISMATCH', () => {
    const trust = [keyless('bob', BEACON, rootOf(PROD)), keyless('dave', 'dave@customer.example', rootOf(STAGING))];
    expect(outcome(bundleOf(STAGING), artifactOf(STAGING), trust)).toBe('SIGSTORE_ROOT_MISMATCH');
  });

  it('the same bundle verifies once bob himself pins the staging root (the control)', () => {
    expect(outcome(bundleOf(STAGING), artifactOf(STAGING), [keyless('bob', BEACON, rootOf(STAGING))])).toBe('ok');
  });

  it('one identity under two approvers with different roots counts only for the one whose root it chains to', () => {
    const trust = [keyless('bob', BEACON, rootOf(PROD)), keyless('bob-staging', BEACON, rootOf(STAGING))];
    const v = verifySigstoreBundle(bundleOf(STAGING), artifactOf(STAGING), trust, new Date());
    expect(v.approvers.map((a) => a.name)).toEqual(['bob-staging']);
  });
});

describe('a trusted root is validated before use: TRUST_INVALID naming the field', () => {
  const edits: [string, (r: Json) => void, string][] = [
    ['a tlog key without validFor.start', (r) => delete r.tlogs[0].publicKey.validFor.start, 'tlogs[0].publicKey.validFor.start: required'],
    ['a tlog key whose start is null', (r) => (r.tlogs[0].publicKey.validFor.start = null), 'tlogs[0].publicKey.validFor.start: required'],
    ['a ctlog key without validFor.start', (r) => delete r.ctlogs[0].publicKey.validFor.start, 'ctlogs[0].publicKey.validFor.start: required'],
    ['a CA without validFor.start', (r) => delete r.certificateAuthorities[1].validFor.start, 'certificateAuthorities[1].validFor.start: required'],
    ['a TSA without validFor.start', (r) => delete r.timestampAuthorities[0].validFor.start, 'timestampAuthorities[0].validFor.start: required'],
    ['a tlog key without validFor at all', (r) => delete r.tlogs[0].publicKey.validFor, 'tlogs[0].publicKey.validFor'],
    ['a window that ends before it starts', (r) => (r.tlogs[0].publicKey.validFor.end = '2020-01-01T00:00:00Z'), 'tlogs[0].publicKey.validFor.end: end is before start'],
    ['a start that is not a time', (r) => (r.tlogs[0].publicKey.validFor.start = 'yesterday'), 'tlogs[0].publicKey.validFor.start: must be an RFC 3339 time'],
    ['tlog key bytes that are not a key', (r) => (r.tlogs[0].publicKey.rawBytes = Buffer.from('not a key').toString('base64')), 'tlogs[0].publicKey.rawBytes: not a public key'],
    [
      'a tlog key of another type than keyDetails says',
      (r) => (r.tlogs[0].publicKey.keyDetails = 'PKIX_ED25519'),
      'tlogs[0].publicKey.rawBytes: a ec prime256v1 key, but keyDetails says PKIX_ED25519',
    ],
    ['an unknown keyDetails', (r) => (r.tlogs[0].publicKey.keyDetails = 'PKIX_FANCY'), 'tlogs[0].publicKey.keyDetails'],
    ['key bytes that are not base64', (r) => (r.ctlogs[0].publicKey.rawBytes = 'not*base64'), 'ctlogs[0].publicKey.rawBytes: must be canonical base64'],
    [
      'a CA certificate that is not a certificate',
      (r) => (r.certificateAuthorities[0].certChain.certificates[0].rawBytes = 'AAAA'),
      'certificateAuthorities[0].certChain.certificates[0].rawBytes: not an X.509 certificate',
    ],
    ['a CA with an empty chain', (r) => (r.certificateAuthorities[0].certChain.certificates = []), 'certificateAuthorities[0].certChain.certificates'],
    ['a misspelt field (sigstore-js would drop it silently)', (r) => ((r.tlogs[0].publicKey.validfor = r.tlogs[0].publicKey.validFor), delete r.tlogs[0].publicKey.validFor), 'tlogs[0].publicKey'],
    ['another media type', (r) => (r.mediaType = 'application/vnd.dev.sigstore.trustedroot+json;version=9'), 'mediaType'],
  ];
  it.each(edits)('%s', (_, edit, field) => {
    const root = copy(rootOf(PROD));
    edit(root);
    const got = trustError(root);
    expect(got).toMatch(/^TRUST_INVALID trusted root of bob is not a valid sigstore trusted root: /);
    expect(got).toContain(field);
  });

  it('every problem is reported at once', () => {
    const root = copy(rootOf(PROD));
    delete root.tlogs[0].publicKey.validFor.start;
    delete root.ctlogs[1].publicKey.validFor.start;
    expect(trustError(root)).toMatch(/tlogs\[0\].*; ctlogs\[1\]/);
  });

  it('the public-good root and every root the suite ships are accepted', () => {
    for (const c of [PROD, STAGING, 'trust-root-tlog-validity-end-inclusive', 'invalid-ct-key_fail']) expect(trustError(rootOf(c))).toBe('accepted');
  });

  it('loadTrust refuses a trust file whose pinned root misses a tlog start, naming file and field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-root-'));
    const root = copy(rootOf(STAGING));
    delete root.tlogs[1].publicKey.validFor.start;
    writeFileSync(join(dir, 'root.json'), JSON.stringify(root));
    writeFileSync(
      join(dir, 'trust.yaml'),
      `apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: bob, sigstore: { issuer: "${ACTIONS}", subject: "${BEACON}", trustedRoot: root.json } }\n`,
    );
    await expect(loadTrust(join(dir, 'trust.yaml'))).rejects.toMatchObject({
      code: 'TRUST_INVALID',
      message: expect.stringContaining('trusted root of bob (root.json) is not a valid sigstore trusted root: tlogs[1].publicKey.validFor.start: required'),
    });
  });

  it('loadTrust refuses a pinned root that is not JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bg-root-'));
    writeFileSync(join(dir, 'root.json'), '{"mediaType":');
    writeFileSync(
      join(dir, 'trust.yaml'),
      `apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: bob, sigstore: { issuer: "${ACTIONS}", subject: "${BEACON}", trustedRoot: root.json } }\n`,
    );
    await expect(loadTrust(join(dir, 'trust.yaml'))).rejects.toMatchObject({ code: 'TRUST_INVALID', message: expect.stringContaining('is not JSON') });
  });
});

describe('a log key counts only inside its validity window', () => {
  // The staging bundle's Rekor v2 entry is proven by a checkpoint and timestamped by a TSA at 2025-06-12T12:02:20Z.
  const narrowed = (validFor: Json): Json => {
    const root = copy(rootOf(STAGING));
    const log = root.tlogs.find((l: Json) => l.logId.keyId === '8w1amZ2S5mJIQkQmPxdMuOrL/oJkvFg9MnQXmeOCXck=');
    log.publicKey.validFor = validFor;
    return root;
  };
  const windows: [string, Json][] = [
    ['a key retired before the entry', { start: '2025-04-16T00:00:00Z', end: '2025-06-01T00:00:00Z' }],
    ['a key not yet valid at the entry', { start: '2025-07-01T00:00:00Z' }],
  ];
  it.each(windows)('%s: SIGSTORE_TLOG_KEY_NOT_VALID', (_, validFor) => {
    expect(outcome(bundleOf(STAGING), artifactOf(STAGING), [keyless('bob', BEACON, narrowed(validFor))])).toBe('SIGSTORE_TLOG_KEY_NOT_VALID');
  });

  it('why: sigstore-js alone ignores the window for a checkpoint-proven entry', () => {
    const root = narrowed(windows[0]![1]);
    const entity = toSignedEntity(bundleFromJSON(JSON.parse(bundleOf(STAGING).toString('utf8'))), artifactOf(STAGING));
    expect(() => new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root))).verify(entity)).not.toThrow();
  });

  it('a window that ends exactly at the entry still holds (closed interval)', () => {
    const root = narrowed({ start: '2025-04-16T00:00:00Z', end: '2025-06-12T12:02:20Z' });
    expect(outcome(bundleOf(STAGING), artifactOf(STAGING), [keyless('bob', BEACON, root)])).toBe('ok');
  });

  it('a Rekor v1 entry outside its key window is refused too', () => {
    const root = copy(rootOf(PROD));
    root.tlogs[0].publicKey.validFor.end = '2022-01-01T00:00:00Z';
    expect(outcome(bundleOf(PROD), artifactOf(PROD), [keyless('bob', BEACON, root)])).not.toBe('ok');
  });
});

describe('a bundle must be a message signature over exactly these bytes', () => {
  const one = (bundle: Buffer) => outcome(bundle, artifactOf(PROD), [keyless('bob', BEACON, rootOf(PROD))]);

  it('the unmodified bundle verifies (the control)', () => {
    expect(one(bundleOf(PROD))).toBe('ok');
  });
  it('a log entry of kind intoto: SIGSTORE_TLOG_KIND_REFUSED', () => {
    expect(one(bundleWith(PROD, (b) => (b.verificationMaterial.tlogEntries[0].kindVersion.kind = 'intoto')))).toBe('SIGSTORE_TLOG_KIND_REFUSED');
  });
  it('a log entry of kind dsse: SIGSTORE_TLOG_KIND_REFUSED', () => {
    expect(one(bundleWith(PROD, (b) => (b.verificationMaterial.tlogEntries[0].kindVersion.kind = 'dsse')))).toBe('SIGSTORE_TLOG_KIND_REFUSED');
  });
  it('no messageDigest: refused as malformed before any crypto (SIGNATURE_MALFORMED)', () => {
    expect(one(bundleWith(PROD, (b) => delete b.messageSignature.messageDigest))).toBe('SIGNATURE_MALFORMED');
  });
  it('a digest labelled SHA2_384: SIGSTORE_DIGEST_MISMATCH', () => {
    expect(one(bundleWith(PROD, (b) => (b.messageSignature.messageDigest.algorithm = 'SHA2_384')))).toBe('SIGSTORE_DIGEST_MISMATCH');
  });
  it('an empty dsseEnvelope beside the message signature: SIGSTORE_DSSE_REFUSED', () => {
    expect(one(bundleWith(PROD, (b) => (b.dsseEnvelope = null)))).toBe('SIGSTORE_DSSE_REFUSED');
  });
  it('one byte more in the approval: SIGSTORE_DIGEST_MISMATCH', () => {
    expect(outcome(bundleOf(PROD), Buffer.concat([artifactOf(PROD), Buffer.from('\n')]), [keyless('bob', BEACON, rootOf(PROD))])).toBe('SIGSTORE_DIGEST_MISMATCH');
  });
});
