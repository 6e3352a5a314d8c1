/**
 * Sigstore approvals, verified offline: key-based bundles against a pinned
 * key; keyless bundles against a pinned root with an EXACT issuer + subject.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvalYaml, ID, makeKeys, Repo, seed, type Keys } from './helpers/approvals.js';
import { ecKey, keyBundle, LocalFulcio } from './helpers/sigstore.js';
import type { TrustMaterial } from '../src/core/trust.js';
import type { SessionVerdict } from '../src/core/verify-session.js';

const ISSUER = 'https://accounts.google.com';
let keys: Keys;
let fulcio: LocalFulcio;
let carol: ReturnType<typeof ecKey>;
let trust: TrustMaterial;

beforeAll(async () => {
  keys = await makeKeys({ alice: 'alice@customer.example' });
  fulcio = new LocalFulcio();
  carol = ecKey();
  const { readPublicKey } = await import('../src/crypto/openpgp.js');
  trust = {
    threshold: 1,
    approvers: [
      { name: 'alice', key: { type: 'openpgp', key: await readPublicKey(keys.alice!.publicKey) } },
      { name: 'bob', key: { type: 'sigstore-identity', issuer: ISSUER, subject: 'bob@customer.example', trustedRoot: fulcio.trustedRoot() } },
      { name: 'carol', key: { type: 'sigstore-key', publicKeyPem: carol.publicPem } },
    ],
  };
});

async function withBundle(name: string, makeBundle: (body: Buffer) => string): Promise<SessionVerdict> {
  const repo = new Repo();
  const digest = await seed(repo, keys);
  const body = Buffer.from(approvalYaml(name, digest));
  repo.write(`sessions/${ID}/approvals/${name}.yaml`, body);
  repo.write(`sessions/${ID}/approvals/${name}.yaml.sigstore.json`, makeBundle(body));
  repo.commit('approve');
  return repo.verify(trust);
}

const fileCodes = (v: SessionVerdict, name: string) => v.reasons.filter((r) => r.file === `sessions/${ID}/approvals/${name}.yaml`).map((r) => r.code);

describe('a key-based bundle', () => {
  it('verifies against the pinned public key', async () => {
    const v = await withBundle('carol', (b) => keyBundle(carol.privateKey, b));
    expect(v.reasons).toEqual([]);
    expect(v.approvals?.accepted[0]?.keyId).toMatch(/^sigstore-key:[0-9a-f]{64}$/);
  });
  it('made with another key: SIGSTORE_KEY_UNTRUSTED', async () => {
    const v = await withBundle('carol', (b) => keyBundle(ecKey().privateKey, b));
    expect(fileCodes(v, 'carol')).toEqual(['SIGSTORE_KEY_UNTRUSTED']);
  });
  it('over different bytes: SIGSTORE_DIGEST_MISMATCH', async () => {
    const v = await withBundle('carol', (b) => keyBundle(carol.privateKey, Buffer.concat([b, Buffer.from('#')])));
    expect(fileCodes(v, 'carol')).toEqual(['SIGSTORE_DIGEST_MISMATCH']);
  });
  it('not a bundle at all: SIGNATURE_MALFORMED', async () => {
    const v = await withBundle('carol', () => '{"mediaType": 7}');
    expect(fileCodes(v, 'carol')).toEqual(['SIGNATURE_MALFORMED']);
  });
});

describe('a keyless bundle', () => {
  it('verifies with the exact issuer and subject', async () => {
    const v = await withBundle('bob', (b) => fulcio.keylessBundle(fulcio.issue('bob@customer.example', ISSUER), b));
    expect(v.reasons).toEqual([]);
    expect(v.approvals?.accepted[0]?.keyId).toBe(`sigstore-identity:${ISSUER} bob@customer.example`);
  });
  it('whose subject merely contains the trusted subject: SIGSTORE_SUBJECT_MISMATCH', async () => {
    const v = await withBundle('bob', (b) => fulcio.keylessBundle(fulcio.issue('bob@customer.example.evil.test', ISSUER), b));
    expect(fileCodes(v, 'bob')).toEqual(['SIGSTORE_SUBJECT_MISMATCH']);
  });
  it('whose subject has the trusted subject as a suffix: SIGSTORE_SUBJECT_MISMATCH', async () => {
    const v = await withBundle('bob', (b) => fulcio.keylessBundle(fulcio.issue('evil-bob@customer.example', ISSUER), b));
    expect(fileCodes(v, 'bob')).toEqual(['SIGSTORE_SUBJECT_MISMATCH']);
  });
  it('from another issuer: SIGSTORE_ISSUER_MISMATCH', async () => {
    const v = await withBundle('bob', (b) => fulcio.keylessBundle(fulcio.issue('bob@customer.example', 'https://accounts.google.com.evil.test'), b));
    expect(fileCodes(v, 'bob')).toEqual(['SIGSTORE_ISSUER_MISMATCH']);
  });
  it('from a CA that is not pinned: SIGSTORE_ROOT_MISMATCH', async () => {
    const other = new LocalFulcio();
    const v = await withBundle('bob', (b) => other.keylessBundle(other.issue('bob@customer.example', ISSUER), b));
    expect(fileCodes(v, 'bob')).toEqual(['SIGSTORE_ROOT_MISMATCH']);
  });
  it('with a forged log promise: SIGSTORE_INVALID', async () => {
    const forger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const v = await withBundle('bob', (b) => fulcio.keylessBundle(fulcio.issue('bob@customer.example', ISSUER), b, forger));
    expect(fileCodes(v, 'bob')).toEqual(['SIGSTORE_INVALID']);
  });
  it("under another approver's name: APPROVER_NAME_MISMATCH", async () => {
    const v = await withBundle('carol', (b) => fulcio.keylessBundle(fulcio.issue('bob@customer.example', ISSUER), b));
    expect(fileCodes(v, 'carol')).toEqual(['APPROVER_NAME_MISMATCH']);
  });
});
