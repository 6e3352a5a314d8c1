/**
 * One session, end to end, as the runner and `verify` judge it: the request
 * must be the session its folder names, exactly one policy file must define
 * its resource, the newest approved version of that file must govern, the
 * request must satisfy it, nobody may have rejected it, and its approvals
 * must meet the threshold. Pure: the model holds exact stored bytes, trust
 * is injected, `now` and the known policy versions are passed in.
 */
import { evaluatePolicy, type Evaluation, type Governing } from './policy.js';
import { checkRollback, governingFile, nameMatchesPath, type PolicyVersionLookup } from './policy-versions.js';
import type { Reason } from './reasons.js';
import type { ParsedFile, RepositoryModel, SessionFiles } from './repository.js';
import type { Policy, Request } from './schemas.js';
import type { TrustMaterial } from './trust.js';
import { checkPolicies, sessionStatus } from './validate.js';
import { verifyApprovals, type AcceptedApproval, type ApprovalsVerdict } from './verify.js';
import { verifyPolicyApprovals, type PolicyVerdict } from './verify-policy.js';

/** What every verdict says, approved or not. */
interface VerdictFields {
  id: string;
  status: string;
  requestDigest?: string;
  policy?: { name: string; digest: string; path?: string; verdict: PolicyVerdict };
  evaluation?: Evaluation;
  approvals?: ApprovalsVerdict;
  /** Every reason the session is not approved; empty when it is. */
  reasons: Reason[];
}

/**
 * What an approved verdict proves, with nothing left optional: the request
 * (its id is the folder's), the one approved policy resource governing it,
 * and the approvals that met that policy's threshold. Activation takes this,
 * so it cannot be handed a session whose policy or approvals are missing.
 */
export interface VerifiedSession {
  id: string;
  request: Request;
  requestDigest: string;
  governing: Governing;
  policy: { name: string; digest: string; path: string };
  /** The accepted approvals: at least the policy's `approvals.required`, each key counted once. */
  approvals: AcceptedApproval[];
}

/** The verdict on one session: approved with the session it proves, or refused with its reasons. */
export type SessionVerdict =
  | (VerdictFields & { approved: false })
  | (VerdictFields & { approved: true; session: VerifiedSession; policy: NonNullable<VerdictFields['policy']>; approvals: ApprovalsVerdict });

/** A policy file that parsed: the only kind that can govern. */
type UsablePolicyFile = ParsedFile<'Policy'> & { value: Policy };

/** What a caller may add to the verification; optional so every caller keeps compiling. */
export interface VerifyOptions {
  /**
   * Approved versions of each policy path known from git history and the
   * runner's memory. Without it, the rollback rule has nothing to compare
   * with: a restored older version is caught only by whoever passes this.
   */
  policyVersions?: PolicyVersionLookup;
}

/** One policy file's approval verdict, the rollback rule applied when versions are known. */
export async function verifyPolicyFile(model: RepositoryModel, file: UsablePolicyFile, trust: TrustMaterial, repository: string, now: number, options: VerifyOptions = {}): Promise<PolicyVerdict> {
  const name = file.value.metadata.name;
  const approvals = model.policyApprovals.filter((a) => a.policy === name);
  const verdict = await verifyPolicyApprovals({ name, digest: file.digest, repository }, approvals, trust, now);
  return options.policyVersions ? checkRollback(file.path, file.digest, verdict, await options.policyVersions(file.path)) : verdict;
}

/**
 * Verifies every usable policy's approvals; returns the verdicts by policy
 * name. A file whose `metadata.name` is not its file name is never usable:
 * approvals name a policy, and the name is the path.
 */
export async function verifyPolicies(
  model: RepositoryModel,
  trust: TrustMaterial,
  repository: string,
  now: number,
  options: VerifyOptions = {},
): Promise<Map<string, { policy: Policy; digest: string; path: string; verdict: PolicyVerdict }>> {
  const out = new Map<string, { policy: Policy; digest: string; path: string; verdict: PolicyVerdict }>();
  const usable = new Set(checkPolicies(model).usable);
  for (const file of model.policies) {
    const value = file.value;
    if (!value || !usable.has(value) || !nameMatchesPath(file)) continue;
    const verdict = await verifyPolicyFile(model, { ...file, value }, trust, repository, now, options);
    out.set(value.metadata.name, { policy: value, digest: file.digest, path: file.path, verdict });
  }
  return out;
}

