/**
 * Judges the repository as the pull request would leave it (or, on a push,
 * as it is): file rules, schema and policy, and the approval view of each
 * session concerned. Reads files through the git adapter at an exact commit,
 * so digests are of the bytes git stores.
 */
import { CommitSource } from '../adapters/source.js';
import { revParse } from '../adapters/git.js';
import { sortFindings } from '../core/document.js';
import type { Finding } from '../core/errors.js';
import { loadRepository, type FileSource, type RepositoryModel, type SessionFiles } from '../core/repository.js';
import { checkPolicies, evaluateSession, validateRepository, type SessionStatus } from '../core/validate.js';
import { buildApprovalView, type ApprovalView } from '../core/view.js';
import { summarizeVerdict, type VerdictSummary } from '../core/verdict.js';
import { verifySession } from '../core/verify-session.js';
import { approvalEntries, type RepositoryKeys } from './approvals.js';
import type { Escalate } from '../core/notify-config.js';
import { checkFileRules, touchedSessions, type Change } from './file-rules.js';
import { LayoutSource, type Layout } from './layout.js';

/** One session as reported: status, the k of n line, and the full view when the request is readable. */
export interface SessionReport {
  id: string;
  status: SessionStatus;
  resource?: string;
  privilege?: string;
  approvals: { have: number; need: number };
  view?: ApprovalView;
  /** `verifySession`'s verdict with the repository's keys; absent without keys. */
  verdict?: VerdictSummary;
  /** The governing policy's `approvals.escalate`, if any (issue 13). */
  escalate?: Escalate;
}

export interface Judgement {
  /** Findings in the canonical layout, sorted. */
  findings: Finding[];
  sessions: SessionReport[];
  /** What was read, for the report: `<dir>@<commit>`. */
  source: string;
}

export interface JudgeContext {
  workspace: string;
  layout: Layout;
  repositoryName: string;
  now: number;
  /** The repository's keys for the informational signature check; absent: approvals are "present (unverified)". */
  keys?: RepositoryKeys;
}

/** Narrows a source to the files `keep` accepts: a pull request reads only the sessions it touches. */
function only(source: FileSource, keep: (path: string) => boolean): FileSource {
  return {
    label: source.label,
    list: async (roots) => (await source.list(roots)).filter(keep),
    read: (p) => source.read(p),
    readMany: (ps) => source.readMany(ps),
    refused: (ps) => source.refused(ps),
  };
}

/**
 * Opens the commit; a checkout without it (a shallow merge checkout) falls
 * back to HEAD, which contains the same files. `keep` limits what is parsed.
 */
export async function openCommit(ctx: JudgeContext, rev: string, keep?: (path: string) => boolean): Promise<{ model: RepositoryModel; label: string }> {
  const commit = (await revParse(ctx.workspace, rev)) ?? 'HEAD';
  const inner = await CommitSource.open(ctx.workspace, commit, [ctx.layout.sessions, ctx.layout.policies]);
  const source = new LayoutSource(inner, ctx.layout);
  return { model: await loadRepository(keep ? only(source, keep) : source), label: inner.label };
}

type Policies = ReturnType<typeof checkPolicies>;

/**
 * The runner refuses a session when ANY approval file fails verification, even
 * if the others meet the threshold (fail-closed). The view counts only the
 * good ones, so without this it would say "complete" where the runner says no.
 */
function failClosed(view: ApprovalView): void {
  const bad = view.approvals.entries.filter((e) => e.state === 'invalid').map((e) => e.approver);
  if (bad.length && view.approvals.have >= view.approvals.need && view.verdict.ok && /^approvals complete/.test(view.status)) {
    view.status = `blocked: the approval of ${bad.join(', ')} does not hold, and the runner refuses a session with any approval file that fails verification; remove or replace it`;
  }
}

/**
 * With keys, the verdict is `verifySession`'s, the function the runner and
 * `show --trust` use, over the same model: the comment cannot call complete
 * what the runner (given these keys as its trust) would refuse.
 */
async function runnerVerdict(ctx: JudgeContext, model: RepositoryModel, id: string): Promise<VerdictSummary | undefined> {
  if (!ctx.keys) return undefined;
  return summarizeVerdict(await verifySession(model, id, ctx.keys.trust, ctx.keys.repository, ctx.keys.now));
}

async function report(ctx: JudgeContext, model: RepositoryModel, pol: Policies, s: SessionFiles, withView: boolean): Promise<SessionReport> {
  const { summary } = evaluateSession(s, pol.usable, pol.broken, ctx.now);
  const req = s.request;
  const need = summary.evaluation?.governing?.policy.spec.approvals.required ?? 0;
  if (!req?.value || !summary.evaluation) return { id: s.id, status: summary.status, approvals: { have: 0, need } };
  const entries = await approvalEntries(s, summary.evaluation, ctx.keys);
  const runner = await runnerVerdict(ctx, model, s.id);
  const view = buildApprovalView({
    request: req.value,
    requestPath: req.path,
    requestDigest: req.digest,
    evaluation: summary.evaluation,
    repository: ctx.repositoryName,
    approvals: entries,
    rejection: s.rejection?.value ? { by: s.rejection.value.by, reason: s.rejection.value.reason } : undefined,
    ended: s.end?.value ? { by: s.end.value.by, reason: s.end.value.reason } : undefined,
    recorded: !!s.record,
    runner,
  });
  failClosed(view);
  const { resource, privilege } = req.value.spec;
  const escalate = summary.evaluation.governing?.policy.spec.approvals.escalate;
  return { id: s.id, status: summary.status, resource, privilege, approvals: { have: view.approvals.have, need: view.approvals.need }, view: withView ? view : undefined, verdict: runner, escalate };
}

/**
 * A pull request: file rules over its changes, and schema/policy findings for
 * the files it changes and the sessions it touches. Findings elsewhere in the
 * repository belong to whoever introduced them, not to this pull request.
 */
export async function judgePullRequest(ctx: JudgeContext, headSha: string, changes: readonly Change[], policyApprovalsNeeded: number): Promise<Judgement> {
  const ids = touchedSessions(changes);
  // Policies govern every session, so all are read; of the sessions, only those the pull request touches.
  const wanted = new Set(ids);
  const keep = (p: string) => p.startsWith('policies/') || wanted.has(/^sessions\/([^/]+)\//.exec(p)?.[1] ?? '');
  const { model, label } = await openCommit(ctx, headSha, keep);
  const all = validateRepository(model, ctx.now);
  const changed = new Set(changes.map((c) => c.path));
  const inScope = (f: Finding) => changed.has(f.file) || ids.some((id) => f.file.startsWith(`sessions/${id}/`));
  const findings = [...checkFileRules(changes, model, { policyApprovalsNeeded }), ...all.findings.filter(inScope)];
  const pol = checkPolicies(model);
  const sessions: SessionReport[] = [];
  for (const id of ids) {
    const s = model.sessions.get(id);
    if (s) sessions.push(await report(ctx, model, pol, s, true));
  }
  return { findings: sortFindings(findings), sessions, source: label };
}

/** A push (or any other event): every file and every session, without the per-session views. */
export async function judgeAll(ctx: JudgeContext, sha: string): Promise<Judgement> {
  const { model, label } = await openCommit(ctx, sha);
  const all = validateRepository(model, ctx.now);
  const pol = checkPolicies(model);
  const sessions: SessionReport[] = [];
  for (const s of [...model.sessions.values()].sort((a, b) => a.id.localeCompare(b.id))) sessions.push(await report(ctx, model, pol, s, false));
  return { findings: all.findings, sessions, source: label };
}
