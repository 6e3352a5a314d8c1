/**
 * One session, end to end, from the history alone: what was requested, who
 * approved and when it reached the branch, and — when the runner left a
 * record — whether the activation it claims was allowed at that commit and
 * at that time, judged by the same verifier the runner uses.
 */
import { loadDocument } from './document.js';
import { durationSeconds, formatDuration, formatTime, timeMs } from './duration.js';
import { loadRepository, type SessionFiles } from './repository.js';
import type { Record } from './schemas.js';
import { verifySession, type SessionVerdict } from './verify-session.js';
import type { HistoryIndex } from './audit-history.js';
import { checkDuration, checkEnd, checkRecordSignature, checkRecordUnchanged, checkRevocation, checkTeardown, parseRecord, type FoundRecord } from './audit-record.js';
import { historyPolicyVersions } from './audit-policy.js';
import { checkRecording } from './audit-recording.js';
import type { ApprovalEvent, AuditCode, AuditFinding, AuditOptions, AuditTrust, SessionReport } from './audit-types.js';

/** What every per-session check needs. */
export interface AuditContext {
  idx: HistoryIndex;
  trust: AuditTrust;
  opts: AuditOptions;
}

const isApproval = (p: string) => /\/approvals\/[^/]+\.yaml$/.test(p);
const iso = (ms: number) => formatTime(ms);

/** The request must keep the bytes it had when the first approval reached the branch. */
function checkRequestUnchanged(ctx: AuditContext, id: string, approvals: string[]): AuditFinding[] {
  const { idx } = ctx;
  const firsts = approvals.map((p) => idx.firstPresent(p)).filter((a): a is number => a !== undefined);
  if (!firsts.length) return [];
  const first = Math.min(...firsts);
  const path = `sessions/${id}/request.yaml`;
  const approved = idx.fileAt(path, first);
  if (!approved) return [];
  return idx
    .versionsOf(path)
    .filter((v) => v.at > first && v.bytes && Buffer.compare(Buffer.from(v.bytes), Buffer.from(approved)) !== 0)
    .map((v) => ({
      code: 'REQUEST_CHANGED' as const,
      session: id,
      commit: idx.commit(v.at).oid,
      file: path,
      message: `request.yaml changed after approval (approved bytes as of ${idx.commit(first).oid.slice(0, 12)}): every approval of the old bytes is void`,
    }));
}

/** Where the record says activation happened; a finding when that commit is not on the branch's first-parent chain. */
function activationPosition(ctx: AuditContext, id: string, r: Record): { pos?: number; finding?: AuditFinding } {
  const { idx } = ctx;
  const c = r.commit;
  if (!c) return { finding: { code: 'RECORD_INVALID', session: id, message: 'the record names no activation commit' } };
  const pos = idx.position(c);
  if (pos !== undefined) return { pos };
  const h = idx.history;
  if (h.reachable.has(c))
    return {
      finding: {
        code: 'ACTIVATION_OFF_BRANCH',
        session: id,
        commit: c,
        message: `activated at ${c.slice(0, 12)}, which reached ${h.branch} only through a merge: the runner activated before the pull request was merged`,
      },
    };
  // The runner polls only the default branch: an activation commit the branch cannot reach means the
  // branch the auditor holds is not the one the runner acted on. Both readings are named.
  const where = h.elsewhere.has(c) ? 'it survives only on other refs or reflogs' : 'no ref reaches it any more';
  return {
    finding: {
      code: 'HISTORY_REWRITTEN',
      session: id,
      commit: c,
      message: `the runner-signed record says it activated at ${c.slice(0, 12)}, which is not in the history of ${h.branch} (${where}): ${h.branch} was rewritten after activation, or the runner was pointed at a branch that was never merged`,
    },
  };
}

/** The smallest of the requested, approved and policy durations (what the runner may grant at most). */
function effectiveDuration(v: SessionVerdict, requested: string | undefined): string | undefined {
  const limits = [requested, ...(v.approvals?.accepted ?? []).map((a) => a.duration), v.evaluation?.governing?.resource.maxDuration];
  const secs = limits.flatMap((d) => (d === undefined ? [] : [durationSeconds(d)]));
  return secs.length ? formatDuration(Math.min(...secs)) : undefined;
}

