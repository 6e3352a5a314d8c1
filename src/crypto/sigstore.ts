/**
 * Sigstore bundles (`<approver>.yaml.sigstore.json`), verified offline.
 *
 * An approval is a plain signature over the approval file's exact bytes, so a
 * bundle must be a message signature whose SHA-256 digest is those bytes'.
 * A DSSE envelope (an in-toto attestation, say) signs its own payload and says
 * nothing about the approval file: sigstore-js verifies it without looking at
 * the artifact at all, so any public attestation by a trusted identity would
 * approve anything. It is refused before any cryptography runs.
 *
 * - Key-based bundles verify against a public key pinned in the trust file.
 * - Keyless bundles verify against the trusted root pinned for THAT approver
 *   (never another approver's root), and then the certificate's issuer and
 *   subject are compared EXACTLY with that approver's entry. sigstore-js treats
 *   a policy subject as a regular expression, so `bob@customer.example` would
 *   match `bob@customer.example.evil.test`; we never hand it a policy.
 */
import { createHash, createPublicKey, X509Certificate as NodeCertificate } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { crypto as sigCrypto, RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { toSignedEntity, Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import { fail, VerificationFailure } from './errors.js';
import type { TrustedApprover } from './keys.js';
import { pinTrustedRoot, type PinnedRoot } from './sigstore-root.js';
import { messageOf } from './error-parts.js';

/** The outcome of a verified bundle. */
export interface SigstoreVerified {
  /** Stable key identity: `sigstore-key:<sha256 of SPKI>` or `sigstore-identity:<issuer> <subject>`. */
  keyId: string;
  approvers: TrustedApprover[];
  subject?: string;
}

type KeyEntry = TrustedApprover & { key: { type: 'sigstore-key'; publicKeyPem: string } };
type IdentityEntry = TrustedApprover & { key: { type: 'sigstore-identity'; issuer: string; subject: string; trustedRoot: unknown } };
interface Identity {
  issuer?: string;
  subject?: string;
}

const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

function readJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    return fail('SIGNATURE_MALFORMED', `sigstore bundle cannot be read: ${messageOf(e)}`, e);
  }
}

/** Step 1, before any parsing or crypto: a DSSE envelope never approves (see the file comment). */
function refuseDsse(json: unknown): void {
  if (typeof json === 'object' && json !== null && 'dsseEnvelope' in json) {
    fail(
      'SIGSTORE_DSSE_REFUSED',
      'the sigstore bundle holds a DSSE envelope, which signs its own payload, not the approval file; sign the approval file itself (a message-signature bundle, as `sigstore sign` or `cosign sign-blob --new-bundle-format --bundle` make)',
    );
  }
}

function parseBundle(json: unknown): Bundle {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    return fail('SIGNATURE_MALFORMED', `sigstore bundle cannot be read: ${messageOf(e)}`, e);
  }
  if (bundle.content.$case !== 'messageSignature') fail('SIGSTORE_DSSE_REFUSED', `the sigstore bundle holds ${bundle.content.$case}, not a message signature over the approval file`);
  return bundle;
}

/** The bundle must say, in SHA-256, that it signs exactly these bytes; the signature check then proves it. */
function checkDigest(bundle: Bundle, artifact: Uint8Array): void {
  if (bundle.content.$case !== 'messageSignature') return;
  const d = bundle.content.messageSignature.messageDigest;
  if (!d) return fail('SIGSTORE_DIGEST_MISMATCH', 'the sigstore bundle has no messageDigest; it must carry the SHA2_256 digest of the approval file');
  if (d.algorithm !== HashAlgorithm.SHA2_256) fail('SIGSTORE_DIGEST_MISMATCH', `the sigstore bundle's messageDigest uses ${HashAlgorithm[d.algorithm] ?? d.algorithm}; only SHA2_256 is accepted`);
  const want = createHash('sha256').update(artifact).digest();
  if (Buffer.compare(Buffer.from(d.digest), want) !== 0) {
    fail('SIGSTORE_DIGEST_MISMATCH', `the sigstore bundle signs different bytes: messageDigest ${Buffer.from(d.digest).toString('hex')}, approval file ${want.toString('hex')}`);
  }
}

