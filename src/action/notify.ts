/**
 * The Action's notifications (issue 13): `requested`, `approval-added`,
 * `rejected` and the policy's escalations, for the sessions of one pull
 * request. What was already delivered is remembered in the Action's own
 * sticky comment, in a hidden HTML comment, so every run (the pull request's
 * own, or the scheduled scan) sends only what is new, and a channel that
 * failed is retried on the next run. Nothing here decides an approval: the
 * comment's state can at worst repeat or withhold a message.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { deliver } from '../adapters/notify-send.js';
import { formatTime } from '../core/duration.js';
import type { ResolvedChannel } from '../core/notify-config.js';
import { factsFromView, type NotifyEvent } from '../core/notify-message.js';
import { planSession, type Sent } from '../core/notify-plan.js';
import type { Judgement } from './judge.js';

const STATE_OPEN = '<!-- breakglass:notify-state ';
const STATE_CLOSE = ' -->';

const NotifyState = z.strictObject({
  v: z.literal(1),
  sessions: z.record(z.string().max(63), z.record(z.string().max(80), z.array(z.string().max(63)).max(20))),
});
export type NotifyState = z.infer<typeof NotifyState>;

const EMPTY: NotifyState = { v: 1, sessions: {} };

/**
 * The state kept in the Action's comment, or empty. A state that does not
 * parse (edited by hand, truncated) is dropped with a note: the worst that
 * does is a repeated message, never a lost one.
 */
export function readState(body: string | undefined): { state: NotifyState; problem?: string } {
  const at = body?.lastIndexOf(STATE_OPEN) ?? -1;
  if (!body || at < 0) return { state: EMPTY };
  const end = body.indexOf(STATE_CLOSE, at + STATE_OPEN.length);
  try {
    const raw = Buffer.from(body.slice(at + STATE_OPEN.length, end), 'base64url').toString('utf8');
    return { state: NotifyState.parse(JSON.parse(raw)) };
  } catch {
    return { state: EMPTY, problem: 'the notification state in the breakglass comment could not be read; messages already sent may be sent again' };
  }
}

/** The comment body with the state appended (invisible when rendered). */
export function withState(body: string, state: NotifyState): string {
  return `${body}\n${STATE_OPEN}${Buffer.from(JSON.stringify(state)).toString('base64url')}${STATE_CLOSE}`;
}

/** One id per (pull request, session, event key, channel): the same on every retry, so a receiver can drop a duplicate. */
function deliveryId(pull: string, session: string, key: string, channel: string): string {
  const h = createHash('sha256').update(`${pull}\0${session}\0${key}\0${channel}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface PullContext {
  /** The pull request's web address: every message's link to the approval page. */
  url: string;
  /** When the pull request was opened (escalation counts from here), if known. */
  openedAt?: number;
  now: number;
  repositoryName: string;
  timeoutMs: number;
  log: { info(s: string): void; warn(s: string): void };
}

/** Sends what the pull request's sessions are due; returns the state to keep. Failures are logged (no secret) and left for the next run. */
export async function notifyPull(j: Judgement, previous: NotifyState, channels: readonly ResolvedChannel[], ctx: PullContext): Promise<NotifyState> {
  const next: NotifyState = { v: 1, sessions: {} };
  for (const s of j.sessions) {
    if (!s.view) continue;
    const sent: Sent = structuredClone(previous.sessions[s.id] ?? {});
    const plan = planSession({ id: s.id, status: s.status, approvals: s.approvals, escalate: s.escalate }, sent, channels, ctx.openedAt, ctx.now);
    if (plan.unknown.length) ctx.log.warn(`NOTIFY_CHANNEL_UNKNOWN: the policy escalates ${s.id} to ${plan.unknown.join(', ')}, which the notify input does not configure`);
    const facts = factsFromView(s.view, ctx.repositoryName, ctx.url);
    for (const due of plan.due) {
      const event: NotifyEvent = { type: due.type, at: formatTime(ctx.now), session: facts, detail: due.escalation ? { escalation: due.escalation } : undefined };
      for (const name of due.channels) {
        const ch = channels.find((c) => c.name === name)!;
        const { result } = await deliver(ch, event, deliveryId(ctx.url, s.id, due.key, name), { timeoutMs: ctx.timeoutMs }, { attempts: 3, baseMs: 500, maxWaitMs: 10_000 });
        if (result.ok) {
          sent[due.key] = [...(sent[due.key] ?? []), name];
          ctx.log.info(`notify ${name}: ${due.type} ${s.id} delivered`);
        } else {
          ctx.log.warn(`notify ${name}: ${due.type} ${s.id}: ${result.code}: ${result.detail}; ${result.retryable ? 'retried on the next run' : 'not retried: the service refused it'}`);
          if (!result.retryable) sent[due.key] = [...(sent[due.key] ?? []), name];
        }
      }
    }
    next.sessions[s.id] = Object.fromEntries(plan.current.filter((k) => sent[k]?.length).map((k) => [k, sent[k]!]));
  }
  return next;
}