/** Approvals at the activation commit, judged by the shared verifier at the activation time. */
async function checkApprovalsAt(ctx: AuditContext, id: string, r: Record, pos: number, out: AuditFinding[]): Promise<SessionVerdict | undefined> {
  const { idx, trust, opts } = ctx;
  const commit = idx.commit(pos).oid;
  const model = await loadRepository(idx.source(pos, [`sessions/${id}`, 'policies']));
  const s = model.sessions.get(id);
  if (!s?.request || s.rejection || s.approvals.length === 0) {
    const why = !s?.request ? 'no request' : s.rejection ? 'a rejection' : 'no approvals';
    out.push({ code: 'UNAPPROVED_RECORD', session: id, commit, message: `the runner recorded this session, but at the activation commit it had ${why}` });
    out.push(...lateApprovals(ctx, id, s, r, pos));
    return undefined;
  }
  if (s.request.digest !== r.request)
    out.push({ code: 'RECORD_INVALID', session: id, commit, message: `the record is for request ${r.request}, but request.yaml at the activation commit is ${s.request.digest}` });
  const verdict = await verifySession(model, id, trust.approvals, opts.repository, timeMs(r.activated ?? r.ended), { policyVersions: historyPolicyVersions(ctx, pos) });
  if (!verdict.approved)
    out.push({
      code: verdictCode(verdict),
      session: id,
      commit,
      message: `not approved at activation (${r.activated ?? r.ended}): ${verdict.reasons.map((x) => `${x.code}: ${x.message}`).join('; ')}`,
    });
  out.push(...lateApprovals(ctx, id, s, r, pos));
  return verdict;
}

/** The finding for a session the verifier refuses at its activation commit: the most specific reason wins. */
function verdictCode(v: SessionVerdict): AuditCode {
  const has = (c: string) => v.reasons.some((x) => x.code === c);
  if (has('REQUEST_ID_MISMATCH')) return 'REQUEST_ID_MISMATCH';
  if (has('POLICY_ROLLBACK')) return 'POLICY_ROLLBACK';
  return has('POLICY_UNAPPROVED') ? 'POLICY_UNAPPROVED' : 'APPROVALS_INSUFFICIENT';
}

/** Approval files that reached the branch only after the activation commit cannot have authorised it. */
function lateApprovals(ctx: AuditContext, id: string, s: SessionFiles | undefined, r: Record, pos: number): AuditFinding[] {
  const { idx } = ctx;
  const out: AuditFinding[] = [];
  for (const p of idx.paths(`sessions/${id}`).filter(isApproval)) {
    const first = idx.firstPresent(p);
    if (first !== undefined && first > pos)
      out.push({
        code: 'APPROVAL_AFTER_ACTIVATION',
        session: id,
        commit: idx.commit(first).oid,
        file: p,
        message: `${p} reached the branch at ${idx.commit(first).oid.slice(0, 12)}, after the activation commit ${idx.commit(pos).oid.slice(0, 12)}`,
      });
  }
  const present = new Set(s?.approvals.map((a) => a.digest));
  for (const a of r.approvals.filter((x) => !present.has(x.file))) {
    if (!out.some((f) => f.file?.endsWith(`/${a.approver}.yaml`)))
      out.push({
        code: 'APPROVAL_AFTER_ACTIVATION',
        session: id,
        commit: idx.commit(pos).oid,
        message: `the record counts ${a.approver}'s approval ${a.file}, which was not on the branch at the activation commit`,
      });
  }
  return out;
}

/** Everything about a session that has a record on the chain. */
async function auditRecord(ctx: AuditContext, id: string, found: FoundRecord, report: SessionReport): Promise<SessionVerdict | undefined> {
  const { idx, opts } = ctx;
  const out = report.findings;
  const recCommit = idx.commit(found.at);
  const forged = await checkRecordSignature(found.bytes, found.signature, ctx.trust, recCommit.time);
  if (forged) return void out.push({ code: 'RECORD_FORGED', session: id, commit: recCommit.oid, file: found.path, message: `record is not signed by the runner key of the trust file: ${forged}` });
  const r = parseRecord(id, found, recCommit.oid, out);
  if (!r) return undefined;
  out.push(...checkRecordUnchanged(id, found, idx));
  fillRecordTimeline(report, r);
  const { pos, finding } = activationPosition(ctx, id, r);
  if (finding) out.push(finding);
  const verdict = pos === undefined ? undefined : await checkApprovalsAt(ctx, id, r, pos, out);
  const requested = loadDocument('request.yaml', idx.fileAt(`sessions/${id}/request.yaml`, pos ?? found.at) ?? new Uint8Array(), 'Request');
  const effective = verdict ? effectiveDuration(verdict, requested.ok ? requested.value.spec.duration : undefined) : requested.ok ? requested.value.spec.duration : undefined;
  out.push(...checkDuration(id, r, effective, recCommit.oid, opts));
  const endAt = idx.firstPresent(`sessions/${id}/end.yaml`);
  const end = endAt === undefined ? undefined : { at: endAt, time: idx.commit(endAt).time, commit: idx.commit(endAt).oid };
  if (pos !== undefined) out.push(...checkEnd(id, r, end, pos, opts));
  out.push(...checkTeardown(id, r, recCommit.oid), ...checkRevocation(id, r, recCommit.oid));
  const required = verdict?.evaluation?.governing?.resource.recording === 'required';
  const recording = checkRecording(idx, id, r, recCommit.oid, required);
  report.recording = recording.report;
  out.push(...recording.findings);
  return verdict;
}

