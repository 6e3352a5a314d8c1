/**
 * One session, end to end, as the runner and `verify` judge it: the governing
 * policy must itself be approved, the request must satisfy it, nobody may have
 * rejected it, and its approvals must meet the threshold. Pure: the model holds
 * exact stored bytes, trust is injected, `now` is passed in.
 */
import { evaluatePolicy, type Evaluation } from './policy.js';
import type { Reason } from './reasons.js';
import type { RepositoryModel } from './repository.js';
import type { Policy } from './schemas.js';
import type { TrustMaterial } from './trust.js';
import { checkPolicies, sessionStatus } from './validate.js';
import { verifyApprovals, type ApprovalsVerdict } from './verify.js';
import { verifyPolicyApprovals, type PolicyVerdict } from './verify-policy.js';

/** The verdict on one session. */
export interface SessionVerdict {
  id: string;
  approved: boolean;
  status: string;
  requestDigest?: string;
  policy?: { name: string; digest: string; verdict: PolicyVerdict };
  evaluation?: Evaluation;
  approvals?: ApprovalsVerdict;
  /** Every reason the session is not approved; empty when it is. */
  reasons: Reason[];
}

/** Verifies every usable policy's approvals; returns the verdicts by policy name. */
export async function verifyPolicies(model: RepositoryModel, trust: TrustMaterial, repository: string, now: number): Promise<Map<string, { policy: Policy; digest: string; verdict: PolicyVerdict }>> {
  const out = new Map<string, { policy: Policy; digest: string; verdict: PolicyVerdict }>();
  for (const policy of checkPolicies(model).usable) {
    const name = policy.metadata.name;
    const file = model.policies.find((p) => p.value?.metadata.name === name)!;
    const approvals = model.policyApprovals.filter((a) => a.policy === name);
    const verdict = await verifyPolicyApprovals({ name, digest: file.digest, repository }, approvals, trust, now);
    out.set(name, { policy, digest: file.digest, verdict });
  }
  return out;
}

/**
 * Verifies session `id`. Only approved policies govern; when the request would
 * be governed by a policy whose current bytes were never approved, the reason
 * is POLICY_UNAPPROVED (with that policy's own reasons).
 *
 * Does NOT check: whether the session already activated (the runner's marker),
 * runner caps, or the environment. An ended or recorded session is reported
 * with its status; its approvals are judged the same way.
 */
export async function verifySession(model: RepositoryModel, id: string, trust: TrustMaterial, repository: string, now: number): Promise<SessionVerdict> {
  const s = model.sessions.get(id);
  const status = s ? sessionStatus(s) : 'missing';
  const req = s?.request;
  // A session folder holding a symlink, gitlink or oversized entry is judged on nothing it says.
  if (s?.unreadable?.length) return { id, approved: false, status, reasons: s.unreadable.map((r) => ({ code: 'SESSION_UNREADABLE', message: `${r.code}: ${r.message}`, file: r.path })) };
  if (!s || !req?.value) return { id, approved: false, status, reasons: [{ code: 'REQUEST_INVALID', message: `sessions/${id}/request.yaml is missing or invalid`, file: `sessions/${id}/request.yaml` }] };
  const policies = await verifyPolicies(model, trust, repository, now);
  const approvedPolicies = [...policies.values()].filter((p) => p.verdict.approved).map((p) => p.policy);
  const checkStale = status === 'pending';
  const evaluation = evaluatePolicy(req.value, approvedPolicies, { now, checkStale });
  const base = { id, status, requestDigest: req.digest, evaluation };
  if (!evaluation.governing) {
    const wouldGovern = evaluatePolicy(req.value, [...policies.values()].map((p) => p.policy), { now, checkStale }).governing;
    const p = wouldGovern && policies.get(wouldGovern.policy.metadata.name);
    if (p) return { ...base, approved: false, policy: { name: p.policy.metadata.name, digest: p.digest, verdict: p.verdict }, reasons: p.verdict.reasons };
  }
  const reasons: Reason[] = evaluation.violations.map((v) => ({ code: 'POLICY_VIOLATION', message: `${v.code}: ${v.message}`, file: req.path }));
  if (s.rejection) reasons.push({ code: 'SESSION_REJECTED', message: `rejected by ${s.rejection.value?.by ?? '?'}: ${s.rejection.value?.reason ?? '(unreadable rejection.yaml)'}`, file: s.rejection.path });
  const g = evaluation.governing;
  if (!g) return { ...base, approved: false, reasons };
  const p = policies.get(g.policy.metadata.name)!;
  const approvals = await verifyApprovals(
    s.approvals,
    { sessionId: id, requestDigest: req.digest, requester: req.value.metadata.requester, duration: req.value.spec.duration, repository, policy: g.policy },
    trust,
    now,
  );
  reasons.push(...approvals.reasons);
  return { ...base, approved: reasons.length === 0 && approvals.approved, policy: { name: p.policy.metadata.name, digest: p.digest, verdict: p.verdict }, approvals, reasons };
}
