/**
 * What `receive` checks before it writes anything: the delivery was signed by
 * the runner key the vendor pinned, and it is bound to this session, this
 * recipient and that runner. Anyone holding the vendor's public key (no
 * secret) can seal a kubeconfig pointing at their own server; only the
 * runner can sign one. Reads like a checklist: each step refuses with one code.
 *
 * Does NOT check: that the session was approved (the runner did that, and
 * its signature says so), or whether the credential has expired.
 */
import { BreakglassError } from './errors.js';
import { fail, VerificationFailure } from './reasons.js';
import { fingerprints, openSealed, readPublicKey, verifyDetached, type OpenedMessage, type PrivateKey, type PublicKey } from '../crypto/openpgp.js';
import type { DeliveryBinding, SealedPayload } from './delivery.js';
import { messageOf } from '../crypto/error-parts.js';

/** The runner keys a vendor trusts (the trust file's, several while one is rotated out), or one fingerprint (the key then comes with the delivery). */
export type RunnerPin = { keys: readonly PublicKey[] } | { fingerprint: string };

/** What the delivery must be for. */
export interface DeliveryExpectation {
  session: string;
  /** Checked when given: the repository name bound into approvals, e.g. github.com/customer/access. */
  repository?: string;
  /** Checked when given: `sha256:<hex>` of the request's exact bytes. */
  request?: string;
}

/** A delivery that passed every check. */
export interface VerifiedDelivery {
  payload: SealedPayload;
  binding: DeliveryBinding;
  runnerFingerprint: string;
}

async function open(key: PrivateKey, armored: string): Promise<OpenedMessage> {
  try {
    return await openSealed(key, armored);
  } catch (e) {
    throw new BreakglassError('RECEIVE_INVALID', `the delivery cannot be decrypted with your key: ${messageOf(e)}`, { cause: e });
  }
}

function loose(data: Uint8Array): Partial<SealedPayload> | undefined {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as unknown;
    return v && typeof v === 'object' ? (v as Partial<SealedPayload>) : undefined;
  } catch {
    return undefined;
  }
}

/** The keys to check the signature with. A key carried in the delivery is used only when its fingerprint is the pinned one. */
async function runnerKeys(pin: RunnerPin, data: Uint8Array): Promise<readonly PublicKey[]> {
  if ('keys' in pin) return pin.keys;
  const carried = loose(data)?.runnerKey;
  const key = typeof carried === 'string' ? await readPublicKey(carried).catch(() => undefined) : undefined;
  if (!key) fail('DELIVERY_SIGNER_UNKNOWN', `the delivery carries no readable runner key to check against the pinned fingerprint ${pin.fingerprint}`);
  const fpr = key.getFingerprint().toUpperCase();
  if (fpr !== pin.fingerprint.toUpperCase()) fail('DELIVERY_SIGNER_UNKNOWN', `the delivery was sealed by key ${fpr}, not the pinned runner key ${pin.fingerprint.toUpperCase()}`);
  return [key];
}

async function checkSigner(opened: OpenedMessage, pin: RunnerPin, now: Date): Promise<string> {
  // Sealing needs only the vendor's public key; a signature is what only the runner can add.
  if (opened.signatures.length === 0) fail('DELIVERY_UNSIGNED', 'the delivery is not signed; only a delivery signed by the runner key is accepted');
  if (opened.signatures.length > 1) fail('DELIVERY_SIGNER_UNKNOWN', `the delivery carries ${opened.signatures.length} signatures; exactly one, the runner's, is accepted`);
  const keys = await runnerKeys(pin, opened.data);
  try {
    return (await verifyDetached(opened.data, opened.signatures[0]!, keys, now)).primaryFingerprint;
  } catch (e) {
    if (!(e instanceof VerificationFailure)) throw e;
    if (e.code === 'KEY_UNTRUSTED') fail('DELIVERY_SIGNER_UNKNOWN', `the delivery is not signed by the runner key${keys.length > 1 ? 's' : ''} ${fingerprints(keys)}: ${e.message}`);
    return fail('DELIVERY_SIGNATURE_INVALID', `the runner's signature on the delivery does not hold: ${e.code}: ${e.message}`, e);
  }
}

function checkShape(data: Uint8Array): SealedPayload {
  const p = loose(data);
  const ok = p?.kind === 'Credential' && ((p.type === 'kubernetes-token' && typeof p.token === 'string') || (p.type === 'command' && p.encoding === 'base64' && typeof p.data === 'string'));
  if (!ok) throw new BreakglassError('RECEIVE_INVALID', 'the sealed message is not a breakglass credential');
  return p as SealedPayload;
}

function checkBinding(p: SealedPayload, want: DeliveryExpectation & { recipient: string; runner: string }): DeliveryBinding {
  const b = p.delivery;
  if (!b || typeof b !== 'object') fail('DELIVERY_BINDING_MISMATCH', 'the delivery names no session, repository or recipient it is for');
  // Each field is one way a genuine delivery could be replayed somewhere it was not meant for.
  const pairs: [string, unknown, string | undefined][] = [
    ['session', b.session, want.session],
    ['session', p.session, want.session],
    ['recipient', b.recipient, want.recipient],
    ['runner', b.runner, want.runner],
    ['repository', b.repository, want.repository],
    ['request', b.request, want.request],
  ];
  for (const [what, got, expected] of pairs) {
    if (expected !== undefined && got !== expected) fail('DELIVERY_BINDING_MISMATCH', `the delivery is for ${what} ${String(got)}, not ${expected}`);
  }
  return b;
}

/** Decrypts and verifies a delivery; throws `VerificationFailure` (DELIVERY_*) or `BreakglassError` (RECEIVE_INVALID). */
export async function verifyDelivery(armored: string, key: PrivateKey, pin: RunnerPin, want: DeliveryExpectation, now: Date): Promise<VerifiedDelivery> {
  const opened = await open(key, armored);
  const runner = await checkSigner(opened, pin, now);
  const payload = checkShape(opened.data);
  const binding = checkBinding(payload, { ...want, recipient: key.getFingerprint().toUpperCase(), runner });
  return { payload, binding, runnerFingerprint: runner };
}