function fillRecordTimeline(report: SessionReport, r: Record): void {
  report.status = r.outcome === 'failed' ? 'failed' : 'recorded';
  report.active = r.activated ? { at: r.activated, commit: r.commit, detail: r.expires ? `until ${r.expires}` : undefined } : undefined;
  report.ended = { at: r.ended, detail: r.endReason };
  if (r.teardown) report.tornDown = { at: r.teardown.completed, detail: `${r.teardown.deleted.length} of ${r.objects.length} object(s) deleted` };
  if (r.revocation) report.revocation = { at: r.revocation.at, detail: `${r.revocation.method}: ${r.revocation.result}` };
}

function approvalEvents(ctx: AuditContext, id: string, verdict: SessionVerdict | undefined): ApprovalEvent[] {
  const { idx } = ctx;
  return idx
    .paths(`sessions/${id}`)
    .filter(isApproval)
    .flatMap((p) => {
      const first = idx.firstPresent(p);
      if (first === undefined) return [];
      const doc = loadDocument(p, idx.fileAt(p, first)!, 'Approval');
      const accepted = verdict?.approvals?.accepted.find((a) => a.file === p);
      const name = /([^/]+)\.yaml$/.exec(p)![1]!;
      const c = idx.commit(first);
      return [
        {
          file: p,
          approver: doc.ok ? doc.value.approver : name,
          signed: doc.ok ? doc.value.signed : undefined,
          committed: iso(c.time),
          commit: c.oid,
          key: accepted?.keyId.replace(/^openpgp:/, ''),
          accepted: !!accepted,
        },
      ];
    });
}

/** The first version of a session file on the chain. */
function firstVersion(idx: HistoryIndex, path: string): FoundRecord | undefined {
  const v = idx.versionsOf(path).find((x) => x.bytes);
  return v && { at: v.at, path, bytes: v.bytes!, signature: idx.fileAt(`${path}.asc`, v.at) };
}

function describeRequest(ctx: AuditContext, id: string, report: SessionReport): void {
  const { idx } = ctx;
  const req = firstVersion(idx, `sessions/${id}/request.yaml`);
  if (!req) return;
  const c = idx.commit(req.at);
  report.requested = { at: iso(c.time), commit: c.oid };
  const doc = loadDocument(req.path, req.bytes, 'Request');
  if (!doc.ok) return;
  if (doc.value.metadata.id !== id)
    report.findings.push({
      code: 'REQUEST_ID_MISMATCH',
      session: id,
      commit: c.oid,
      file: req.path,
      message: `request.yaml says metadata.id "${doc.value.metadata.id}" in folder ${id}: the id is the folder's everywhere, and such a request is never activated`,
    });
  const s = doc.value.spec;
  Object.assign(report, { requester: doc.value.metadata.requester, resource: s.resource, privilege: s.privilege, duration: s.duration, reason: s.reason });
  report.requested.detail = `created ${doc.value.metadata.created}`;
}

function describeEnd(ctx: AuditContext, id: string, report: SessionReport): void {
  const { idx } = ctx;
  const end = firstVersion(idx, `sessions/${id}/end.yaml`);
  if (end) {
    const doc = loadDocument(end.path, end.bytes, 'End');
    report.endRequested = { at: iso(idx.commit(end.at).time), commit: idx.commit(end.at).oid, detail: doc.ok ? `by ${doc.value.by}${doc.value.reason ? `: ${doc.value.reason}` : ''}` : undefined };
  }
  if (report.status === 'open' && idx.firstPresent(`sessions/${id}/rejection.yaml`) !== undefined) report.status = 'rejected';
}

/** Audits one session that appears on the default branch. */
export async function auditSession(ctx: AuditContext, id: string): Promise<SessionReport> {
  const report: SessionReport = { id, status: 'open', approvals: [], findings: [] };
  describeRequest(ctx, id, report);
  report.findings.push(...checkRequestUnchanged(ctx, id, ctx.idx.paths(`sessions/${id}`).filter(isApproval)));
  const record = firstVersion(ctx.idx, `sessions/${id}/record.yaml`);
  const verdict = record ? await auditRecord(ctx, id, record, report) : undefined;
  report.approvals = approvalEvents(ctx, id, verdict);
  describeEnd(ctx, id, report);
  return report;
}
