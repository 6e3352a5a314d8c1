/**
 * Policy approvals: a policy takes effect only when its exact bytes' digest
 * is approved, with the same signatures, by the trust threshold. A policy
 * changed without fresh approvals is not used.
 */
import { timeMs } from './duration.js';
import { fail, type Reason } from './reasons.js';
import type { SignedFile } from './repository.js';
import type { PolicyApproval } from './schemas.js';
import type { TrustMaterial } from './trust.js';
import { asReason, countOnce } from './verify.js';
import { identifySigner } from './verify-signer.js';

const SKEW_MS = 5 * 60 * 1000;

/** A policy file as stored: its name and exact bytes' digest. */
export interface PolicySubject {
  name: string;
  digest: string;
  repository: string;
}

/** The verdict on one policy's approvals. */
export interface PolicyVerdict {
  approved: boolean;
  need: number;
  approvers: string[];
  /** The approvals that counted (one per distinct key), with their signed times. */
  accepted?: { approver: string; keyId: string; signed: number }[];
  /** When the threshold was reached: the `need`-th earliest signed time among `accepted`. */
  approvedAt?: number;
  reasons: Reason[];
}

/** The time a threshold of `need` was reached by approvals signed at `signed`; undefined below it. */
export function thresholdTime(signed: readonly number[], need: number): number | undefined {
  return [...signed].sort((a, b) => a - b)[need - 1];
}

async function verifyOne(
  file: SignedFile<'PolicyApproval'>,
  s: PolicySubject,
  trust: TrustMaterial,
  now: number,
): Promise<{ accepted: { approver: string; keyId: string; file: string; signed: number }; identities: readonly string[] }> {
  if (!file.value) fail('APPROVAL_INVALID', `${file.path} is not a valid PolicyApproval document`);
  const a: PolicyApproval = file.value;
  if (a.approver !== file.name) fail('APPROVAL_FILE_MISMATCH', `approver "${a.approver}" is written in ${file.name}.yaml`);
  const signer = await identifySigner(file.bytes, file.signatures, trust, now);
  if (!signer.approvers.some((t) => t.name === a.approver))
    fail('APPROVER_NAME_MISMATCH', `signed by the key of ${signer.approvers.map((t) => t.name).join(', ')}, but the file says approver "${a.approver}"`);
  if (a.policy !== s.name) fail('POLICY_NAME_MISMATCH', `approval is for policy ${a.policy}, not ${s.name}`);
  if (a.repository !== s.repository) fail('REPOSITORY_MISMATCH', `approval is for repository ${a.repository}, not ${s.repository}`);
  if (a.digest !== s.digest) fail('POLICY_DIGEST_MISMATCH', `approval is for policy bytes ${a.digest}, but the policy file is now ${s.digest}: it changed after approval`);
  const signed = timeMs(a.signed);
  if (signed > now + SKEW_MS) fail('APPROVAL_NOT_YET_VALID', `policy approval signed ${a.signed}, in the future`);
  return { accepted: { approver: a.approver, keyId: signer.keyId, file: file.path, signed }, identities: signer.identities };
}

/**
 * Verifies the approvals of one policy file against the trust threshold.
 * Each key and each approver counts once, for the reasons given in `countOnce`.
 *
 * Does NOT check: the policy's content (lint, evaluation), or the policy's own
 * `approvers` list — a policy cannot vouch for itself; trust decides.
 */
export async function verifyPolicyApprovals(policy: PolicySubject, files: readonly SignedFile<'PolicyApproval'>[], trust: TrustMaterial, now: number): Promise<PolicyVerdict> {
  const reasons: Reason[] = [];
  const passed: Awaited<ReturnType<typeof verifyOne>>[] = [];
  for (const f of [...files].sort((x, y) => x.path.localeCompare(y.path))) {
    try {
      passed.push(await verifyOne(f, policy, trust, now));
    } catch (e) {
      reasons.push(asReason(e, f.path));
    }
  }
  const counted = countOnce(passed, reasons);
  const need = trust.threshold;
  const approved = counted.length >= need;
  if (!approved) {
    reasons.push({
      code: 'POLICY_UNAPPROVED',
      message: `policy ${policy.name} at ${policy.digest} has ${counted.length} of ${need} approvals from distinct trusted approvers; a policy changed without fresh approvals is not used`,
    });
  }
  const accepted = counted.map(({ approver, keyId, signed }) => ({ approver, keyId, signed }));
  return {
    approved,
    need,
    approvers: accepted.map((a) => a.approver),
    accepted,
    approvedAt: thresholdTime(
      accepted.map((a) => a.signed),
      need,
    ),
    reasons,
  };
}
