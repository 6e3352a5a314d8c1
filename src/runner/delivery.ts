/**
 * Delivery: the credential, signed with the runner's key and sealed with
 * OpenPGP to the recipient key named in the signed request, written once.
 * The signature lets `receive` refuse a credential sealed by anyone else who
 * holds the vendor's public key (which is no secret); the binding inside
 * ties it to one session of one repository, so it cannot be replayed. The directory channel writes
 * `<outbox>/<id>.asc` with O_EXCL: a second delivery of the same session
 * fails instead of overwriting. Only ciphertext ever touches the disk.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BreakglassError } from '../core/errors.js';
import { readPublicKey, sealAndSign, type PrivateKey } from '../crypto/openpgp.js';
import type { FileSource } from '../core/repository.js';
import type { DeliveryBinding, SealedPayload } from '../core/delivery.js';
import { codeOf } from '../crypto/error-parts.js';

/** The signed shapes live in core (core/delivery.ts), where `receive` and the drill verify them. */
export type { CommandCredentialPayload, CredentialPayload, DeliveryBinding, SealedPayload } from '../core/delivery.js';

/** `sha256:<hex>` of the credential: what the record keeps instead of the secret. */
export function credentialDigest(token: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

/**
 * Finds the recipient's public key: first the customer's own key directory,
 * then `policies/keys/<FPR>.asc` at the verified commit. The repository copy
 * is acceptable only because the fingerprint is in the signed request and is
 * checked here against the key itself: a swapped key file cannot redirect the
 * credential, it can only make delivery fail.
 */
export async function recipientKey(fingerprint: string, keyDir: string | undefined, repo: FileSource): Promise<string> {
  const fpr = fingerprint.toUpperCase();
  let armored: string | undefined;
  if (keyDir) armored = await readFile(join(keyDir, `${fpr}.asc`), 'utf8').catch(() => undefined);
  if (!armored) {
    const bytes = await repo.read(`policies/keys/${fpr}.asc`);
    armored = bytes && Buffer.from(bytes).toString('utf8');
  }
  if (!armored) throw new BreakglassError('RECIPIENT_KEY_MISSING', `no public key for recipient ${fpr} (looked in ${keyDir ?? '(no recipientKeys directory)'} and policies/keys/${fpr}.asc)`);
  const key = await readPublicKey(armored);
  if (key.getFingerprint().toUpperCase() !== fpr) {
    throw new BreakglassError('RECIPIENT_KEY_MISMATCH', `the key found for recipient ${fpr} has fingerprint ${key.getFingerprint().toUpperCase()}; refusing to seal to it`);
  }
  return armored;
}

/** The runner's key as `seal` needs it. */
export interface Sealer {
  signingKey: PrivateKey;
  /** Armored public key, carried inside the sealed payload for fingerprint-pinned verification. */
  publicKey: string;
}

/** Signs the payload with the runner key, bound to `binding`, and seals it to the recipient key. */
export async function seal(payload: SealedPayload, recipientArmored: string, sealer: Sealer, binding: DeliveryBinding): Promise<string> {
  const signed: SealedPayload = { ...payload, delivery: binding, runnerKey: sealer.publicKey };
  return sealAndSign(recipientArmored, sealer.signingKey, new TextEncoder().encode(JSON.stringify(signed)), new Date(Date.parse(binding.sealed)));
}

/** Writes the sealed credential to the outbox exactly once (O_EXCL); returns its path. */
export async function deliverToDirectory(outbox: string, session: string, sealed: string): Promise<string> {
  const path = join(outbox, `${session}.asc`);
  let fh: FileHandle;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (e) {
    if (codeOf(e) === 'EEXIST') throw new BreakglassError('ALREADY_DELIVERED', `${path} exists: session ${session} was already delivered`);
    throw e;
  }
  try {
    await fh.writeFile(sealed);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return path;
}

/** Removes a delivered file at teardown; it is useless then, and nothing should linger. */
export async function withdrawFromDirectory(path: string): Promise<void> {
  await rm(path, { force: true });
}
