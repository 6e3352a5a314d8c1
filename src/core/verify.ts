/**
 * The approval verifier: pure, with trust injected and time passed in. It
 * knows nothing of files, git or clocks; callers hand it exact bytes.
 *
 * Like sigstore-js's `Verifier.verify()`, each approval goes through a fixed
 * checklist of short steps, and each step fails with one stable reason code.
 * Every approval is judged (never stopping at the first bad one), so a verdict
 * lists every reason at once.
 */
import { durationSeconds, timeMs } from './duration.js';
import { canonicalIdentity } from './identity.js';
import { fail, isVerificationFailure, type Reason } from './reasons.js';
import type { SignedFile } from './repository.js';
import type { Approval, Policy } from './schemas.js';
import type { TrustMaterial } from './trust.js';
import { identifySigner, type Signer } from './verify-signer.js';

/** Allowed clock skew for a `signed` time in the future. */
const SKEW_MS = 5 * 60 * 1000;

/** What one session's approvals are verified against. */
export interface ApprovalSubject {
  sessionId: string;
  /** The request's exact bytes' digest (`sha256:<hex>`), computed by the caller from stored bytes. */
  requestDigest: string;
  requester: string;
  /** The requested duration, e.g. `1h`. */
  duration: string;
  repository: string;
  /** The governing policy; its own approval is `verifyPolicyApprovals`' concern. */
  policy: Policy;
}

/** An approval that counts toward the threshold. */
export interface AcceptedApproval {
  file: string;
  approver: string;
  keyId: string;
  signingKey: string;
  fileDigest: string;
  expires: string;
  duration?: string;
}

/** The verdict on one session's approvals. */
export interface ApprovalsVerdict {
  approved: boolean;
  need: number;
  accepted: AcceptedApproval[];
  /** Every reason, per file and for the whole set. */
  reasons: Reason[];
}

function checkParsed(file: SignedFile<'Approval'>): Approval {
  if (!file.value) fail('APPROVAL_INVALID', `${file.path} is not a valid Approval document (run validate for details)`);
  // The file name is what the layout and the view show; it must not disagree with the content.
  if (file.value.approver !== file.name) fail('APPROVAL_FILE_MISMATCH', `approver "${file.value.approver}" is written in ${file.name}.yaml`);
  return file.value;
}

function checkBinding(a: Approval, s: ApprovalSubject): void {
  // Bindings: an approval is for one request's exact bytes, in one session, of one repository.
  if (a.session !== s.sessionId) fail('SESSION_MISMATCH', `approval is for session ${a.session}, not ${s.sessionId}`);
  if (a.request !== s.requestDigest) fail('REQUEST_DIGEST_MISMATCH', `approval is for request ${a.request}, but request.yaml is now ${s.requestDigest}: the request changed after approval`);
  if (a.repository !== s.repository) fail('REPOSITORY_MISMATCH', `approval is for repository ${a.repository}, not ${s.repository}`);
}

function checkDecision(a: Approval): void {
  // A signed "reject" in an approval slot is read and refused, never counted.
  if (a.decision !== 'approve') fail('DECISION_NOT_APPROVE', `decision is "${a.decision}"`);
}

function checkTimes(a: Approval, now: number): void {
  // The schema accepted both times; read each once.
  const signed = timeMs(a.signed);
  const expires = timeMs(a.expires);
  if (signed > now + SKEW_MS) fail('APPROVAL_NOT_YET_VALID', `approval signed ${a.signed}, in the future`);
  if (expires <= now) fail('APPROVAL_EXPIRED', `approval expired ${a.expires}`);
}

function checkDuration(a: Approval, s: ApprovalSubject): void {
  if (a.duration === undefined) return;
  // An approver may narrow access, never widen it past what the vendor asked for.
  if (durationSeconds(a.duration) > durationSeconds(s.duration)) fail('DURATION_WIDENS', `approval grants ${a.duration}, longer than the ${s.duration} requested`);
}

function checkApprover(a: Approval, signer: Signer, s: ApprovalSubject): void {
  // The name in the file must be the trust file's name for the key that signed,
  // so a person cannot sign in someone else's name.
  if (!signer.approvers.some((t) => t.name === a.approver)) {
    fail('APPROVER_NAME_MISMATCH', `signed by the key of ${signer.approvers.map((t) => t.name).join(', ')}, but the file says approver "${a.approver}"`);
  }
  if (!s.policy.spec.approvals.approvers.includes(a.approver)) fail('APPROVER_NOT_IN_POLICY', `${a.approver} is not an approver in policy ${s.policy.metadata.name}`);
  // Compared in canonical form: case, plus-addressing and compatibility forms
  // are aliases of one mailbox, not a second person.
  const requester = canonicalIdentity(s.requester);
  if (!s.policy.spec.approvals.allowSelfApproval && signer.identities.includes(requester)) {
    const alias = requester === s.requester ? '' : ` (${s.requester} is an alias of ${requester})`;
    fail('SELF_APPROVAL', `${a.approver} is the requester ${requester}${alias}; policy ${s.policy.metadata.name} does not allow self-approval`);
  }
}

