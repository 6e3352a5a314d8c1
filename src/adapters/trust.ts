/**
 * Loads the customer's trust file (kind: Trust) and the key material it names,
 * resolving paths relative to the trust file. The result is what the pure
 * verifier takes; nothing here decides whether a signature is good.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { loadDocument } from '../core/document.js';
import { BreakglassError, InvalidDocumentError } from '../core/errors.js';
import type { Trust } from '../core/schemas.js';
import type { TrustedApprover, TrustedKey, TrustMaterial } from '../core/trust.js';
import { readPublicKeys, type PublicKey } from '../crypto/openpgp.js';
import { pinTrustedRoot } from '../crypto/sigstore-root.js';
import { messageOf } from '../crypto/error-parts.js';

type TrustEntry = Trust['approvers'][number];

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

async function readAt(base: string, path: string, what: string, repoDir?: string): Promise<Buffer> {
  const full = resolve(base, path);
  // Keys in the repository under verification are chosen by whoever can open a
  // pull request there: the trust file must never point into it.
  if (repoDir && inside(repoDir, full)) throw new BreakglassError('TRUST_IN_REPOSITORY', `${what} ${full} is inside the repository being verified; trust material must live outside it`);
  try {
    return await readFile(full);
  } catch (e) {
    throw new BreakglassError('TRUST_UNREADABLE', `cannot read ${what} ${full}: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * The keys of one trust entry. An `openpgp:` file may hold several keys (one
 * armored block of several, or blocks one after the other): an approver who
 * rotates keeps the old key, revoked as superseded, beside the new one, so
 * sessions approved with the old key stay verifiable. All of them are one approver.
 */
async function loadKeys(base: string, entry: TrustEntry, repoDir?: string): Promise<TrustedKey[]> {
  if ('openpgp' in entry) {
    const bytes = await readAt(base, entry.openpgp, `OpenPGP key of ${entry.name}`, repoDir);
    try {
      return (await readPublicKeys(bytes)).map((key) => ({ type: 'openpgp', key }));
    } catch (e) {
      throw new BreakglassError('TRUST_INVALID', `OpenPGP key of ${entry.name} (${entry.openpgp}) cannot be read: ${messageOf(e)}`, { cause: e });
    }
  }
  return [await loadSigstore(base, entry, repoDir)];
}

async function loadSigstore(base: string, entry: Extract<TrustEntry, { sigstore: unknown }>, repoDir?: string): Promise<TrustedKey> {
  const s = entry.sigstore;
  if ('publicKey' in s) {
    const pem = (await readAt(base, s.publicKey, `sigstore public key of ${entry.name}`, repoDir)).toString('utf8');
    try {
      createPublicKey(pem);
    } catch (e) {
      throw new BreakglassError('TRUST_INVALID', `sigstore public key of ${entry.name} (${s.publicKey}) is not a PEM public key`, { cause: e });
    }
    return { type: 'sigstore-key', publicKeyPem: pem };
  }
  if (!s.trustedRoot) {
    // Offline only: the public-good root would have to be fetched (TUF); pin it as a file instead.
    throw new BreakglassError('TRUST_INVALID', `keyless sigstore approver ${entry.name} needs trustedRoot: a pinned trusted_root.json (verification is offline)`);
  }
  const label = `trusted root of ${entry.name} (${s.trustedRoot})`;
  let root: unknown;
  try {
    root = JSON.parse((await readAt(base, s.trustedRoot, label, repoDir)).toString('utf8'));
  } catch (e) {
    if (e instanceof BreakglassError) throw e;
    throw new BreakglassError('TRUST_INVALID', `${label} is not JSON: ${messageOf(e)}`, { cause: e });
  }
  // Validated now, so a bad root stops the runner at start rather than at the first approval.
  pinTrustedRoot(root, label);
  return { type: 'sigstore-identity', issuer: s.issuer, subject: s.subject, trustedRoot: root };
}

/**
 * Reads the trust file at `path`. When `repoDir` is given, refuses a trust file
 * or key that lives inside that repository.
 */
