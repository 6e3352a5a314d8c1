/**
 * The approvals line of the PR comment: which approval files a session has
 * and what can be said of each from the repository alone.
 *
 * Informational only. The runner verifies every approval against its own
 * trust file, never against keys found in the repository; nothing here can
 * make a session activate, and the comment says so.
 */
import type { SessionFiles, SignedFile } from '../core/repository.js';
import type { ApprovalEntry } from '../core/view.js';

/** Checks one approval's signature with the repository's keys; absent when no verifier or no keys are available. */
export type SignatureCheck = (session: SessionFiles, approval: SignedFile<'Approval'>) => Promise<ApprovalEntry>;

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

/** One entry per approval file; signatures are checked only when `check` is given. */
export async function approvalEntries(session: SessionFiles, check?: SignatureCheck): Promise<ApprovalEntry[]> {
  const out: ApprovalEntry[] = [];
  for (const a of session.approvals) {
    const bad = structural(session, a);
    if (bad) out.push(bad);
    else if (check) out.push(await check(session, a));
    else out.push({ approver: a.name, state: 'unverified', detail: 'present (unverified)' });
  }
  return out;
}
