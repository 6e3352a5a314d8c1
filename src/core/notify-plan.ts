/**
 * Which notifications a pull request's sessions are due, given what was
 * already delivered (the Action's memory, kept in its own comment): pure, so
 * the rules read as a list.
 *
 * - `requested` once, `approval-added` once per new count k, `rejected` once;
 * - `escalated` while a request has fewer than the required approvals, once
 *   per `approvals.escalate.after` since the pull request opened, to the
 *   channels the policy names, and never again once it is approved, rejected,
 *   ended or closed. Escalation only tells more people: it never changes the
 *   threshold, which the runner alone enforces from its own trust file.
 *
 * Each key remembers the channels that acknowledged it, so a channel that
 * failed is retried on the next run and one that succeeded never hears the
 * same thing twice (at least once, and once more only after a lost answer).
 */
import { parseDuration } from './duration.js';
import { type Escalate, type NotifyEventType, type ResolvedChannel, wants } from './notify-config.js';
import type { SessionStatus } from './validate.js';

/** What the plan needs about one session in the pull request. */
export interface PullSession {
  id: string;
  status: SessionStatus;
  approvals: { have: number; need: number };
  escalate?: Escalate;
}

/** Per session: event key -> names of the channels that acknowledged it. */
export type Sent = Record<string, string[]>;

export interface Due {
  key: string;
  type: NotifyEventType;
  channels: string[];
  escalation?: { after: string; round: number };
}

export interface Plan {
  due: Due[];
  /** Escalation channel names the policy gives that are not configured (reported as NOTIFY_CHANNEL_UNKNOWN). */
  unknown: string[];
  /** The keys still current: what the memory keeps (older rounds and counts are forgotten). */
  current: string[];
}

type Channel = Pick<ResolvedChannel, 'name' | 'events'>;

/** The escalation round due now: 0 before the first `after` has passed. */
export function escalationRound(openedAt: number, after: string, now: number): number {
  const every = parseDuration(after);
  if (!every || now < openedAt) return 0;
  return Math.floor((now - openedAt) / (every * 1000));
}

/** The notifications one session is due, and the keys to remember. */
export function planSession(s: PullSession, sent: Sent, channels: readonly Channel[], openedAt: number | undefined, now: number): Plan {
  // Only a request still being decided (or just rejected) is news; an end marker or a record is the runner's to tell.
  if (s.status !== 'pending' && s.status !== 'rejected') return { due: [], unknown: [], current: [] };
  const wanted: Omit<Due, 'channels'>[] = [{ key: 'requested', type: 'requested' }];
  if (s.approvals.have > 0) wanted.push({ key: `approval-added:${s.approvals.have}`, type: 'approval-added' });
  if (s.status === 'rejected') wanted.push({ key: 'rejected', type: 'rejected' });
  const due: Due[] = [];
  for (const w of wanted) {
    const left = channels.filter((c) => wants(c, w.type) && !(sent[w.key] ?? []).includes(c.name)).map((c) => c.name);
    if (left.length) due.push({ ...w, channels: left });
  }
  const unknown: string[] = [];
  const current = wanted.map((w) => w.key);
  const e = s.escalate;
  if (e && s.status === 'pending' && s.approvals.have < s.approvals.need && openedAt !== undefined) {
    const round = escalationRound(openedAt, e.after, now);
    if (round >= 1) {
      const key = `escalated:${round}`;
      current.push(key);
      unknown.push(...e.notify.filter((n) => !channels.some((c) => c.name === n)));
      const left = e.notify.filter((n) => channels.some((c) => c.name === n) && !(sent[key] ?? []).includes(n));
      if (left.length) due.push({ key, type: 'escalated', channels: left, escalation: { after: e.after, round } });
    }
  }
  return { due, unknown, current };
}
