/**
 * Stable reason codes for a negative verification verdict. Tools and tests
 * match on these strings; never rename one, only add.
 */
export const REASONS = [
  'APPROVAL_INVALID',
  'APPROVAL_FILE_MISMATCH',
  'SIGNATURE_MISSING',
  'SIGNATURE_AMBIGUOUS',
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
  'APPROVER_NAME_MISMATCH',
  'APPROVER_NOT_IN_POLICY',
  'REQUEST_DIGEST_MISMATCH',
  'SESSION_MISMATCH',
  'REPOSITORY_MISMATCH',
  'DECISION_NOT_APPROVE',
  'APPROVAL_EXPIRED',
  'APPROVAL_NOT_YET_VALID',
  'DURATION_WIDENS',
  'SELF_APPROVAL',
  'DUPLICATE_KEY',
  'THRESHOLD_NOT_MET',
  'REQUEST_INVALID',
  'SESSION_REJECTED',
  'POLICY_VIOLATION',
  'POLICY_UNAPPROVED',
  'POLICY_NAME_MISMATCH',
  'POLICY_DIGEST_MISMATCH',
  'SIGSTORE_INVALID',
  'SIGSTORE_KEY_UNTRUSTED',
  'SIGSTORE_SUBJECT_MISMATCH',
  'SIGSTORE_ISSUER_MISMATCH',
  // Runner isolation and privilege limits (docs/security/runner-isolation.md, privileges.md).
  'SESSION_UNREADABLE',
  'RECORD_UNSIGNED',
  'RECORD_NOT_RUNNER',
  'RECORD_INVALID',
  'PRIVILEGE_PROTECTED_NAMESPACE',
  'PRIVILEGE_ESCALATES',
  'PRIVILEGE_UNVERIFIABLE',
] as const;
export type ReasonCode = (typeof REASONS)[number];

/** One reason a file (or the whole session) was not accepted. */
export interface Reason {
  code: ReasonCode;
  message: string;
  /** The file the reason is about, when there is one. */
  file?: string;
}

/** Thrown by a single verification step; the checklist turns it into a `Reason`. */
export class VerificationFailure extends Error {
  readonly code: ReasonCode;
  constructor(code: ReasonCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationFailure';
    this.code = code;
  }
}

/** Fails the current step with `code`. */
export function fail(code: ReasonCode, message: string, cause?: unknown): never {
  throw new VerificationFailure(code, message, cause === undefined ? undefined : { cause });
}
