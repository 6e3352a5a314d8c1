/**
 * The two kinds of failure, defined in the bottom layer so that every layer
 * throws the same classes (core/errors.ts and core/reasons.ts re-export them):
 * an operational error (the tool could not do its job, exit 2) and a failed
 * verification step (a negative verdict, exit 1).
 */

import type { ErrorCode } from './error-codes.js';

/**
 * An operational or usage error: the tool could not do its job (exit 2), as
 * opposed to a negative verdict (exit 1). `code` is one of the catalogue's
 * (error-codes.ts), so an unlisted code does not compile; `cause` keeps the
 * original error.
 */
export class BreakglassError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BreakglassError';
    this.code = code;
  }
}

/**
 * The reason codes a signature check in this layer can fail with; core's
 * REASONS (core/reasons.ts) includes them. Never rename one, only add.
 */
export const CRYPTO_REASONS = [
  'SIGNATURE_MALFORMED',
  'SIGNATURE_MULTIPLE',
  'SIGNATURE_TEXT_MODE',
  'SIGNATURE_TYPE',
  'SIGNATURE_INVALID',
  'SIGNATURE_FUTURE',
  'KEY_UNTRUSTED',
  'KEY_REVOKED',
  'KEY_EXPIRED',
  'KEY_WEAK',
  // OpenPGP key rotation (issue 10): a key revoked as superseded or retired.
  'KEY_RETIRED',
  'SIGSTORE_INVALID',
  'SIGSTORE_KEY_UNTRUSTED',
  'SIGSTORE_SUBJECT_MISMATCH',
  'SIGSTORE_ISSUER_MISMATCH',
  // Sigstore bundles bound to the approval's bytes and to the approver's own root (docs/security/sigstore.md).
  'SIGSTORE_DSSE_REFUSED',
  'SIGSTORE_DIGEST_MISMATCH',
  'SIGSTORE_TLOG_KIND_REFUSED',
  'SIGSTORE_ROOT_MISMATCH',
  'SIGSTORE_TLOG_KEY_NOT_VALID',
] as const;
export type CryptoReasonCode = (typeof CRYPTO_REASONS)[number];

/**
 * Thrown by a single verification step; the checklist turns it into a
 * reason. `C` is the set of codes the thrower may use: crypto's own here,
 * every reason code in core.
 */
export class VerificationFailure<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationFailure';
    this.code = code;
  }
}

/** Fails the current crypto step with `code`. */
export function fail(code: CryptoReasonCode, message: string, cause?: unknown): never {
  throw new VerificationFailure(code, message, cause === undefined ? undefined : { cause });
}
