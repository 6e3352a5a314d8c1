/**
 * Who signed a file: the trusted approvers a detached signature binds to,
 * and the identity of the key that made it (what the threshold counts).
 *
 * Only keys from the injected trust material are ever consulted. A key that
 * sits in the repository under verification (a vendor can send pull requests
 * to it) is never looked at, so committing one changes nothing.
 */
import { keyEmails, verifyDetached, type PublicKey } from '../crypto/openpgp.js';
import { canonicalIdentity } from './identity.js';
import { verifySigstoreBundle } from '../crypto/sigstore.js';
import { fail } from './reasons.js';
import type { SignatureFile } from './repository.js';
import type { TrustedApprover, TrustMaterial } from './trust.js';

/** A verified signer. */
export interface Signer {
  /** The stable identity of the key: a primary fingerprint, or a sigstore key/identity. */
  keyId: string;
  /** The fingerprint of the (sub)key that signed, for records. */
  signingKey: string;
  /** Trust entries that carry this key; more than one is a trust-file mistake the threshold must survive. */
  approvers: TrustedApprover[];
  /** Every identity of the signer (e-mails and subjects in canonical form), for the self-approval rule. */
  identities: string[];
}

function identitiesOf(approvers: readonly TrustedApprover[], extra: readonly string[]): string[] {
  // Canonical forms (identity.ts), so `Alice+x@Customer.Example` is alice@customer.example.
  const out = new Set(extra.map(canonicalIdentity));
  for (const a of approvers) if (a.email) out.add(canonicalIdentity(a.email));
  return [...out];
}

async function openpgpSigner(bytes: Uint8Array, sig: SignatureFile, trust: TrustMaterial, now: number): Promise<Signer> {
  const entries = trust.approvers.filter((a) => a.key.type === 'openpgp');
  const keys = entries.map((a) => (a.key as { key: PublicKey }).key);
  const v = await verifyDetached(bytes, sig.bytes, keys, new Date(now));
  const approvers = entries.filter((a) => (a.key as { key: PublicKey }).key.getFingerprint().toUpperCase() === v.primaryFingerprint);
  const key = (approvers[0]!.key as { key: PublicKey }).key;
  return { keyId: `openpgp:${v.primaryFingerprint}`, signingKey: v.signingFingerprint, approvers, identities: identitiesOf(approvers, keyEmails(key)) };
}

async function sigstoreSigner(bytes: Uint8Array, sig: SignatureFile, trust: TrustMaterial, now: number): Promise<Signer> {
  const v = verifySigstoreBundle(sig.bytes, bytes, trust.approvers, new Date(now));
  return { keyId: v.keyId, signingKey: v.keyId, approvers: v.approvers, identities: identitiesOf(v.approvers, v.subject ? [v.subject] : []) };
}

/**
 * Verifies the one signature beside a file and returns its signer.
 * Does NOT check what the file says (session, digest, approver name, ...):
 * only that a trusted key signed these exact bytes.
 */
export async function identifySigner(bytes: Uint8Array, signatures: readonly SignatureFile[], trust: TrustMaterial, now: number): Promise<Signer> {
  if (signatures.length === 0) fail('SIGNATURE_MISSING', 'no .asc or .sigstore.json signature beside the file');
  // Two signatures would let a reader choose which one to believe; refuse both.
  if (signatures.length > 1) fail('SIGNATURE_AMBIGUOUS', `${signatures.length} signatures beside the file (${signatures.map((s) => s.path).join(', ')}); keep exactly one`);
  const sig = signatures[0]!;
  return sig.type === 'openpgp' ? openpgpSigner(bytes, sig, trust, now) : sigstoreSigner(bytes, sig, trust, now);
}
