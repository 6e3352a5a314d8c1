/**
 * What `breakglass audit` reports: findings with stable codes, and per session
 * a timeline an auditor can read. Plain data, ready for JSON and HTML.
 */
import type { PublicKey } from '../crypto/openpgp.js';
import { RECORDING_CHAIN_CODES } from './reasons.js';
import type { TrustMaterial } from './trust.js';

/** Stable finding codes. Tools and tests match on these strings; never rename one, only add. */
export const AUDIT_CODES = [
  'RECORD_FORGED',
  'RECORD_INVALID',
  'RECORD_CHANGED',
  'REQUEST_CHANGED',
  'APPROVALS_INSUFFICIENT',
  'APPROVAL_AFTER_ACTIVATION',
  'UNAPPROVED_RECORD',
  'ACTIVATION_OFF_BRANCH',
  'HISTORY_REWRITTEN',
  'DURATION_EXCEEDED',
  'END_NOT_HONOURED',
  'TEARDOWN_INCOMPLETE',
  'REVOCATION_UNPROVEN',
  'POLICY_UNAPPROVED',
  'POLICY_ROLLBACK',
  'REQUEST_ID_MISMATCH',
  // Session recordings (issue 12): each one held to the chain head in its signed record.
  ...RECORDING_CHAIN_CODES,
] as const;
export type AuditCode = (typeof AUDIT_CODES)[number];

/** One thing that is wrong, with where it was seen. */
export interface AuditFinding {
  code: AuditCode;
  session?: string;
  commit?: string;
  file?: string;
  message: string;
}

/** Trust as of the audit: the approvers' keys and the runner's record-signing keys (several while one is being rotated out). */
export interface AuditTrust {
  approvals: TrustMaterial;
  runner: readonly PublicKey[];
}

export interface AuditOptions {
  /** The repository name approvals bind (`host/owner/name`). */
  repository: string;
  now: number;
  /** The runner's poll interval: how late an end request or an expiry may be noticed. */
  pollSeconds: number;
  /** Slack on top of the poll interval for teardown and the revocation proof (a token cache lasts ~10 s). */
  toleranceSeconds: number;
}

/** A point on a session's timeline. */
export interface TimelineEvent {
  /** RFC 3339 UTC, or undefined when the step never happened. */
  at?: string;
  commit?: string;
  detail?: string;
}

/** One approval file as the history shows it. */
export interface ApprovalEvent {
  file: string;
  approver: string;
  signed?: string;
  /** When it first appeared on the default branch. */
  committed: string;
  commit: string;
  /** The key that signed it, when the verifier accepted it at activation. */
  key?: string;
  accepted: boolean;
}

/** `open`: no record (never activated, or still active); `vanished`: known only from a record the branch lost. */
export type SessionStatus = 'open' | 'rejected' | 'recorded' | 'failed' | 'vanished';

/** A session's recording as the audit saw it (issue 12): what the signed record names, and whether the chunks match it. */
export interface RecordingReport {
  chunks: number;
  head: string;
  verified: boolean;
}

/** One session, end to end. */
export interface SessionReport {
  id: string;
  status: SessionStatus;
  requester?: string;
  resource?: string;
  privilege?: string;
  duration?: string;
  reason?: string;
  requested?: TimelineEvent;
  approvals: ApprovalEvent[];
  active?: TimelineEvent;
  endRequested?: TimelineEvent;
  ended?: TimelineEvent;
  tornDown?: TimelineEvent;
  revocation?: TimelineEvent;
  recording?: RecordingReport;
  findings: AuditFinding[];
}

/** The whole audit. */
export interface AuditReport {
  branch: string;
  head?: string;
  repository: string;
  at: string;
  commits: number;
  sessions: SessionReport[];
  /** Findings not about one session (policies). */
  findings: AuditFinding[];
  clean: boolean;
}