/** An end or rejection that names another session still closes this folder's session, and is reported. */
function folderMismatches(s: SessionFiles): Reason[] {
  return [s.end, s.rejection].flatMap((f) =>
    f?.value && f.value.session !== s.id
      ? [{ code: 'SESSION_MISMATCH' as const, message: `${f.path} names session "${f.value.session}", not its folder's "${s.id}"; it still closes ${s.id}`, file: f.path }]
      : [],
  );
}

/**
 * Verifies session `id`. Only the newest approved version of the one policy
 * file defining the request's resource governs; when its current bytes are
 * not approved the reason is POLICY_UNAPPROVED (or POLICY_ROLLBACK), with
 * that policy's own reasons.
 *
 * Does NOT check: whether the session already activated (the runner's marker
 * and claim), runner caps, or the environment. An ended or recorded session
 * is reported with its status; its approvals are judged the same way.
 */
export async function verifySession(model: RepositoryModel, id: string, trust: TrustMaterial, repository: string, now: number, options: VerifyOptions = {}): Promise<SessionVerdict> {
  const s = model.sessions.get(id);
  const status = s ? sessionStatus(s) : 'missing';
  const req = s?.request;
  // A session folder holding a symlink, gitlink or oversized entry is judged on nothing it says.
  if (s?.unreadable?.length) return { id, approved: false, status, reasons: s.unreadable.map((r) => ({ code: 'SESSION_UNREADABLE', message: `${r.code}: ${r.message}`, file: r.path })) };
  if (!s || !req?.value)
    return { id, approved: false, status, reasons: [{ code: 'REQUEST_INVALID', message: `sessions/${id}/request.yaml is missing or invalid`, file: `sessions/${id}/request.yaml` }] };
  // The id is one thing everywhere: markers, claims, end.yaml and the record all use the folder's.
  if (req.value.metadata.id !== id) {
    return {
      id,
      approved: false,
      status,
      requestDigest: req.digest,
      reasons: [{ code: 'REQUEST_ID_MISMATCH', message: `metadata.id "${req.value.metadata.id}" is not the folder name "${id}"; they must be the same`, file: req.path }],
    };
  }
  const gov = governingFile(model, req.value.spec.resource);
  if (gov.reasons.length) return { id, approved: false, status, requestDigest: req.digest, reasons: gov.reasons };
  const usable = new Set(checkPolicies(model).usable);
  const parsed = gov.file?.value;
  const file: UsablePolicyFile | undefined = gov.file && parsed && usable.has(parsed) ? { ...gov.file, value: parsed } : undefined;
  const pv = file && (await verifyPolicyFile(model, file, trust, repository, now, options));
  const policy = file && pv && { name: file.value.metadata.name, digest: file.digest, path: file.path, verdict: pv };
  const checkStale = status === 'pending';
  const evaluation = evaluatePolicy(req.value, file && pv?.approved ? [file.value] : [], { now, checkStale });
  const base = { id, status, requestDigest: req.digest, evaluation };
  if (policy && !policy.verdict.approved) return { ...base, approved: false, policy, reasons: policy.verdict.reasons };
  if (gov.file && !file)
    return {
      ...base,
      approved: false,
      reasons: [{ code: 'POLICY_VIOLATION', message: `POLICY_INVALID: ${gov.file.path} has errors (run validate) and governs nothing until fixed`, file: gov.file.path }],
    };
  const reasons: Reason[] = evaluation.violations.map((v) => ({ code: 'POLICY_VIOLATION', message: `${v.code}: ${v.message}`, file: req.path }));
  reasons.push(...folderMismatches(s));
  if (s.rejection)
    reasons.push({ code: 'SESSION_REJECTED', message: `rejected by ${s.rejection.value?.by ?? '?'}: ${s.rejection.value?.reason ?? '(unreadable rejection.yaml)'}`, file: s.rejection.path });
  const g = evaluation.governing;
  // A governing resource comes only from an approved policy file, so `policy` is there whenever `g` is.
  if (!g || !policy) return { ...base, approved: false, reasons };
  const approvals = await verifyApprovals(
    s.approvals,
    { sessionId: id, requestDigest: req.digest, requester: req.value.metadata.requester, duration: req.value.spec.duration, repository, policy: g.policy },
    trust,
    now,
  );
  reasons.push(...approvals.reasons);
  const common = { ...base, policy, approvals, reasons };
  if (reasons.length > 0 || !approvals.approved) return { ...common, approved: false };
  const session: VerifiedSession = {
    id,
    request: req.value,
    requestDigest: req.digest,
    governing: g,
    policy: { name: policy.name, digest: policy.digest, path: policy.path },
    approvals: approvals.accepted,
  };
  return { ...common, approved: true, session };
}
