/**
 * OpenPGP behind a small interface: key generation that GnuPG 2.2 imports,
 * binary-mode detached signatures, their verification against keys the caller
 * trusts, and sealing data to a recipient key.
 *
 * Failures throw `VerificationFailure` with a stable reason code, so the
 * verifier's checklist can report exactly why a signature was refused.
 */
import * as openpgp from 'openpgp';
import { fail } from './errors.js';
import { checkKeyValidity, type KeyPart } from './openpgp-validity.js';
import { messageOf } from './error-parts.js';

export type PublicKey = openpgp.PublicKey;
export type PrivateKey = openpgp.PrivateKey;

// v4 keys only: gpg 2.2 rejects RFC 9580 v6 keys, and approvers must be able to
// use plain gpg. Nothing below relies on v6 features.
const CONFIG: Partial<openpgp.Config> = { v6Keys: false };

/** A generated key pair, armored. The secret key is unencrypted: the caller protects the file (mode 0600). */
export interface GeneratedKey {
  publicKey: string;
  privateKey: string;
  revocationCertificate: string;
  fingerprint: string;
}

/** Options for `generateKeyPair`; `date` and `expiresIn` exist for tests of expired keys. */
export interface KeygenOptions {
  name: string;
  email: string;
  date?: Date;
  /** Seconds until the key expires; 0 or absent means never. */
  expiresIn?: number;
}

/** Generates a v4 ed25519 ("legacy" EdDSA) signing key with a curve25519 encryption subkey. */
export async function generateKeyPair(opts: KeygenOptions): Promise<GeneratedKey> {
  const pair = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name: opts.name, email: opts.email }],
    format: 'armored',
    date: opts.date,
    keyExpirationTime: opts.expiresIn ?? 0,
    config: CONFIG,
  });
  const key = await openpgp.readKey({ armoredKey: pair.publicKey });
  return { ...pair, fingerprint: key.getFingerprint().toUpperCase() };
}

/** Reads one armored or binary public key; refuses secret keys so a trust file never holds one by mistake. */
export async function readPublicKey(data: string | Uint8Array): Promise<PublicKey> {
  const keys = await readPublicKeys(data);
  // One key expected: silently using the first of several would hide the others.
  if (keys.length !== 1) throw new Error(`expected one public key, found ${keys.length}`);
  return keys[0]!;
}

const ARMORED_BLOCK = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/**
 * Reads every public key in `data`: binary packets, one armored block holding
 * several keys (`gpg --armor --export A B`), or several armored blocks one after
 * the other (`cat old.asc new.asc`). Refuses secret keys and a key that appears
 * twice (two copies could disagree on a revocation; merge them first).
 */
export async function readPublicKeys(data: string | Uint8Array): Promise<PublicKey[]> {
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  const keys: openpgp.Key[] = [];
  if (text.includes('-----BEGIN PGP')) {
    const blocks = text.match(ARMORED_BLOCK) ?? [];
    if (blocks.length === 0) throw new Error('an armored key block is not terminated');
    for (const armoredKeys of blocks) keys.push(...(await openpgp.readKeys({ armoredKeys })));
  } else {
    keys.push(...(await openpgp.readKeys({ binaryKeys: typeof data === 'string' ? Buffer.from(data) : data })));
  }
  const seen = new Set<string>();
  for (const key of keys) {
    if (key.isPrivate()) throw new Error('expected a public key, found a secret key');
    const fpr = key.getFingerprint().toUpperCase();
    if (seen.has(fpr)) throw new Error(`key ${fpr} appears twice; merge the copies (gpg --import both, then gpg --armor --export ${fpr})`);
    seen.add(fpr);
  }
  return keys as PublicKey[];
}

/** Reads an armored secret key, decrypting it with `passphrase` when it is protected. */
export async function readPrivateKey(armored: string, passphrase?: string): Promise<PrivateKey> {
  const key = await openpgp.readPrivateKey({ armoredKey: armored });
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) throw new Error('the secret key is passphrase-protected; a passphrase is needed');
  return openpgp.decryptKey({ privateKey: key, passphrase });
}

/** True when the armored secret key needs a passphrase. */
export async function needsPassphrase(armored: string): Promise<boolean> {
  return !(await openpgp.readPrivateKey({ armoredKey: armored })).isDecrypted();
}