/** Roots come only from the pinned trusted root; a chain in the bundle that carries one is malformed (as sigstore's own clients hold). */
function refuseRootInChain(bundle: Bundle): void {
  const m = bundle.verificationMaterial.content;
  if (m.$case !== 'x509CertificateChain') return;
  for (const c of m.x509CertificateChain.certificates) {
    let cert: X509Certificate;
    try {
      cert = X509Certificate.parse(Buffer.from(c.rawBytes));
    } catch (e) {
      return fail('SIGNATURE_MALFORMED', `a certificate in the sigstore bundle cannot be read: ${messageOf(e)}`, e);
    }
    if (cert.subject.equals(cert.issuer)) fail('SIGNATURE_MALFORMED', "the sigstore bundle's certificate chain carries a self-signed root; roots come only from the pinned trusted root");
  }
}

/** Log entries must record a plain signature over a digest (hashedrekord); dsse/intoto entries record envelopes. */
function checkTlogKinds(bundle: Bundle): void {
  for (const e of bundle.verificationMaterial.tlogEntries) {
    if (e.kindVersion?.kind !== 'hashedrekord')
      fail('SIGSTORE_TLOG_KIND_REFUSED', `the sigstore bundle has a ${JSON.stringify(e.kindVersion?.kind)} log entry; only hashedrekord entries (a signature over the approval's digest) are accepted`);
  }
}

