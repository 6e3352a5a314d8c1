/**
 * What a notification says, before any channel shapes it: the session's facts
 * (the same ones the approval view shows), the event, and a detail per event.
 * Built only from what the approval view or the runner's own state already
 * show; there is no field that could carry a token, a sealed credential or a
 * channel secret, so no renderer can leak one.
 */
import { createHash } from 'node:crypto';
import type { NotifyEventType } from './notify-config.js';
import { RUNNER_STEP_CODES } from './reasons.js';
import type { ApprovalView } from './view.js';
import { approveCommand } from './view.js';

/** The session as every message names it. */
export interface SessionFacts {
  session: string;
  resource: string;
  privilege: string;
  duration: string;
  requester: string;
  reason: string;
  approvals: { have: number; need: number };
  repository: string;
  /** The approval page: the pull request (Action), or the commit that carried the session to the default branch (runner). */
  link: string;
  approveCommand: string;
}

/** Per-event detail; every field is a fact from git or the runner's state, never a secret. */
export interface EventDetail {
  expires?: string;
  endReason?: string;
  code?: string;
  step?: string;
  proof?: { method: string; result: string; attempts?: number };
  escalation?: { after: string; round: number };
}

export interface NotifyEvent {
  type: NotifyEventType;
  at: string;
  session: SessionFacts;
  detail?: EventDetail;
}

/** The facts from the approval view's rows (the view is the one place that decides what an approver sees). */
export function factsFromView(v: ApprovalView, repository: string, link: string): SessionFacts {
  const row = (k: string) => v.rows.find(([key]) => key === k)?.[1] ?? '';
  return {
    session: v.id,
    resource: row('Resource'),
    privilege: row('Privilege'),
    duration: row('Duration'),
    requester: row('Requester'),
    reason: row('Reason'),
    approvals: { have: v.approvals.have, need: v.approvals.need },
    repository,
    link,
    approveCommand: v.commands.approve,
  };
}

/** Facts the runner knows at activation (the request and its verdict). */
export function runnerFacts(f: Omit<SessionFacts, 'approveCommand' | 'link'> & { commit: string }): SessionFacts {
  const { commit, ...rest } = f;
  return { ...rest, link: `https://${f.repository}/commit/${commit}`, approveCommand: approveCommand(f.session) };
}

/** One line saying what happened, used as title, subject and fallback text. */
export function headline(e: NotifyEvent): string {
  const s = e.session;
  const k = `${s.approvals.have} of ${s.approvals.need} approvals`;
  switch (e.type) {
    case 'requested':
      return `Break-glass access requested: ${s.session} (${s.privilege} on ${s.resource}), ${k}`;
    case 'approval-added':
      return `Approval added to ${s.session}: ${k}`;
    case 'rejected':
      return `Break-glass request ${s.session} rejected`;
    case 'escalated':
      return `Break-glass request ${s.session} still needs approvals (${k}) after ${e.detail?.escalation?.after ?? '?'}`;
    case 'activated':
      return `Break-glass session ${s.session} is active until ${e.detail?.expires ?? '?'}`;
    case 'expiring':
      return `Break-glass session ${s.session} expires at ${e.detail?.expires ?? '?'}`;
    case 'ended':
      return `Break-glass session ${s.session} ended (${e.detail?.endReason ?? 'ended'})`;
    case 'revoked':
      return `Break-glass session ${s.session}: access revoked (${e.detail?.proof ? `${e.detail.proof.method}: ${e.detail.proof.result}` : 'no credential'})`;
    case 'failed':
      return `Break-glass session ${s.session} failed: ${e.detail?.code ?? RUNNER_STEP_CODES.session}${e.detail?.step ? ` at ${e.detail.step}` : ''}`;
  }
}

/** Label/value pairs, in the approval view's order, for the channels that show a table. */
export function factRows(e: NotifyEvent): [string, string][] {
  const s = e.session;
  const rows: [string, string][] = [
    ['Session', s.session],
    ['Resource', s.resource],
    ['Privilege', s.privilege],
    ['Duration', s.duration],
    ['Requester', s.requester],
    ['Reason', s.reason],
    ['Approvals', `${s.approvals.have} of ${s.approvals.need}`],
  ];
  const d = e.detail ?? {};
  if (d.expires) rows.push(['Expires', d.expires]);
  if (d.endReason) rows.push(['Ended because', d.endReason]);
  if (d.proof) rows.push(['Revocation proof', `${d.proof.method}: ${d.proof.result}${d.proof.attempts ? ` after ${d.proof.attempts} checks` : ''}`]);
  if (d.code) rows.push(['Failure', `${d.code}${d.step ? ` at ${d.step}` : ''}`]);
  if (d.escalation) rows.push(['Escalation', `round ${d.escalation.round}, every ${d.escalation.after}`]);
  return rows;
}

/** PagerDuty's dedup key: one incident per session (and repository), at most 255 characters. */
export function dedupKey(s: Pick<SessionFacts, 'repository' | 'session'>): string {
  const key = `breakglass/${s.repository}/${s.session}`;
  return key.length <= 255 ? key : `breakglass/${createHash('sha256').update(key).digest('hex')}`;
}