export async function loadTrust(path: string, repoDir?: string): Promise<TrustMaterial> {
  const full = resolve(path);
  const bytes = await readAt(dirname(full), full, 'trust file', repoDir);
  const loaded = loadDocument(full, bytes, 'Trust');
  if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
  const names = new Set<string>();
  const approvers: TrustedApprover[] = [];
  for (const entry of loaded.value.approvers) {
    if (names.has(entry.name)) throw new BreakglassError('TRUST_INVALID', `approver ${entry.name} is listed twice in ${full}`);
    names.add(entry.name);
    for (const key of await loadKeys(dirname(full), entry, repoDir)) approvers.push({ name: entry.name, email: entry.email, key });
  }
  return { threshold: loaded.value.threshold, approvers };
}

/**
 * The runner's record-signing public keys, named by the trust file's
 * `runner:` (for auditors and vendors); empty when the trust file names none.
 *
 * The file may hold several keys, so the runner key can be rotated: the new
 * key is added beside the old one, and the old one is kept (revoked or
 * expired once retired) because the records it signed must still verify. A
 * signature is checked against every key as of when it was made, so a
 * retired key verifies its own past records and nothing signed after its
 * revocation or expiry (docs/guides/operator.md, "Rotating the runner key").
 */
export async function loadRunnerKeys(path: string, repoDir?: string): Promise<PublicKey[]> {
  const full = resolve(path);
  const loaded = loadDocument(full, await readAt(dirname(full), full, 'trust file', repoDir), 'Trust');
  if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
  if (!loaded.value.runner) return [];
  const bytes = await readAt(dirname(full), loaded.value.runner, 'runner key', repoDir);
  try {
    const keys = await readPublicKeys(bytes);
    if (keys.length === 0) throw new Error('the file holds no key');
    return keys;
  } catch (e) {
    throw new BreakglassError('TRUST_INVALID', `runner key ${loaded.value.runner} cannot be read: ${messageOf(e)}`, { cause: e });
  }
}

/** One auditor of the trust file (issue 12): the keys a recording is sealed to. */
export interface TrustedAuditor {
  name: string;
  /** Every key in the auditor's file that can encrypt at load time. */
  keys: PublicKey[];
}

/**
 * The trust file's `auditors:` (empty when it lists none). Refuses an auditor
 * listed twice, one key under two names, a file that is not public keys, and
 * an auditor none of whose keys can encrypt at `now` (expired, revoked, or no
 * encryption subkey): a recording sealed to nobody who can open it is lost.
 */
export async function loadAuditors(path: string, repoDir?: string, now: Date = new Date()): Promise<TrustedAuditor[]> {
  const full = resolve(path);
  const loaded = loadDocument(full, await readAt(dirname(full), full, 'trust file', repoDir), 'Trust');
  if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
  const out: TrustedAuditor[] = [];
  const owner = new Map<string, string>();
  for (const entry of loaded.value.auditors ?? []) {
    if (out.some((a) => a.name === entry.name)) throw new BreakglassError('AUDITOR_DUPLICATE', `auditor ${entry.name} is listed twice in ${full}`);
    const bytes = await readAt(dirname(full), entry.openpgp, `OpenPGP key of auditor ${entry.name}`, repoDir);
    let keys: PublicKey[];
    try {
      keys = await readPublicKeys(bytes);
    } catch (e) {
      throw new BreakglassError('AUDITOR_INVALID', `OpenPGP key of auditor ${entry.name} (${entry.openpgp}) cannot be read: ${messageOf(e)}`, { cause: e });
    }
    for (const k of keys) {
      const fpr = k.getFingerprint().toUpperCase();
      const other = owner.get(fpr);
      // One key under two names would make two auditors look like two people.
      if (other !== undefined) throw new BreakglassError('AUDITOR_DUPLICATE', `key ${fpr} is listed for auditors ${other} and ${entry.name}`);
      owner.set(fpr, entry.name);
    }
    const usable = await encryptingKeys(keys, now);
    if (usable.length === 0)
      throw new BreakglassError('AUDITOR_KEY_UNUSABLE', `no key of auditor ${entry.name} (${entry.openpgp}) can encrypt at ${now.toISOString()}: expired, revoked, or without an encryption subkey`);
    out.push({ name: entry.name, keys: usable });
  }
  return out;
}

async function encryptingKeys(keys: readonly PublicKey[], now: Date): Promise<PublicKey[]> {
  const out: PublicKey[] = [];
  for (const k of keys) {
    try {
      await k.getEncryptionKey(undefined, now);
      out.push(k);
    } catch {
      // Superseded or expired: the auditor's other keys are used.
    }
  }
  return out;
}
