/**
 * The revocation rules of src/crypto/openpgp-validity.ts on what gpg cannot
 * easily make: a revocation that does not verify, a reason code outside the
 * RFC's list, and key files holding several keys. openpgp.js keys; the real
 * gpg cases are in verify-gnupg-matrix.test.ts and verify-key-rotation.test.ts.
 */
import * as openpgp from 'openpgp';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, readPrivateKey, readPublicKey, readPublicKeys, revoke, signDetached, verifyDetached, type GeneratedKey } from '../src/crypto/openpgp.js';
import { VerificationFailure } from '../src/core/reasons.js';

const MADE = new Date('2026-11-01T00:00:00Z');
const SIGNED = new Date('2026-11-10T00:00:00Z');
const REVOKED = new Date('2026-11-20T00:00:00Z');
const BEFORE = new Date('2026-11-10T00:10:00Z');
const DATA = Buffer.from('kind: Approval\n');

let alice: GeneratedKey;
let bob: GeneratedKey;
let signature: string;

beforeAll(async () => {
  alice = await generateKeyPair({ name: 'alice', email: 'alice@customer.example', date: MADE });
  bob = await generateKeyPair({ name: 'bob', email: 'bob@customer.example', date: MADE });
  signature = await signDetached(await readPrivateKey(alice.privateKey), DATA, SIGNED);
});

/** The reason code verifyDetached fails with, or 'valid'. */
async function verdict(armoredKey: string, at: Date): Promise<string> {
  try {
    await verifyDetached(DATA, Buffer.from(signature), [await readPublicKey(armoredKey)], at);
    return 'valid';
  } catch (e) {
    if (e instanceof VerificationFailure) return e.code;
    throw e;
  }
}

describe('a revocation on a trusted key', () => {
  it('by reason: superseded and retired are soft until their date, compromised and unspecified are hard', async () => {
    const expected = { superseded: ['valid', 'KEY_RETIRED'], retired: ['valid', 'KEY_RETIRED'], compromised: ['KEY_REVOKED', 'KEY_REVOKED'], unspecified: ['KEY_REVOKED', 'KEY_REVOKED'] } as const;
    for (const [reason, [before, after]] of Object.entries(expected)) {
      const revoked = await revoke(alice.privateKey, { reason: reason as keyof typeof expected, date: REVOKED });
      expect([reason, await verdict(revoked, BEFORE)]).toEqual([reason, before]);
      expect([reason, await verdict(revoked, new Date('2026-11-21T00:00:00Z'))]).toEqual([reason, after]);
    }
  });
  it('with a reason code outside the RFC list (a private 100) is hard: KEY_REVOKED', async () => {
    // openpgp.js refuses to make one, so the revocation is signed by hand.
    const key = await readPrivateKey(alice.privateKey);
    const sig = new openpgp.SignaturePacket();
    Object.assign(sig, {
      signatureType: openpgp.enums.signature.keyRevocation,
      publicKeyAlgorithm: key.keyPacket.algorithm,
      hashAlgorithm: openpgp.enums.hash.sha256,
      reasonForRevocationFlag: 100,
      reasonForRevocationString: '',
    });
    // The runtime takes a config as a fifth argument that the type declarations leave out.
    const signPacket = sig.sign as (...args: unknown[]) => Promise<void>;
    await signPacket.call(sig, key.keyPacket, { key: key.keyPacket }, REVOKED, false, openpgp.config);
    const pub = await readPublicKey(alice.publicKey);
    pub.revocationSignatures.push(sig);
    const publicKey = pub.armor();
    expect((await readPublicKey(publicKey)).revocationSignatures[0]!.reasonForRevocationFlag).toBe(100);
    await expect(verifyDetached(DATA, Buffer.from(signature), [await readPublicKey(publicKey)], BEFORE)).rejects.toThrow(/reason code 100, /);
    expect(await verdict(publicKey, BEFORE)).toBe('KEY_REVOKED');
  });
  it("that does not verify (bob's revocation grafted onto alice's key) is treated as a compromise: KEY_REVOKED", async () => {
    const bobRevoked = await readPublicKey(await revoke(bob.privateKey, { reason: 'superseded', date: REVOKED }));
    const graft = await readPublicKey(alice.publicKey);
    graft.revocationSignatures.push(...bobRevoked.revocationSignatures);
    const armored = graft.armor();
    expect(await verdict(alice.publicKey, BEFORE)).toBe('valid');
    expect(await verdict(armored, BEFORE)).toBe('KEY_REVOKED');
    await expect(verifyDetached(DATA, Buffer.from(signature), [await readPublicKey(armored)], BEFORE)).rejects.toThrow(/cannot be verified/);
  });
  it('on one copy of a key listed twice counts, whichever copy comes first', async () => {
    const revoked = await readPublicKey(await revoke(alice.privateKey, { reason: 'compromised', date: REVOKED }));
    const plain = await readPublicKey(alice.publicKey);
    for (const keys of [
      [plain, revoked],
      [revoked, plain],
    ]) {
      await expect(verifyDetached(DATA, Buffer.from(signature), keys, BEFORE)).rejects.toMatchObject({ code: 'KEY_REVOKED' });
    }
  });
});

describe('a key file', () => {
  it('may hold several keys in armored blocks one after the other (one block of several: verify-key-rotation); readPublicKey still wants exactly one', async () => {
    const both = `${alice.publicKey}\n${bob.publicKey}`;
    expect((await readPublicKeys(both)).map((k) => k.getFingerprint().toUpperCase())).toEqual([alice.fingerprint, bob.fingerprint]);
    await expect(readPublicKey(both)).rejects.toThrow('expected one public key, found 2');
  });
  it('holding a key twice, or a secret key, is refused', async () => {
    await expect(readPublicKeys(`${alice.publicKey}\n${alice.publicKey}`)).rejects.toThrow(`key ${alice.fingerprint} appears twice`);
    await expect(readPublicKeys(`${bob.publicKey}\n${alice.privateKey}`)).rejects.toThrow('found a secret key');
  });
});
