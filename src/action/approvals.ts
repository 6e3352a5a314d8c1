/**
 * The approvals line of the PR comment: which approval files a session has
 * and what can be said of each from the repository alone.
 *
 * Informational only. The keys come from the repository (the `trust` input),
 * which a pull request can change; the runner verifies every approval against
 * its own trust file. Nothing here can make a session activate, and the
 * comment says so.
 */
import type { SessionFiles, SignedFile } from '../core/repository.js';
import type { Evaluation } from '../core/policy.js';
import type { Policy, Request } from '../core/schemas.js';
import type { TrustMaterial } from '../core/trust.js';
import { verifyApprovals } from '../core/verify.js';
import type { ApprovalEntry } from '../core/view.js';

/** What the informational check needs: the repository's keys and the repository name approvals bind. */
export interface RepositoryKeys {
  trust: TrustMaterial;
  repository: string;
  now: number;
}

/** What the file alone shows, before any signature: problems that void an approval whoever signed it. */
function structural(session: SessionFiles, a: SignedFile<'Approval'>): ApprovalEntry | undefined {
  const invalid = (detail: string): ApprovalEntry => ({ approver: a.name, state: 'invalid', detail });
  if (!a.value) return invalid('does not parse');
  if (a.value.decision !== 'approve') return invalid(`decision is ${a.value.decision}`);
  // An approval binds the digest of the request's exact bytes: one made before the request changed counts for nothing.
  if (session.request && a.value.request !== session.request.digest) return invalid(`binds ${a.value.request.slice(0, 19)}…, not this request (changed after approval?)`);
  if (a.signatures.length === 0) return invalid(`no signature beside ${a.path}`);
  return undefined;
}

/** Runs the core verifier over all of a session's approvals at once, so one key never counts twice. */
async function verified(session: SessionFiles, request: { digest: string; value: Request }, policy: Policy, keys: RepositoryKeys): Promise<ApprovalEntry[]> {
  const subject = {
    sessionId: session.id,
    requestDigest: request.digest,
    requester: request.value.metadata.requester,
    duration: request.value.spec.duration,
    repository: keys.repository,
    policy,
  };
  const verdict = await verifyApprovals(session.approvals, subject, keys.trust, keys.now);
  return session.approvals.map((a) => {
    const ok = verdict.accepted.find((x) => x.file === a.path);
    if (ok) return { approver: a.name, state: 'verified', detail: `key ${ok.keyId}` };
    const why = verdict.reasons.find((r) => r.file === a.path);
    return { approver: a.name, state: 'invalid', detail: why ? `${why.code}: ${why.message}` : 'not accepted' };
  });
}

/**
 * One entry per approval file. With the repository's keys, signatures are
 * verified by the core verifier; without them, approvals that pass the
 * structural checks are shown as present but unverified.
 */
export async function approvalEntries(session: SessionFiles, evaluation: Evaluation, keys?: RepositoryKeys): Promise<ApprovalEntry[]> {
  const request = session.request;
  const value = request?.value;
  const governing = evaluation.governing;
  if (keys && request && value && governing) return verified(session, { digest: request.digest, value }, governing.policy, keys);
  return session.approvals.map((a) => structural(session, a) ?? { approver: a.name, state: 'unverified', detail: 'signature present, not checked' });
}