/** Detached, armored, binary-mode (type 0x00) signature over exact bytes. */
export async function signDetached(key: PrivateKey, data: Uint8Array, date?: Date): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored', date, config: CONFIG });
}

/** What a detached signature says about itself, before any key is consulted. */
export interface SignatureInfo {
  signature: openpgp.Signature;
  packet: openpgp.SignaturePacket;
  created: Date;
  /** Key ids (16 hex, upper case) the signature names as its issuer. */
  issuerKeyIds: string[];
}

/**
 * Parses a detached signature and refuses anything but exactly one binary-mode
 * signature. Does NOT check the signature against any key.
 */
export async function inspectSignature(bytes: Uint8Array): Promise<SignatureInfo> {
  let signature: openpgp.Signature;
  try {
    const text = Buffer.from(bytes).toString('utf8');
    signature = text.includes('-----BEGIN PGP SIGNATURE-----') ? await openpgp.readSignature({ armoredSignature: text }) : await openpgp.readSignature({ binarySignature: bytes });
  } catch (e) {
    return fail('SIGNATURE_MALFORMED', `signature cannot be read: ${messageOf(e)}`, e);
  }
  const packets = [...signature.packets] as openpgp.SignaturePacket[];
  if (packets.length === 0) fail('SIGNATURE_MALFORMED', 'the signature file holds no signature packet');
  // One file, one signature: several would let one file count for several signers.
  if (packets.length > 1) fail('SIGNATURE_MULTIPLE', `the signature file holds ${packets.length} signatures; exactly one is accepted`);
  const packet = packets[0]!;
  // Text mode (0x01) signs canonicalized text (CRLF line ends, trailing
  // whitespace stripped): different bytes from what is stored would verify.
  if (packet.signatureType === openpgp.enums.signature.text)
    fail('SIGNATURE_TEXT_MODE', 'text-mode signature (type 0x01); sign the exact bytes in binary mode (gpg --detach-sign, without --textmode)');
  if (packet.signatureType !== openpgp.enums.signature.binary)
    fail('SIGNATURE_TYPE', `signature type 0x${(packet.signatureType ?? 0).toString(16).padStart(2, '0')} is not a binary document signature (0x00)`);
  if (!packet.created) fail('SIGNATURE_MALFORMED', 'the signature has no creation time');
  const issuerKeyIds = signature.getSigningKeyIDs().map((k) => k.toHex().toUpperCase());
  return { signature, packet, created: packet.created, issuerKeyIds };
}

/** Every trusted key whose key or subkey id matches the signature's issuer. */
export function findIssuers(info: SignatureInfo, keys: readonly PublicKey[]): PublicKey[] {
  return keys.filter((k) => k.getKeyIDs().some((id) => info.issuerKeyIds.includes(id.toHex().toUpperCase())));
}

function keyPartFor(key: PublicKey, info: SignatureInfo): KeyPart {
  // The part the signature names, never a sibling: a signature by an expired
  // or revoked subkey is refused even when the key has another valid one.
  const part = key.getKeys().find((k) => info.issuerKeyIds.includes(k.getKeyID().toHex().toUpperCase()));
  return part ?? key;
}

/** The outcome of a verified detached signature. */
export interface OpenPgpVerified {
  primaryFingerprint: string;
  signingFingerprint: string;
  created: Date;
}

/**
 * Verifies a detached binary-mode signature over `data` with one of `keys`.
 * Does NOT decide whether the signer may approve anything: only that one of
 * the given keys, valid now and at signing time, made this signature.
 */
export async function verifyDetached(data: Uint8Array, sigBytes: Uint8Array, keys: readonly PublicKey[], now: Date): Promise<OpenPgpVerified> {
  const info = await inspectSignature(sigBytes);
  const matches = findIssuers(info, keys);
  const key = matches[0];
  if (!key) fail('KEY_UNTRUSTED', `signed by key id ${info.issuerKeyIds.join(', ') || '(none named)'}, which is not in the trust file`);
  if (info.created.getTime() > now.getTime() + 5 * 60_000) fail('SIGNATURE_FUTURE', `signature made ${info.created.toISOString()}, in the future`);
  // The same key may sit in the trust file more than once (under two names, or
  // an old copy beside a revoked one): every copy must agree it was valid.
  for (const k of matches) await checkKeyValidity(k, keyPartFor(k, info), info.created, now);
  try {
    const message = await openpgp.createMessage({ binary: data });
    const result = await openpgp.verify({ message, signature: info.signature, verificationKeys: key, date: info.created, format: 'binary', expectSigned: true, config: CONFIG });
    const first = result.signatures[0]!;
    await first.verified;
  } catch (e) {
    fail('SIGNATURE_INVALID', `signature does not verify over these bytes: ${messageOf(e)}`, e);
  }
  const part = keyPartFor(key, info);
  return { primaryFingerprint: key.getFingerprint().toUpperCase(), signingFingerprint: part.getFingerprint().toUpperCase(), created: info.created };
}

