import { BreakglassError, type Finding } from '../core/errors.js';
import { loadRepository, type RepositoryModel, type SessionFiles } from '../core/repository.js';
import { checkPolicies, evaluateSession } from '../core/validate.js';
import { buildApprovalView, type ApprovalView } from '../core/view.js';
import { SessionId, type Request } from '../core/schemas.js';
import { WorkTreeSource } from '../adapters/source.js';
import { originName } from '../adapters/git.js';
import { repositoryName } from './signing.js';
import type { ApprovalEntry } from '../core/view.js';
import type { TrustMaterial } from '../core/trust.js';
import { summarizeVerdict, type VerdictSummary } from '../core/verdict.js';
import { verifySession } from '../core/verify-session.js';
import { policyApprovalView } from './policy-status.js';

export interface SessionViewResult {
  model: RepositoryModel;
  session: SessionFiles;
  /** The session's request, which loading checked parses: its path, exact bytes' digest and value. */
  request: { path: string; digest: string; value: Request };
  view: ApprovalView;
  findings: Finding[];
  repository?: string;
  /** `verifySession`'s verdict, when a trust file was given. */
  runner?: VerdictSummary;
}

/**
 * Approval states checked against trust (working-tree bytes, as `show` reads
 * them), the verdict itself (the same `verifySession` the runner runs), and
 * whether the policy is approved.
 */
async function verified(
  model: RepositoryModel,
  id: string,
  trust: TrustMaterial,
  repository: string,
  now: number,
): Promise<{ entries: ApprovalEntry[]; runner: VerdictSummary; policyApproved?: boolean }> {
  const v = await verifySession(model, id, trust, repository, now);
  const accepted = new Set(v.approvals?.accepted.map((a) => a.file) ?? []);
  const entries = (model.sessions.get(id)?.approvals ?? []).map((a) => {
    if (accepted.has(a.path)) return { approver: a.name, state: 'verified' as const };
    const own = v.reasons.filter((r) => r.file === a.path).map((r) => r.code);
    const why = own.length ? own : v.approvals ? [] : v.reasons.map((r) => r.code);
    return { approver: a.name, state: own.length ? ('invalid' as const) : ('unverified' as const), detail: why.join(', ') || undefined };
  });
  return { entries, runner: summarizeVerdict(v), policyApproved: v.policy?.verdict.approved };
}

/** Loads a session from a working tree and builds its approval view; signatures are verified only when `trust` is given. */
export async function loadSessionView(dir: string, id: string, now: number, repository?: string, trust?: TrustMaterial): Promise<SessionViewResult> {
  if (!SessionId.safeParse(id).success) throw new BreakglassError('ID_INVALID', `${JSON.stringify(id)} is not a valid session id (a DNS label)`);
  const model = await loadRepository(new WorkTreeSource(dir));
  const session = model.sessions.get(id);
  if (!session) throw new BreakglassError('SESSION_MISSING', `no session ${id} in ${dir}/sessions`);
  const ownFindings = model.findings.filter((f) => f.file.startsWith(`sessions/${id}/`));
  const req = session.request;
  if (!req?.value)
    throw new BreakglassError('SESSION_INVALID', `sessions/${id}/request.yaml is missing or invalid: ${ownFindings.map((f) => `${f.file}:${f.line}:${f.col}: ${f.code}: ${f.message}`).join('; ')}`);
  const pol = checkPolicies(model);
  const { summary, findings } = evaluateSession(session, pol.usable, pol.broken, now);
  // Verifying against trust needs the repository name approvals bind: without it, refuse rather than show unverified.
  const trusted = trust && { trust, repository: await repositoryName(dir, repository) };
  const repo = trusted ? trusted.repository : (repository ?? (await originName(dir)));
  const checked = trusted ? await verified(model, id, trusted.trust, trusted.repository, now) : undefined;
  // A parsed request is always evaluated (validate.ts evaluateSession).
  const evaluation = summary.evaluation;
  if (!evaluation) throw new BreakglassError('SESSION_INVALID', `sessions/${id}/request.yaml could not be evaluated`);
  const policyName = summary.evaluation?.governing?.policy.metadata.name;
  const view = buildApprovalView({
    request: req.value,
    requestPath: req.path,
    requestDigest: req.digest,
    evaluation,
    repository: repo,
    policyApproval: policyName ? policyApprovalView(model, policyName, checked?.policyApproved) : undefined,
    approvals: checked?.entries ?? session.approvals.map((a) => ({ approver: a.name, state: a.value ? 'unverified' : 'invalid', detail: a.value ? undefined : 'does not parse' })),
    runner: checked?.runner,
    rejection: session.rejection?.value ? { by: session.rejection.value.by, reason: session.rejection.value.reason } : undefined,
    ended: session.end?.value ? { by: session.end.value.by, reason: session.end.value.reason } : undefined,
    recorded: !!session.record,
  });
  return { model, session, request: { path: req.path, digest: req.digest, value: req.value }, view, findings: [...ownFindings, ...findings], repository: repo, runner: checked?.runner };
}
