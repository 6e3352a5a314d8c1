/**
 * Which policy governs a session, and which version of it. Pure: history and
 * the runner's memory are handed in as approved versions.
 *
 * 1. A policy is found by the request's resource, in exactly one file, and
 *    that file is `policies/<metadata.name>.yaml`. Two files defining the
 *    resource, or the same `metadata.name`, or a name that is not the file's,
 *    is refused (POLICY_FILE_MISMATCH): the verifier never picks one, because
 *    whichever it picked, an unapproved file could be the one.
 * 2. A policy version is its path and its bytes. Approvals bind both: the
 *    approval's `policy` is the file's name (its path) and `digest` its bytes.
 * 3. Approvals never lapse, so restoring an older approved version (file and
 *    approvals) would re-enable it. A version counts only with a threshold of
 *    approvals signed AFTER every other approved version of the same path
 *    became approved (POLICY_ROLLBACK). The approvals' `signed` times are what
 *    make replay impossible: they are inside the approvers' signatures, so a
 *    replayed approval carries its old time; history (git) and the runner's
 *    memory say which newer versions were approved and when.
 */
import { formatTime } from './duration.js';
import type { Reason } from './reasons.js';
import type { ParsedFile, RepositoryModel } from './repository.js';
import type { TrustMaterial } from './trust.js';
import { thresholdTime, verifyPolicyApprovals, type PolicyVerdict } from './verify-policy.js';

/** One approved version of a policy file, seen in history or remembered by the runner. */
export interface ApprovedVersion {
  digest: string;
  /** When its approvals reached the threshold (epoch ms, from their signed times). */
  approvedAt: number;
  /** Where it was seen, for messages: a commit, or the runner's memory. */
  where: string;
}

/** The approved versions of one policy path that the caller knows of (git history, runner memory). */
export type PolicyVersionLookup = (path: string) => Promise<readonly ApprovedVersion[]>;

const POLICY_PATH = /^policies\/([^/]+)\.yaml$/;

/** The name a policy file's path gives it: `policies/<name>.yaml`. */
export function policyStem(path: string): string | undefined {
  return POLICY_PATH.exec(path)?.[1];
}

/** True when the file's `metadata.name` is its file name: the only files that may govern. */
export function nameMatchesPath(file: ParsedFile<'Policy'>): boolean {
  return !!file.value && file.value.metadata.name === policyStem(file.path);
}

function mismatch(message: string, file?: string): Reason {
  return { code: 'POLICY_FILE_MISMATCH', message, file };
}

/**
 * The one policy file that defines `resource`, or the reasons there is no
 * single such file. Undefined file with no reasons: no policy names the
 * resource (evaluation reports POLICY_RESOURCE).
 *
 * Does NOT check: whether the file is approved or lint-clean.
 */
export function governingFile(model: RepositoryModel, resource: string): { file?: ParsedFile<'Policy'>; reasons: Reason[] } {
  const defining = model.policies.filter((f) => f.value?.spec.resources.some((r) => r.name === resource));
  if (defining.length > 1) {
    return {
      reasons: [
        mismatch(`resource "${resource}" is defined by ${defining.length} policy files (${defining.map((f) => f.path).join(', ')}); each resource must be in exactly one file, and none is picked`),
      ],
    };
  }
  const file = defining[0];
  if (!file) return { reasons: [] };
  const name = file.value!.metadata.name;
  if (!nameMatchesPath(file)) {
    return {
      reasons: [
        mismatch(`${file.path} calls itself "${name}"; a policy is policies/<metadata.name>.yaml, and approvals of "${name}" are approvals of policies/${name}.yaml, not of this file`, file.path),
      ],
    };
  }
  const sameName = model.policies.filter((f) => f !== file && (f.value?.metadata.name === name || policyStem(f.path) === name));
  if (sameName.length) {
    return { reasons: [mismatch(`policy name "${name}" of ${file.path} is also claimed by ${sameName.map((f) => f.path).join(', ')}; one name, one file`, file.path)] };
  }
  return { file, reasons: [] };
}

/**
 * The rollback rule: an approved version counts only with a threshold of
 * approvals signed after the newest approval of any OTHER version of the same
 * path. Returns the verdict, refused with POLICY_ROLLBACK when it falls short.
 */
export function checkRollback(path: string, digest: string, verdict: PolicyVerdict, versions: readonly ApprovedVersion[]): PolicyVerdict {
  const others = versions.filter((v) => v.digest !== digest);
  if (!verdict.approved || others.length === 0) return verdict;
  const newest = others.reduce((a, b) => (b.approvedAt > a.approvedAt ? b : a));
  const fresh = (verdict.accepted ?? []).filter((a) => a.signed > newest.approvedAt);
  if (fresh.length >= verdict.need)
    return {
      ...verdict,
      accepted: fresh,
      approvers: fresh.map((a) => a.approver),
      approvedAt: thresholdTime(
        fresh.map((a) => a.signed),
        verdict.need,
      ),
    };
  const older = versions.some((v) => v.digest === digest);
  const what = older ? `has the bytes of an older version that ${newest.digest} superseded` : `is approved only by approvals older than those of ${newest.digest}`;
  const reason: Reason = {
    code: 'POLICY_ROLLBACK',
    message: `${path} at ${digest} ${what} (approved ${formatTime(newest.approvedAt)}, ${newest.where}); ${fresh.length} of ${verdict.need} approvals signed after that: restoring an earlier version needs fresh approvals`,
    file: path,
  };
  return { ...verdict, approved: false, accepted: fresh, approvers: fresh.map((a) => a.approver), approvedAt: undefined, reasons: [...verdict.reasons, reason] };
}

/**
 * The approved version of `path` in a snapshot of the repository (one commit
 * of history), judged at `at`, or undefined when it is absent or unapproved
 * there. Its content need not be valid: approved bytes are a version.
 */
export async function approvedVersionIn(model: RepositoryModel, path: string, repository: string, trust: TrustMaterial, at: number, where: string): Promise<ApprovedVersion | undefined> {
  const file = model.policies.find((p) => p.path === path);
  const name = policyStem(path);
  if (!file || !name) return undefined;
  const approvals = model.policyApprovals.filter((a) => a.policy === name);
  const v = await verifyPolicyApprovals({ name, digest: file.digest, repository }, approvals, trust, at);
  return v.approved && v.approvedAt !== undefined ? { digest: file.digest, approvedAt: v.approvedAt, where } : undefined;
}
