/**
 * Was this key valid for this signature? Revocation, expiry and strength of
 * the primary key and of the (sub)key that signed, judged at two instants:
 * when the signature says it was made, and the instant being judged (`now`:
 * the runner's clock, `verify --at`, or an audited session's activation time).
 *
 * Revocations are read by their reason code, as RFC 9580 §5.2.3.31 intends:
 * - keySuperseded / keyRetired ("soft"): the holder stopped using the key; it
 *   was not lost. Signatures made before the revocation stay valid when judged
 *   before it, so the audit of a session that activated before its approver
 *   rotated keys stays clean.
 * - keyCompromised, noReason, any other code, or a revocation that cannot be
 *   verified ("hard"): someone else may hold the key and may have dated
 *   signatures as they liked, so every signature is void, past ones included.
 *
 * A soft revocation also voids a signature judged after it, even one that
 * claims an earlier date: the signature time is written by whoever holds the
 * key, and a retired key on an old laptop can be stolen later and backdate.
 */
import * as openpgp from 'openpgp';
import { fail } from './errors.js';
import { messageOf } from './error-parts.js';

type PublicKey = openpgp.PublicKey;
/** The primary key or one of its subkeys. */
export type KeyPart = PublicKey | openpgp.Subkey;

const MIN_RSA_BITS = 3072;
const R = openpgp.enums.reasonForRevocation;
const SOFT_REASONS: ReadonlySet<number> = new Set([R.keySuperseded, R.keyRetired]);
const REASON_NAMES: Readonly<Record<number, string>> = {
  [R.noReason]: 'no reason given',
  [R.keySuperseded]: 'superseded',
  [R.keyCompromised]: 'compromised',
  [R.keyRetired]: 'retired',
  [R.userIDInvalid]: 'user id no longer valid',
};

/** One revocation signature on a key part, as read. */
interface Revocation {
  soft: boolean;
  at: Date;
  reason: string;
  verified: boolean;
}

function describe(key: PublicKey, part: KeyPart): string {
  return `${part === key ? 'key' : 'signing subkey'} ${part.getFingerprint().toUpperCase()}`;
}

function reasonOf(sig: openpgp.SignaturePacket): string {
  const flag = sig.reasonForRevocationFlag ?? R.noReason;
  const name = REASON_NAMES[flag] ?? `reason code ${flag}`;
  return sig.reasonForRevocationString ? `${name}: "${sig.reasonForRevocationString}"` : name;
}

/** Every revocation signature on `part`, each checked against the primary key. */
async function revocationsOf(key: PublicKey, part: KeyPart): Promise<Revocation[]> {
  const primary = key.keyPacket;
  const isPrimary = part === key;
  const type = isPrimary ? openpgp.enums.signature.keyRevocation : openpgp.enums.signature.subkeyRevocation;
  const data = isPrimary ? { key: primary } : { key: primary, bind: (part as openpgp.Subkey).keyPacket };
  const out: Revocation[] = [];
  for (const sig of part.revocationSignatures) {
    let verified = true;
    try {
      // date null: a revocation's own creation time is read below, never compared to a clock here.
      await sig.verify(primary, type, data, null as unknown as Date, false);
    } catch {
      // A revocation the trust file carries but we cannot check: the customer's own file says
      // "revoked", so fail closed and treat it as hard rather than ignore it.
      verified = false;
    }
    const flag = sig.reasonForRevocationFlag ?? R.noReason;
    out.push({ soft: verified && SOFT_REASONS.has(flag), at: sig.created ?? new Date(0), reason: reasonOf(sig), verified });
  }
  return out;
}

/**
 * Refuses a signature whose primary key or signing subkey carries a revocation
 * in effect: any hard one (KEY_REVOKED), or a soft one dated at or before the
 * signature or the judged instant (KEY_RETIRED). Hard ones are reported first.
 */
