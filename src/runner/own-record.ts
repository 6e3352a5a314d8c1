/**
 * Which `record.yaml` counts as the runner's own. A record is the runner's
 * testimony that a session is over; the repository is writable by people the
 * runner does not trust (a merged pull request), so a record counts only when
 * its signature verifies with the runner's own key. Anything else is a planted
 * file: it neither closes a session nor stops the runner pushing its real
 * record, which replaces it.
 */
import { loadDocument } from '../core/document.js';
import { VerificationFailure } from '../core/reasons.js';
import { readPublicKey, verifyDetached } from '../crypto/openpgp.js';

/** The verdict on a record found in git. */
export type RecordCheck = { ok: true } | { ok: false; code: 'RECORD_UNSIGNED' | 'RECORD_NOT_RUNNER' | 'RECORD_INVALID'; message: string };

/**
 * Checks that `bytes` is a Record for `session` signed (detached, beside it)
 * by the runner key `runnerKeyArmored`. Does NOT check what the record says
 * happened: that is `audit`'s concern.
 */
export async function checkOwnRecord(session: string, bytes: Uint8Array, signature: Uint8Array | undefined, runnerKeyArmored: string, now: number): Promise<RecordCheck> {
  const path = `sessions/${session}/record.yaml`;
  // Who signed comes first: an unsigned or foreign file is not the runner's, whatever it says.
  if (!signature) return { ok: false, code: 'RECORD_UNSIGNED', message: `${path} has no record.yaml.asc beside it; only a record signed by this runner's key counts` };
  const key = await readPublicKey(runnerKeyArmored);
  try {
    await verifyDetached(bytes, signature, [key], new Date(now));
  } catch (e) {
    if (!(e instanceof VerificationFailure)) throw e;
    // KEY_UNTRUSTED: made by some other key. Anything else: our key, but not over these bytes (or unusable).
    const code = e.code === 'KEY_UNTRUSTED' ? 'RECORD_NOT_RUNNER' : 'RECORD_INVALID';
    return { ok: false, code, message: `${path}: ${e.code}: ${e.message}; the runner key is ${key.getFingerprint().toUpperCase()}` };
  }
  const loaded = loadDocument(path, bytes, 'Record');
  if (!loaded.ok) return { ok: false, code: 'RECORD_INVALID', message: `${path} is signed by the runner key but is not a valid Record (${loaded.findings[0]?.code ?? 'invalid'})` };
  // A genuine record of another session copied here is still not this session's record.
  if (loaded.value.session !== session) return { ok: false, code: 'RECORD_INVALID', message: `${path} is the runner's record of session ${loaded.value.session}, not of ${session}` };
  return { ok: true };
}