function spkiId(pem: string): string {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return `sigstore-key:${createHash('sha256').update(der).digest('hex')}`;
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

/** The identity a certificate claims, read the way sigstore-js reads it. Unverified: used only to pick whose root to try. */
function claimedIdentity(leaf: X509Certificate): Identity {
  const v2 = leaf.extension(OID_FULCIO_ISSUER_V2);
  const issuer = v2 ? v2.valueObj.subs?.[0]?.value.toString('ascii') : leaf.extension(OID_FULCIO_ISSUER_V1)?.value.toString('ascii');
  return { issuer, subject: leaf.subjectAltName };
}

/** The leaf certificate's DER as the bundle carries it. */
function leafDer(bundle: Bundle): Buffer | undefined {
  const m = bundle.verificationMaterial.content;
  if (m.$case === 'certificate') return Buffer.from(m.certificate.rawBytes);
  if (m.$case === 'x509CertificateChain' && m.x509CertificateChain.certificates[0]) return Buffer.from(m.x509CertificateChain.certificates[0].rawBytes);
  return undefined;
}

/** sigstore-js builds the chain from the leaf and the root's certificates only, so the leaf's issuer must be one of them. */
function issuedUnder(der: Buffer | undefined, root: PinnedRoot): boolean {
  if (!der) return false;
  let leaf: NodeCertificate;
  try {
    leaf = new NodeCertificate(der);
  } catch {
    return false;
  }
  return root.caCertificates.some((ca) => {
    try {
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
}

/**
 * Every log entry must come from a log key of this root that was valid when
 * the entry was made. sigstore-js checks that for a signed entry timestamp
 * but not for a checkpoint (Rekor v2), so it is checked here for both. The
 * time is the entry's integrated time, or else every verified timestamp.
 */
function checkLogWindows(bundle: Bundle, entity: SignedEntity, root: PinnedRoot): void {
  const tsa = (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).map((t) => RFC3161Timestamp.parse(Buffer.from(t.signedTimestamp)).signingTime);
  const integrated = entity.tlogEntries
    .map((e) => Number(e.integratedTime))
    .filter((t) => t > 0)
    .map((t) => new Date(t * 1000));
  for (const e of entity.tlogEntries) {
    const t = Number(e.integratedTime);
    const times = t > 0 ? [new Date(t * 1000)] : [...tsa, ...integrated];
    const logId = Buffer.from(e.logId?.keyId ?? []);
    const ok = times.length > 0 && root.tlogs.some((w) => w.logId.equals(logId) && times.every((d) => w.start <= d && (!w.end || d <= w.end)));
    if (!ok) fail('SIGSTORE_TLOG_KEY_NOT_VALID', `log ${logId.toString('base64')} is not in the pinned root with a key valid at ${times.map((d) => d.toISOString()).join(', ') || 'an unknown time'}`);
  }
}

/** Chain, log, timestamp and signature checks against one pinned root; returns the verified identity. */
function verifyAgainstRoot(bundle: Bundle, entity: SignedEntity, root: PinnedRoot): Identity {
  // A signing time is needed to check a short-lived certificate, so at least
  // one trusted timestamp always; logs only when the pinned root names any.
  const v = new Verifier(root.material, { tlogThreshold: root.tlogs.length ? 1 : 0, ctlogThreshold: root.ctlogCount ? 1 : 0, timestampThreshold: 1 });
  let signer: ReturnType<Verifier['verify']>;
  try {
    signer = v.verify(entity);
  } catch (e) {
    return fail('SIGSTORE_INVALID', messageOf(e), e);
  }
  checkLogWindows(bundle, entity, root);
  return { issuer: signer.identity?.extensions?.issuer, subject: signer.identity?.subjectAlternativeName };
}

/** One approver's own root, and only that: a certificate from another approver's CA never counts for this one. */
function verifyForApprover(bundle: Bundle, entity: SignedEntity, e: IdentityEntry): void {
  const root = pinTrustedRoot(e.key.trustedRoot, `trusted root of ${e.name}`);
  if (!issuedUnder(leafDer(bundle), root)) fail('SIGSTORE_ROOT_MISMATCH', `the certificate for ${e.key.subject} is not issued by a CA in the trusted root pinned for ${e.name}`);
  const got = verifyAgainstRoot(bundle, entity, root);
  if (got.issuer !== e.key.issuer || got.subject !== e.key.subject) fail('SIGSTORE_SUBJECT_MISMATCH', `verified identity ${got.issuer} ${got.subject} is not ${e.name}'s`);
}

function noCandidate(claimed: Identity, entries: readonly IdentityEntry[]): never {
  if (entries.some((x) => x.key.issuer === claimed.issuer))
    fail('SIGSTORE_SUBJECT_MISMATCH', `certificate subject ${JSON.stringify(claimed.subject)} is not exactly any trusted subject for issuer ${claimed.issuer}`);
  return fail('SIGSTORE_ISSUER_MISMATCH', `certificate issuer ${JSON.stringify(claimed.issuer)} is not a trusted issuer`);
}

function verifyKeyless(bundle: Bundle, entity: SignedEntity, entries: readonly IdentityEntry[]): SigstoreVerified {
  if (entity.key.$case !== 'certificate') return fail('SIGNATURE_MALFORMED', 'the sigstore bundle has neither a certificate nor a public key');
  const leaf = entity.key.certificate;
  const claimed = claimedIdentity(leaf);
  const candidates = entries.filter((x) => x.key.issuer === claimed.issuer && x.key.subject === claimed.subject);
  if (candidates.length === 0) return noCandidate(claimed, entries);
  const accepted: IdentityEntry[] = [];
  let first: VerificationFailure | undefined;
  for (const e of candidates) {
    try {
      verifyForApprover(bundle, entity, e);
      accepted.push(e);
    } catch (err) {
      if (!(err instanceof VerificationFailure)) throw err;
      first ??= err;
    }
  }
  if (accepted.length === 0) throw first!;
  return { keyId: `sigstore-identity:${claimed.issuer} ${claimed.subject}`, approvers: accepted, subject: claimed.subject };
}

/**
 * Verifies a sigstore bundle over `artifact` (the approval file's exact bytes)
 * against the sigstore approvers of the trust file. Does NOT decide whether
 * the signer may approve anything. `now` is unused for keyless bundles on
 * purpose: their certificates are checked at the logged signing time, as
 * sigstore does. Throws TRUST_INVALID (operational) for a malformed pinned root.
 */
export function verifySigstoreBundle(bundleBytes: Uint8Array, artifact: Uint8Array, approvers: readonly TrustedApprover[], _now: Date): SigstoreVerified {
  const json = readJson(bundleBytes);
  refuseDsse(json);
  const bundle = parseBundle(json);
  checkDigest(bundle, artifact);
  checkTlogKinds(bundle);
  refuseRootInChain(bundle);
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle, Buffer.from(artifact));
  } catch (e) {
    return fail('SIGNATURE_MALFORMED', `sigstore bundle cannot be used: ${messageOf(e)}`, e);
  }
  if (entity.key.$case === 'public-key')
    return verifyKeyBased(
      entity,
      approvers.filter((a): a is KeyEntry => a.key.type === 'sigstore-key'),
    );
  return verifyKeyless(
    bundle,
    entity,
    approvers.filter((a): a is IdentityEntry => a.key.type === 'sigstore-identity'),
  );
}