export async function checkRevocations(key: PublicKey, part: KeyPart, signed: Date, now: Date): Promise<void> {
  const parts = part === key ? [key] : [key, part];
  const all = await Promise.all(parts.map(async (p) => ({ p, revs: await revocationsOf(key, p) })));
  for (const { p, revs } of all) {
    for (const r of revs.filter((x) => !x.soft)) {
      const why = r.verified ? r.reason : `${r.reason}; the revocation signature cannot be verified, so it is treated as a compromise`;
      fail('KEY_REVOKED', `${describe(key, p)} is revoked (${why}, ${r.at.toISOString()}): a key revoked for compromise or without a reason voids every signature it made, before or after`);
    }
  }
  for (const { p, revs } of all) {
    for (const r of revs) {
      if (r.at.getTime() <= signed.getTime())
        fail('KEY_RETIRED', `${describe(key, p)} was retired (${r.reason}) at ${r.at.toISOString()}, before this signature was made (${signed.toISOString()}); sign with the approver's new key`);
      if (r.at.getTime() <= now.getTime()) {
        fail(
          'KEY_RETIRED',
          `${describe(key, p)} was retired (${r.reason}) at ${r.at.toISOString()}, before ${now.toISOString()}: it authorises nothing judged after that; a signature made before stays valid only for what was judged before it (audit)`,
        );
      }
    }
  }
}

/** RSA >= 3072 bits or ed25519 / ed448. */
export function checkStrength(part: KeyPart): void {
  const a = part.getAlgorithmInfo() as { algorithm: string; bits?: number; curve?: string };
  const ok = a.algorithm.startsWith('rsa') ? (a.bits ?? 0) >= MIN_RSA_BITS : a.algorithm === 'eddsaLegacy' ? a.curve === 'ed25519Legacy' : a.algorithm === 'ed25519' || a.algorithm === 'ed448';
  if (!ok)
    fail('KEY_WEAK', `key ${part.getFingerprint().toUpperCase()} is ${a.algorithm}${a.bits ? ` ${a.bits} bits` : ''}${a.curve ? ` ${a.curve}` : ''}, not RSA >= ${MIN_RSA_BITS} bits or ed25519`);
}

/**
 * Refuses a primary key or signing subkey that is not valid at `at`: expired,
 * not yet created, or without a valid self-signature / binding at that time.
 * Self-signatures made after `at` (a later expiry extension) do not count,
 * so an audit sees the key as it was. Revocations are `checkRevocations`' concern.
 */
async function checkValidAt(key: PublicKey, part: KeyPart, at: Date, when: string): Promise<void> {
  for (const p of part === key ? [key] : [key, part]) {
    try {
      if (p === key) await key.verifyPrimaryKey(at);
      else await (p as openpgp.Subkey).verify(at);
    } catch (e) {
      const exp = p === key ? await key.getExpirationTime() : await (p as openpgp.Subkey).getExpirationTime(at);
      const expires = exp instanceof Date ? `; it expires ${exp.toISOString()}` : '';
      fail('KEY_EXPIRED', `${describe(key, p)} is not valid ${when} (${at.toISOString()}): ${messageOf(e)}${expires}`, e);
    }
  }
}

/**
 * The whole validity checklist for one signature by `part` of `key`, made at
 * `signed` and judged at `now`. Does NOT verify the signature's bytes.
 */
export async function checkKeyValidity(key: PublicKey, part: KeyPart, signed: Date, now: Date): Promise<void> {
  // Hard revocations first: a compromised key is reported as such even when it is also expired.
  await checkRevocations(key, part, signed, now);
  checkStrength(key);
  if (part !== key) checkStrength(part);
  for (const p of part === key ? [key] : [key, part]) {
    if (p.getCreationTime().getTime() > signed.getTime())
      fail('SIGNATURE_FUTURE', `the signature (${signed.toISOString()}) is older than ${describe(key, p)} that made it (${p.getCreationTime().toISOString()})`);
  }
  await checkValidAt(key, part, signed, 'when the signature was made');
  if (now.getTime() > signed.getTime()) await validAtJudged(key, part, now);
}

/**
 * The check at the time judged, once per key part and judging time: every
 * approval of one verification run is judged at the same `now`, so verifying
 * a thousand approvals by one key verifies its self-signatures at `now` once.
 * Only the last time is kept per part (a runner judges at a new `now` each
 * loop); the result is a pure function of the key's bytes and the time.
 */
const judged = new WeakMap<KeyPart, { at: number; result: Promise<void> }>();

function validAtJudged(key: PublicKey, part: KeyPart, now: Date): Promise<void> {
  const hit = judged.get(part);
  if (hit && hit.at === now.getTime()) return hit.result;
  const result = checkValidAt(key, part, now, 'at the time judged');
  result.catch(() => undefined);
  judged.set(part, { at: now.getTime(), result });
  return result;
}