/** The keys' primary fingerprints, upper-case, comma-separated: how messages name a set of keys. */
export function fingerprints(keys: readonly PublicKey[]): string {
  return keys.map((k) => k.getFingerprint().toUpperCase()).join(', ');
}

/** E-mail addresses in the key's user ids, lower-cased. */
export function keyEmails(key: PublicKey): string[] {
  return key.users.flatMap((u) => (u.userID?.email ? [u.userID.email.toLowerCase()] : []));
}

/** Encrypts `data` to the recipient's public key; armored output. */
export async function sealTo(publicKeyArmored: string, data: Uint8Array): Promise<string> {
  const encryptionKeys = await readPublicKey(publicKeyArmored);
  const message = await openpgp.createMessage({ binary: data });
  return openpgp.encrypt({ message, encryptionKeys, format: 'armored', config: CONFIG });
}

/**
 * Signs `data` with `signingKey` (binary mode), then encrypts message and
 * signature together to the recipient: only the recipient can read it, and
 * the recipient can tell who sealed it. Armored output.
 */
export async function sealAndSign(publicKeyArmored: string, signingKey: PrivateKey, data: Uint8Array, date?: Date): Promise<string> {
  const encryptionKeys = await readPublicKey(publicKeyArmored);
  const message = await openpgp.createMessage({ binary: data, date });
  return openpgp.encrypt({ message, encryptionKeys, signingKeys: signingKey, date, format: 'armored', config: CONFIG });
}

/** What `openSealed` found inside: the plaintext and each signature made over it, as detached signature bytes. */
export interface OpenedMessage {
  data: Uint8Array;
  /** Binary signature packets over `data`; NOT verified here. */
  signatures: Uint8Array[];
}

/**
 * Decrypts a message and hands back its signatures unverified, so the caller
 * checks them with `verifyDetached` against the one key it trusts (and can
 * tell "unsigned" from "signed by someone else"). A signature inside an
 * encrypted message is over the literal data, exactly like a detached one.
 */
export async function openSealed(privateKey: PrivateKey, armoredMessage: string): Promise<OpenedMessage> {
  const message = await openpgp.readMessage({ armoredMessage });
  const { data, signatures } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary', config: CONFIG });
  const sigs = await Promise.all(signatures.map(async (s) => (await s.signature).write()));
  return { data: data as Uint8Array, signatures: sigs };
}

/** Decrypts a message sealed with `sealTo`. */
export async function unseal(privateKey: PrivateKey, armoredMessage: string): Promise<Uint8Array> {
  const message = await openpgp.readMessage({ armoredMessage });
  const { data } = await openpgp.decrypt({ message, decryptionKeys: privateKey, format: 'binary' });
  return data as Uint8Array;
}

/** Why a key is revoked; `superseded` and `retired` keep earlier signatures valid, the others void them all. */
export type RevocationReason = 'superseded' | 'retired' | 'compromised' | 'unspecified';

const REVOCATION_FLAGS: Record<RevocationReason, number> = {
  superseded: openpgp.enums.reasonForRevocation.keySuperseded,
  retired: openpgp.enums.reasonForRevocation.keyRetired,
  compromised: openpgp.enums.reasonForRevocation.keyCompromised,
  unspecified: openpgp.enums.reasonForRevocation.noReason,
};

/** Revokes a key (tests and key rotation); returns the armored revoked public key. Without a reason the revocation is hard. */
export async function revoke(privateKeyArmored: string, opts: { reason?: RevocationReason; date?: Date } = {}): Promise<string> {
  const privateKey = await readPrivateKey(privateKeyArmored);
  const reasonForRevocation = { flag: REVOCATION_FLAGS[opts.reason ?? 'unspecified'] as openpgp.enums.reasonForRevocation };
  const { publicKey } = await openpgp.revokeKey({ key: privateKey, reasonForRevocation, date: opts.date, format: 'armored' });
  return publicKey;
}
