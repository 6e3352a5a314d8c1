import type { ErrorCode } from '../crypto/error-codes.js';
import { CRYPTO_REASONS, VerificationFailure } from '../crypto/errors.js';

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
export const RECORDING_ERROR_CODES = ['AUDITOR_INVALID', 'AUDITOR_DUPLICATE', 'AUDITOR_KEY_UNUSABLE', 'RECORDING_NOT_FOR_KEY', 'RECORDING_NONE'] as const satisfies readonly ErrorCode[];
export type RecordingErrorCode = (typeof RECORDING_ERROR_CODES)[number];
// ---- end of issue 12 ----

/**
 * Stable reason codes for a negative verification verdict. Tools and tests
 * match on these strings; never rename one, only add.
 */
export const REASONS = [
  // Signature and key checks made in crypto/ (SIGNATURE_*, KEY_*, SIGSTORE_*): listed in crypto/errors.ts.
  ...CRYPTO_REASONS,
  'APPROVAL_INVALID',
  'APPROVAL_FILE_MISMATCH',
  'SIGNATURE_MISSING',
  'SIGNATURE_AMBIGUOUS',
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
  // OpenPGP key rotation (issue 10): one person counted once, whatever the number of keys.
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
  // Session recording through the gateway (issue 12, docs/security/recording.md): why a recorded
  // session was refused before anything was created, and why the gateway refused a request.
  'RECORDING_NO_GATEWAY',
  'RECORDING_NO_AUDITORS',
  'RECORDING_AUDITOR_IS_RECIPIENT',
  'RECORDING_GATEWAY_DOWN',
  'GATEWAY_CREDENTIAL_REFUSED',
  'GATEWAY_DENIED',
  'GATEWAY_PROTECTED_NAMESPACE',
  'GATEWAY_PATH_REFUSED',
  'GATEWAY_IMPERSONATION_REFUSED',
] as const;
export type ReasonCode = (typeof REASONS)[number];

/** One reason a file (or the whole session) was not accepted. */
export interface Reason {
  code: ReasonCode;
  message: string;
  /** The file the reason is about, when there is one. */
  file?: string;
}

/**
 * Thrown by a single verification step; the checklist turns it into a `Reason`.
 * The class lives in crypto/ (the bottom layer) so that crypto's failures and
 * core's are one class; here its code is any reason code.
 */
export { VerificationFailure };

/** Whether `e` is a failed verification step carrying one of the reason codes. */
export function isVerificationFailure(e: unknown): e is VerificationFailure<ReasonCode> {
  return e instanceof VerificationFailure && (REASONS as readonly string[]).includes(e.code);
}

/** Fails the current step with `code`. */
export function fail(code: ReasonCode, message: string, cause?: unknown): never {
  throw new VerificationFailure(code, message, cause === undefined ? undefined : { cause });
}

/**
 * Codes the command line exits 2 with when an input is refused before
 * anything is read, signed or written (issue 14's paper cuts). Printed as
 * `breakglass: CODE: message`; never renamed, only added to.
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
] as const satisfies readonly ErrorCode[];
export type CliInputCode = (typeof CLI_INPUT_CODES)[number];

/**
 * Network paths (issue 11, docs/security/network-paths.md): why a path was
 * refused at activation (the record's `failure.code`), why an open path went
 * down or came back (the record's `path` events), and why a session waits
 * (`PROVIDER_PREFLIGHT`). Never renamed, only added to. Besides these, a
 * provider API refusing the credential is `PROVIDER_AUTH` (401/403, e.g. a
 * missing OAuth scope or Twingate permission level).
 */
export const NETWORK_PATH_CODES = [
  'PROVIDER_PREFLIGHT',
  'PROVIDER_NOT_READY',
  'TAILSCALE_DEVICE_OFFLINE',
  'TAILSCALE_DEVICE_AMBIGUOUS',
  'TAILSCALE_ROUTES_NOT_ENABLED',
  'TAILSCALE_ROUTES_REFUSED',
  'TAILSCALE_ROUTES_EXCESS',
  'TAILSCALE_ROUTES_WITHDRAWN',
  'TWINGATE_CONNECTOR_NOT_ALIVE',
  'TWINGATE_CONNECTOR_DEAD',
  'ROUTER_NOT_READY',
  'NETWORK_PATH_RESTORED',
] as const satisfies readonly (ErrorCode | 'NETWORK_PATH_RESTORED')[];
export type NetworkPathCode = (typeof NETWORK_PATH_CODES)[number];

// Issue 15 (an operable runner): every failure the runner records carries one of these
// or the specific code of the error that caused it, never a generic one; and the
// codes of `breakglass runner --check`, one per problem found before starting.
/** Codes a runner record's `failure` (or loop.json) carries when the cause had no code of its own: named by step. */
export const RUNNER_STEP_CODES = {
  marker: 'MARKER_WRITE_FAILED',
  network: 'NETWORK_FAILED',
  recipient: 'RECIPIENT_KEY_UNUSABLE',
  credential: 'CREDENTIAL_FAILED',
  sealed: 'SEAL_FAILED',
  active: 'MARKER_WRITE_FAILED',
  delivered: 'DELIVERY_FAILED',
  teardown: 'TEARDOWN_INCOMPLETE',
  revocation: 'REVOCATION_UNPROVEN',
  git: 'GIT_UNREACHABLE',
  session: 'SESSION_STEP_FAILED',
  reaper: 'REAPER_FAILED',
  records: 'RECORD_PUSH_FAILED',
  markers: 'MARKER_LIST_FAILED',
  policies: 'POLICY_MEMORY_FAILED',
  notify: 'NOTIFY_FAILED',
} as const satisfies Record<string, ErrorCode>;
export type RunnerStep = keyof typeof RUNNER_STEP_CODES;

/**
 * `breakglass runner --check` (and the same checks at start): one code per
 * kind of problem, each in the error catalogue (crypto/error-codes.ts).
 */
export type PreflightCode = Extract<ErrorCode, `PREFLIGHT_${string}`>;

/**
 * Notifications (issue 13): codes for a refused `notify` configuration and
 * for a delivery that failed (logged, retried; never a negative verdict),
 * each in the error catalogue. Never renamed, only added to.
 */
export type NotifyCode = Extract<ErrorCode, `NOTIFY_${string}`>;