/** An approval that passed its checklist, with who signed it (for counting people once). */
interface Passed {
  accepted: AcceptedApproval;
  identities: readonly string[];
}

/** The checklist for one approval file. Throws `VerificationFailure` on the first failed step. */
async function verifyOne(file: SignedFile<'Approval'>, s: ApprovalSubject, trust: TrustMaterial, now: number): Promise<Passed> {
  const a = checkParsed(file);
  const signer = await identifySigner(file.bytes, file.signatures, trust, now);
  checkApprover(a, signer, s);
  checkBinding(a, s);
  checkDecision(a);
  checkTimes(a, now);
  checkDuration(a, s);
  const accepted = { file: file.path, approver: a.approver, keyId: signer.keyId, signingKey: signer.signingKey, fileDigest: file.digest, expires: a.expires, duration: a.duration };
  return { accepted, identities: signer.identities };
}

/** Turns a step's failure into a reason; anything else is a bug or an operational error and propagates. */
export function asReason(e: unknown, file: string): Reason {
  if (isVerificationFailure(e)) return { code: e.code, message: e.message, file };
  throw e;
}

/**
 * Counts each key once, and each approver once. gittuf's rule, for the same
 * reason: a threshold is a claim that N *independent* parties agreed.
 * - One key listed under two names in the trust file (a copy-paste slip, or
 *   one person holding two roles) is still one party (DUPLICATE_KEY).
 * - One approver with several keys (rotation keeps the old key beside the new)
 *   is one party however many keys signed (DUPLICATE_APPROVER); so is one
 *   person entered under two names with two keys, recognised by a shared
 *   e-mail (trust file, key user ids) or sigstore subject.
 * Counting either twice would let one person, or one stolen key, satisfy a two-person rule.
 */
export function countOnce<T extends { approver: string; keyId: string; file: string }>(passed: readonly { accepted: T; identities: readonly string[] }[], reasons: Reason[]): T[] {
  const keys = new Map<string, string>();
  const people = new Map<string, string>();
  const out: T[] = [];
  for (const { accepted: a, identities } of passed) {
    const sameKey = keys.get(a.keyId);
    const samePerson = [`name:${a.approver}`, ...identities.map((id) => `id:${id}`)].map((k) => people.get(k)).find((x) => x !== undefined);
    if (sameKey) reasons.push({ code: 'DUPLICATE_KEY', message: `${a.approver} signed with the same key as ${sameKey}; one key counts once`, file: a.file });
    else if (samePerson)
      reasons.push({
        code: 'DUPLICATE_APPROVER',
        message: `${a.approver} is the same approver as ${samePerson} (same name or identity: ${[a.approver, ...identities].join(', ')}); one approver counts once, whatever the number of keys`,
        file: a.file,
      });
    else {
      keys.set(a.keyId, a.approver);
      people.set(`name:${a.approver}`, a.approver);
      for (const id of identities) people.set(`id:${id}`, a.approver);
      out.push(a);
    }
  }
  return out;
}

/**
 * Verifies every approval of a session and applies the threshold:
 * max(trust floor, policy `approvals.required`) distinct trusted keys.
 *
 * Does NOT check: that the policy itself is approved (`verifyPolicyApprovals`),
 * policy rules on the request, rejections, or whether the session was already
 * activated (the runner's marker). Keys are taken only from `trust`.
 */
export async function verifyApprovals(files: readonly SignedFile<'Approval'>[], subject: ApprovalSubject, trust: TrustMaterial, now: number): Promise<ApprovalsVerdict> {
  const reasons: Reason[] = [];
  const passed: Passed[] = [];
  const sorted = [...files].sort((x, y) => x.path.localeCompare(y.path));
  for (const f of sorted) {
    try {
      passed.push(await verifyOne(f, subject, trust, now));
    } catch (e) {
      reasons.push(asReason(e, f.path));
    }
  }
  const accepted = countOnce(passed, reasons);
  const need = Math.max(trust.threshold, subject.policy.spec.approvals.required);
  if (accepted.length < need) {
    reasons.push({
      code: 'THRESHOLD_NOT_MET',
      message: `${accepted.length} of ${need} required approvals from distinct trusted keys${accepted.length ? ` (${accepted.map((a) => a.approver).join(', ')})` : ''}`,
    });
  }
  return { approved: accepted.length >= need, need, accepted, reasons };
}
