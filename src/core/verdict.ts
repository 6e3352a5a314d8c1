/**
 * One reading of a `SessionVerdict` for every place that reports it: the
 * runner's log, `show --trust` and the Action's comment. They all verify with
 * `verifySession`; this turns its verdict into the same codes and words, so
 * none of them can say "approvals complete" for a session the runner refuses.
 */
import type { ReasonCode } from './reasons.js';
import type { SessionVerdict } from './verify-session.js';

/** What the runner would decide: activate, or refuse with these codes (sorted, each once). */
export interface VerdictSummary {
  approved: boolean;
  codes: ReasonCode[];
}

export function summarizeVerdict(v: SessionVerdict): VerdictSummary {
  return { approved: v.approved, codes: [...new Set(v.reasons.map((r) => r.code))].sort() };
}

/** The runner's log line: `approved`, or `refused (CODES): each reason`. */
export function verdictLine(v: SessionVerdict): string {
  if (v.approved) return 'approved';
  return `refused (${summarizeVerdict(v).codes.join(', ')}): ${v.reasons.map((r) => `${r.code}: ${r.message}`).join('; ')}`;
}

/** The approval view's words for it. */
export function verdictText(s: VerdictSummary): string {
  return s.approved ? 'the runner would activate it' : `the runner refuses it (${s.codes.join(', ')})`;
}
