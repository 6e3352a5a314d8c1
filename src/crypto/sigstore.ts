/**
 * Sigstore bundles (`<approver>.yaml.sigstore.json`), verified offline.
 *
 * - Key-based bundles verify against a public key pinned in the trust file.
 * - Keyless bundles verify against a pinned trusted root (CA chain at the
 *   signing time proven by a trusted transparency log or timestamp), and then
 *   the certificate's issuer and subject are compared EXACTLY with the trust
 *   file. sigstore-js treats the policy subject as a regular expression, so
 *   `bob@customer.example` would match `bob@customer.example.evil.test`; we
 *   never hand it a policy and compare the strings ourselves.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { crypto as sigCrypto } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { fail } from '../core/reasons.js';
import type { TrustedApprover } from '../core/trust.js';

/** The outcome of a verified bundle. */
export interface SigstoreVerified {
  /** Stable key identity: `sigstore-key:<sha256 of SPKI>` or `sigstore-identity:<issuer> <subject>`. */
  keyId: string;
  approvers: TrustedApprover[];
  subject?: string;
}

type KeyEntry = TrustedApprover & { key: { type: 'sigstore-key'; publicKeyPem: string } };
type IdentityEntry = TrustedApprover & { key: { type: 'sigstore-identity'; issuer: string; subject: string; trustedRoot: unknown } };

function parseBundle(bytes: Uint8Array): Bundle {
  try {
    return bundleFromJSON(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (e) {
    return fail('SIGNATURE_MALFORMED', `sigstore bundle cannot be read: ${(e as Error).message}`, e);
  }
}

function spkiId(pem: string): string {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return `sigstore-key:${createHash('sha256').update(der).digest('hex')}`;
}

function messageDigestMatches(bundle: Bundle, artifact: Uint8Array): boolean {
  if (bundle.content.$case !== 'messageSignature') return true;
  const d = bundle.content.messageSignature.messageDigest;
  return !d || Buffer.compare(Buffer.from(d.digest), createHash('sha256').update(artifact).digest()) === 0;
}

function keyMaterial(pem: string): TrustMaterial {
  // The hint in the bundle is chosen by whoever made it: ignore it and offer only this pinned key.
  const publicKey = sigCrypto.createPublicKey(pem);
  return { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [], publicKey: () => ({ publicKey, validFor: () => true }) };
}

function verifyKeyBased(entity: SignedEntity, entries: readonly KeyEntry[]): SigstoreVerified {
  // The pinned key has no validity window, so log entries and timestamps add
  // nothing offline; they are dropped rather than checked against logs we do not pin.
  const bare: SignedEntity = { ...entity, tlogEntries: [], timestamps: [] };
  for (const e of entries) {
    try {
      new Verifier(keyMaterial(e.key.publicKeyPem), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(bare);
    } catch {
      continue;
    }
    const keyId = spkiId(e.key.publicKeyPem);
    return { keyId, approvers: entries.filter((x) => spkiId(x.key.publicKeyPem) === keyId) };
  }
  return fail('SIGSTORE_KEY_UNTRUSTED', 'the sigstore bundle does not verify with any public key in the trust file');
}

function rootMaterial(root: unknown): { material: TrustMaterial; tlogs: number; ctlogs: number } {
  const parsed = TrustedRoot.fromJSON(root);
  return { material: toTrustMaterial(parsed), tlogs: parsed.tlogs.length, ctlogs: parsed.ctlogs.length };
}

/** Chain, log and signature checks against one pinned root; returns the certificate identity. */
function verifyAgainstRoot(entity: SignedEntity, root: unknown): { issuer?: string; subject?: string } {
  const r = rootMaterial(root);
  // A signing time is needed to check a short-lived certificate, so at least
  // one trusted timestamp always; logs only when the pinned root names any.
  const v = new Verifier(r.material, { tlogThreshold: r.tlogs ? 1 : 0, ctlogThreshold: r.ctlogs ? 1 : 0, timestampThreshold: 1 });
  const signer = v.verify(entity);
  return { issuer: signer.identity?.extensions?.issuer, subject: signer.identity?.subjectAlternativeName };
}

function verifyKeyless(entity: SignedEntity, entries: readonly IdentityEntry[]): SigstoreVerified {
  let identity: { issuer?: string; subject?: string } | undefined;
  let lastError: unknown;
  for (const e of entries) {
    try {
      identity = verifyAgainstRoot(entity, e.key.trustedRoot);
    } catch (err) {
      lastError = err;
      continue;
    }
    const { issuer, subject } = identity;
    const matching = entries.filter((x) => x.key.issuer === issuer && x.key.subject === subject);
    if (matching.length) return { keyId: `sigstore-identity:${issuer} ${subject}`, approvers: matching, subject };
  }
  if (!identity) return fail('SIGSTORE_INVALID', `the sigstore bundle does not verify against any pinned trusted root: ${(lastError as Error | undefined)?.message ?? 'no keyless approver in the trust file'}`, lastError);
  const sameIssuer = entries.some((x) => x.key.issuer === identity!.issuer);
  if (sameIssuer) return fail('SIGSTORE_SUBJECT_MISMATCH', `certificate subject ${JSON.stringify(identity.subject)} is not exactly any trusted subject for issuer ${identity.issuer}`);
  return fail('SIGSTORE_ISSUER_MISMATCH', `certificate issuer ${JSON.stringify(identity.issuer)} is not a trusted issuer`);
}

/**
 * Verifies a sigstore bundle over `artifact` against the sigstore approvers
 * of the trust file. Does NOT decide whether the signer may approve anything.
 * `now` is unused for keyless bundles on purpose: their certificates are
 * checked at the logged signing time, as sigstore does.
 */
export function verifySigstoreBundle(bundleBytes: Uint8Array, artifact: Uint8Array, approvers: readonly TrustedApprover[], _now: Date): SigstoreVerified {
  const bundle = parseBundle(bundleBytes);
  if (!messageDigestMatches(bundle, artifact)) fail('SIGNATURE_INVALID', 'the sigstore bundle signs different bytes (message digest differs)');
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, Buffer.from(artifact));
  } catch (e) {
    return fail('SIGNATURE_MALFORMED', `sigstore bundle cannot be used: ${(e as Error).message}`, e);
  }
  if (entity.key.$case === 'public-key') return verifyKeyBased(entity, approvers.filter((a): a is KeyEntry => a.key.type === 'sigstore-key'));
  return verifyKeyless(entity, approvers.filter((a): a is IdentityEntry => a.key.type === 'sigstore-identity'));
}
