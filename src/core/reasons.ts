// ---- Session recording (issue 12, docs/security/recording.md) ----
/**
 * A recording that does not match its signed record (`audit` findings and
 * `replay` refusals, exit 1). These need no key: `audit` reports them.
 */
export const RECORDING_CHAIN_CODES = ['RECORDING_MISSING', 'RECORDING_TRUNCATED', 'RECORDING_EXTRA', 'RECORDING_REORDERED', 'RECORDING_ALTERED', 'RECORDING_UNBOUND'] as const;
/** Found only when an auditor key opens the chunks (`replay`, `review --key`). */
export const RECORDING_CONTENT_CODES = ['RECORDING_UNREADABLE', 'RECORDING_MALFORMED', 'RECORDING_FOREIGN'] as const;
export const RECORDING_CODES = [...RECORDING_CHAIN_CODES, ...RECORDING_CONTENT_CODES] as const;
export type RecordingCode = (typeof RECORDING_CODES)[number];
export type RecordingChainCode = (typeof RECORDING_CHAIN_CODES)[number];
/**
 * Operational errors (exit 2) about recordings and auditor keys: a Trust
 * file's `auditors:` that cannot be used, or a key that no chunk is sealed to.
 */
export const RECORDING_ERROR_CODES = ['AUDITOR_INVALID', 'AUDITOR_DUPLICATE', 'AUDITOR_KEY_UNUSABLE', 'RECORDING_NOT_FOR_KEY', 'RECORDING_NONE'] as const;
export type RecordingErrorCode = (typeof RECORDING_ERROR_CODES)[number];
// ---- end of issue 12 ----

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
  // Sigstore bundles bound to the approval's bytes and to the approver's own root (docs/security/sigstore.md).
  'SIGSTORE_DSSE_REFUSED',
  'SIGSTORE_DIGEST_MISMATCH',
  'SIGSTORE_TLOG_KIND_REFUSED',
  'SIGSTORE_ROOT_MISMATCH',
  'SIGSTORE_TLOG_KEY_NOT_VALID',
  // OpenPGP key rotation (issue 10): a key revoked as superseded/retired, and one person counted once.
  'KEY_RETIRED',
  'DUPLICATE_APPROVER',
  // Which policy governs, and the identity of a session (docs/security/policy-versions.md, session-identity.md).
  'REQUEST_ID_MISMATCH',
  'POLICY_FILE_MISMATCH',
  'POLICY_ROLLBACK',
  'SESSION_CLAIMED',
  // A delivered credential (`receive`): who sealed it, and for what.
  'DELIVERY_UNSIGNED',
  'DELIVERY_SIGNER_UNKNOWN',
  'DELIVERY_SIGNATURE_INVALID',
  'DELIVERY_BINDING_MISMATCH',
  // Runner isolation and privilege limits (docs/security/runner-isolation.md, privileges.md).
  'SESSION_UNREADABLE',
  'RECORD_UNSIGNED',
  'RECORD_NOT_RUNNER',
  'RECORD_INVALID',
  'PRIVILEGE_PROTECTED_NAMESPACE',
  'PRIVILEGE_ESCALATES',
  'PRIVILEGE_UNVERIFIABLE',
  ...RECORDING_CODES,
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

/**
 * Codes the command line exits 2 with when an input is refused before
 * anything is read, signed or written (issue 14's paper cuts). Printed as
 * `breakglass: error CODE: message`; never renamed, only added to.
 */
export const CLI_INPUT_CODES = [
  'SESSION_MISSING',
  'FILE_MISSING',
  'KEY_MISSING',
  'KEY_EXISTS',
  'DIR_UNUSABLE',
  'NOTHING_TO_VALIDATE',
  'REPOSITORY_UNKNOWN',
  'REPOSITORY_AMBIGUOUS',
] as const;
export type CliInputCode = (typeof CLI_INPUT_CODES)[number];
