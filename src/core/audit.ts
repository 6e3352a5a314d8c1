/**
 * `breakglass audit`, pure: the history as data, the trust material and
 * `now` in; findings and per-session timelines out. No git, no files, no clock.
 *
 * Checklist, per session (each step in audit-session.ts / audit-record.ts):
 *   1. the request kept its bytes after the first approval       REQUEST_CHANGED
 *   2. the record is signed by the trust file's runner key         RECORD_FORGED
 *      and readable, and never rewritten                            RECORD_INVALID, RECORD_CHANGED
 *   3. the activation commit is on the branch's first-parent chain ACTIVATION_OFF_BRANCH, HISTORY_REWRITTEN
 *   4. at that commit and the activation time, the shared verifier
 *      approves it; no approval arrived later                      UNAPPROVED_RECORD, APPROVALS_INSUFFICIENT,
 *                                                                  POLICY_UNAPPROVED, APPROVAL_AFTER_ACTIVATION
 *   5. bounded: duration, end request, teardown, revocation        DURATION_EXCEEDED, END_NOT_HONOURED,
 *                                                                  TEARDOWN_INCOMPLETE, REVOCATION_UNPROVEN
 *   6. the recording matches the chain head in the record, and    RECORDING_MISSING, RECORDING_TRUNCATED,
 *      exists when the governing policy required it
 *      (no key needed; audit-recording.ts)                         RECORDING_EXTRA, RECORDING_REORDERED,
 *                                                                  RECORDING_ALTERED, RECORDING_UNBOUND
 * And for the repository: every policy version approved while in force
 * (POLICY_UNAPPROVED), and runner-signed records that the branch lost
 * (HISTORY_REWRITTEN).
 */
import { loadDocument } from './document.js';
import type { AuditHistory, StrayRecord } from './audit-history.js';
import { HistoryIndex } from './audit-history.js';
import { auditPolicies } from './audit-policy.js';
import { checkRecordSignature } from './audit-record.js';
import { auditSession, type AuditContext } from './audit-session.js';
import type { AuditFinding, AuditOptions, AuditReport, AuditTrust, SessionReport } from './audit-types.js';

export type * from './audit-types.js';
export type { AuditHistory, ChainCommit, FileChange, StrayRecord } from './audit-history.js';
export { AUDIT_CODES } from './audit-types.js';

/** True when some version of the session's record on the chain has exactly these bytes. */
function onChain(idx: HistoryIndex, stray: StrayRecord): boolean {
  const versions = idx.versionsOf(`sessions/${stray.session}/record.yaml`);
  return versions.some((v) => v.bytes && Buffer.compare(Buffer.from(v.bytes), Buffer.from(stray.bytes)) === 0);
}

/**
 * A record the runner signed is proof the session happened. When such a
 * record survives only outside the branch (a ref or reflog from before a
 * rewrite), the branch lost a session. Unsigned or forged records off the
 * branch are ignored: anyone can push anything to a pull-request branch.
 */
async function lostSessions(ctx: AuditContext, sessions: Map<string, SessionReport>): Promise<void> {
  for (const stray of ctx.idx.history.strayRecords) {
    if (onChain(ctx.idx, stray)) continue;
    if (await checkRecordSignature(stray.bytes, stray.signature, ctx.trust, stray.time)) continue;
    const doc = loadDocument(`sessions/${stray.session}/record.yaml`, stray.bytes, 'Record');
    if (!doc.ok || doc.value.session !== stray.session) continue;
    const r = doc.value;
    const report = sessions.get(stray.session) ?? { id: stray.session, status: 'vanished' as const, approvals: [], findings: [] };
    if (report.status === 'vanished') {
      report.active = r.activated ? { at: r.activated, commit: r.commit } : undefined;
      report.ended = { at: r.ended, detail: r.endReason };
      sessions.set(stray.session, report);
    }
    if (report.findings.some((f) => f.code === 'HISTORY_REWRITTEN' && f.commit === stray.commit)) continue;
    report.findings.push({
      code: 'HISTORY_REWRITTEN',
      session: stray.session,
      commit: stray.commit,
      message: `a runner-signed record of this session (activated ${r.activated ?? 'never'}, ended ${r.ended}) is in commit ${stray.commit.slice(0, 12)}, which ${ctx.idx.history.branch} no longer reaches, and the branch holds no such record: the session was removed from history`,
    });
  }
}

/** Audits the whole history. Exit 1 is for the caller to decide: `clean` is false when there is any finding. */
export async function auditHistory(history: AuditHistory, trust: AuditTrust, opts: AuditOptions): Promise<AuditReport> {
  const ctx: AuditContext = { idx: new HistoryIndex(history), trust, opts };
  const sessions = new Map<string, SessionReport>();
  for (const id of ctx.idx.sessionIds()) sessions.set(id, await auditSession(ctx, id));
  await lostSessions(ctx, sessions);
  const findings: AuditFinding[] = await auditPolicies(ctx);
  const list = [...sessions.values()].sort((a, b) => (a.requested?.at ?? a.active?.at ?? '').localeCompare(b.requested?.at ?? b.active?.at ?? '') || a.id.localeCompare(b.id));
  const clean = findings.length === 0 && list.every((s) => s.findings.length === 0);
  return {
    branch: history.branch,
    head: history.chain.at(-1)?.oid,
    repository: opts.repository,
    at: new Date(opts.now).toISOString(),
    commits: history.chain.length,
    sessions: list,
    findings,
    clean,
  };
}
