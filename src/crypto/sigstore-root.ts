/**
 * A pinned sigstore trusted root (`trusted_root.json`), validated before use.
 *
 * sigstore-js reads a trusted root leniently: unknown fields are dropped, and a
 * log or CA whose `validFor.start` is missing is treated as valid since the
 * beginning of time. A trusted root is the customer's statement of which CAs
 * and logs they believe, and when; a typo there must not widen it silently.
 * So the JSON is checked against a strict schema first (every field the
 * protobuf spec defines and nothing else, every `validFor.start` present,
 * key material that parses and matches its declared type), and every problem
 * is reported at once as TRUST_INVALID naming the field.
 */
import { createPublicKey, X509Certificate as NodeCertificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { BreakglassError } from './errors.js';
import { messageOf } from './error-parts.js';

const MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

const Base64 = z
  .string()
  .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be canonical base64')
  .min(4, 'must not be empty');
const Time = z.iso.datetime({ offset: true, error: (i) => (i.input == null ? 'required: a missing bound is not "always"' : 'must be an RFC 3339 time') });
// Protobuf JSON may spell an absent optional field as null; a required one may not be.
const optional = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

/** A validity window: `start` is required (a missing bound is not "forever"), `end` is optional and not before `start`. */
const Window = z.strictObject({ start: Time, end: optional(Time) }).refine((w) => w.end === undefined || Date.parse(w.end) >= Date.parse(w.start), { message: 'end is before start', path: ['end'] });

/** The key type (and curve) each accepted `keyDetails` must be, and how its bytes are encoded. */
const KEY_TYPES: Record<string, { type: string; curve?: string; der: 'spki' | 'pkcs1' }> = {
  PKIX_ECDSA_P256_SHA_256: { type: 'ec', curve: 'prime256v1', der: 'spki' },
  PKIX_ECDSA_P384_SHA_384: { type: 'ec', curve: 'secp384r1', der: 'spki' },
  PKIX_ECDSA_P521_SHA_512: { type: 'ec', curve: 'secp521r1', der: 'spki' },
  PKIX_ED25519: { type: 'ed25519', der: 'spki' },
  PKIX_RSA_PKCS1V15_2048_SHA256: { type: 'rsa', der: 'spki' },
  PKIX_RSA_PKCS1V15_3072_SHA256: { type: 'rsa', der: 'spki' },
  PKIX_RSA_PKCS1V15_4096_SHA256: { type: 'rsa', der: 'spki' },
  PKIX_RSA_PKCS1V5: { type: 'rsa', der: 'spki' },
  // Some published roots label an SPKI-encoded RSA key this way; sigstore-js accepts both encodings.
  PKCS1_RSA_PKCS1V5: { type: 'rsa', der: 'pkcs1' },
};
const KeyDetails = z.enum(Object.keys(KEY_TYPES) as [string, ...string[]]);

const LogId = z.strictObject({ keyId: Base64 });
const Log = z.strictObject({
  baseUrl: z.url(),
  hashAlgorithm: z.enum(['SHA2_256', 'SHA2_384', 'SHA2_512']),
  publicKey: z.strictObject({ rawBytes: Base64, keyDetails: KeyDetails, validFor: Window }),
  logId: LogId,
  checkpointKeyId: optional(LogId),
  operator: optional(z.string()),
});
const Authority = z.strictObject({
  subject: optional(z.strictObject({ organization: optional(z.string()), commonName: optional(z.string()) })),
  uri: optional(z.string()),
  certChain: z.strictObject({ certificates: z.array(z.strictObject({ rawBytes: Base64 })).min(1) }),
  validFor: Window,
  operator: optional(z.string()),
});
const RootSchema = z.strictObject({
  mediaType: z.literal(MEDIA_TYPE),
  tlogs: z.array(Log).default([]),
  certificateAuthorities: z.array(Authority).default([]),
  ctlogs: z.array(Log).default([]),
  timestampAuthorities: z.array(Authority).default([]),
});
type RootJson = z.infer<typeof RootSchema>;

function parseKey(raw: Buffer, der: 'spki' | 'pkcs1'): KeyObject {
  try {
    return createPublicKey({ key: raw, format: 'der', type: der });
  } catch {
    // sigstore-js reads a PKCS1-labelled key as SPKI when that is what it is.
    return createPublicKey({ key: raw, format: 'der', type: 'spki' });
  }
}

/** Key bytes that parse, of the type `keyDetails` declares. */
function checkKey(log: RootJson['tlogs'][number], path: string, issues: string[]): void {
  const want = KEY_TYPES[log.publicKey.keyDetails]!;
  let key: KeyObject;
  try {
    key = parseKey(Buffer.from(log.publicKey.rawBytes, 'base64'), want.der);
  } catch (e) {
    issues.push(`${path}.publicKey.rawBytes: not a public key (${messageOf(e)})`);
    return;
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== want.type || (want.curve && curve !== want.curve)) {
    issues.push(`${path}.publicKey.rawBytes: a ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} key, but keyDetails says ${log.publicKey.keyDetails}`);
  }
}

function checkCertificates(ca: RootJson['certificateAuthorities'][number], path: string, issues: string[]): void {
  ca.certChain.certificates.forEach((c, i) => {
    try {
      X509Certificate.parse(Buffer.from(c.rawBytes, 'base64'));
    } catch (e) {
      issues.push(`${path}.certChain.certificates[${i}].rawBytes: not an X.509 certificate (${messageOf(e)})`);
    }
  });
}

function materialIssues(root: RootJson): string[] {
  const issues: string[] = [];
  for (const [i, l] of root.tlogs.entries()) checkKey(l, `tlogs[${i}]`, issues);
  for (const [i, l] of root.ctlogs.entries()) checkKey(l, `ctlogs[${i}]`, issues);
  for (const [i, c] of root.certificateAuthorities.entries()) checkCertificates(c, `certificateAuthorities[${i}]`, issues);
  for (const [i, c] of root.timestampAuthorities.entries()) checkCertificates(c, `timestampAuthorities[${i}]`, issues);
  return issues;
}

/** One transparency log key and the window in which it may have logged an entry. */
export interface LogWindow {
  /** The id an entry names its log by (checkpointKeyId when the root gives one, as sigstore-js does). */
  logId: Buffer;
  start: Date;
  end?: Date;
}

/** A validated trusted root, converted once. */
export interface PinnedRoot {
  material: TrustMaterial;
  tlogs: readonly LogWindow[];
  ctlogCount: number;
  /** Every certificate of every CA chain (node's native parser: fast signature checks), to tell "issued under another root" from other failures. */
  caCertificates: readonly NodeCertificate[];
}

function pin(root: RootJson): PinnedRoot {
  const material = toTrustMaterial(TrustedRoot.fromJSON(root));
  const tlogs = root.tlogs.map((l) => ({
    logId: Buffer.from((l.checkpointKeyId ?? l.logId).keyId, 'base64'),
    start: new Date(l.publicKey.validFor.start),
    end: l.publicKey.validFor.end === undefined ? undefined : new Date(l.publicKey.validFor.end),
  }));
  const caCertificates = root.certificateAuthorities.flatMap((ca) => ca.certChain.certificates.map((c) => new NodeCertificate(Buffer.from(c.rawBytes, 'base64'))));
  return { material, tlogs, ctlogCount: root.ctlogs.length, caCertificates };
}

const cache = new WeakMap<object, PinnedRoot>();

/**
 * Validates a trusted root and converts it for the verifier. `label` names it
 * in errors (whose root, which file). Throws TRUST_INVALID listing every
 * failing field. Converted roots are cached per object: the trust file is
 * loaded once and the same root serves every verification.
 */
export function pinTrustedRoot(json: unknown, label: string): PinnedRoot {
  if (typeof json === 'object' && json !== null) {
    const hit = cache.get(json);
    if (hit) return hit;
  }
  const parsed = RootSchema.safeParse(json);
  const issues = parsed.success ? materialIssues(parsed.data) : parsed.error.issues.map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`);
  if (!parsed.success || issues.length) throw new BreakglassError('TRUST_INVALID', `${label} is not a valid sigstore trusted root: ${issues.join('; ')}`);
  let pinned: PinnedRoot;
  try {
    pinned = pin(parsed.data);
  } catch (e) {
    throw new BreakglassError('TRUST_INVALID', `${label} cannot be used as a sigstore trusted root: ${messageOf(e)}`, { cause: e });
  }
  if (typeof json === 'object' && json !== null) cache.set(json, pinned);
  return pinned;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}
