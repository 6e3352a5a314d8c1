/**
 * The session lifecycle as a pure state machine. The runner feeds it facts it
 * has read (git files, the marker in the cluster, the clock) and gets back the
 * state and the reason for it, so every transition is explainable in a log
 * line and a record. It never reads anything itself. The runner's loop takes
 * no transition on its own: activate, end, expire, fail, roll back and resume
 * a teardown are each an action returned here, and every marker write is
 * checked against `phaseChangeAllowed`.
 */

/** Where a session is in its life. */
export type SessionState = 'pending' | 'approved' | 'activating' | 'active' | 'ending' | 'ended' | 'failed';

/** The phase written on the per-session marker object. */
export type MarkerPhase = 'activating' | 'active' | 'ending' | 'ended' | 'failed';

/** What the runner knows about one session at one instant. */
export interface SessionFacts {
  /** Request parsed, schema-valid, and naming its own folder as its id. */
  requestValid: boolean;
  rejected: boolean;
  /** `end.yaml` present in git (anyone may end; ending only takes access away). */
  endRequested: boolean;
  /** A runner record (signed by this runner) already in git: the session is history. */
  recorded: boolean;
  /** Result of verifying approvals + approved policy + caps; undefined when not yet verified. */
  verified?: { ok: true } | { ok: false; reason: string };
  /** The marker, when one exists: the only evidence that counts for "once". */
  marker?: MarkerFacts;
}

/** What the marker says, and what this runner knows about its activation. */
export interface MarkerFacts {
  phase: MarkerPhase;
  /** Epoch ms; an active session ends at this instant. */
  expires?: number;
  /** The marker was written by this runner (which is single-threaded: an `activating` one of ours is from before a restart). */
  mine?: boolean;
  /** Epoch ms the activation started. */
  started?: number;
  /** An `activating` marker older than this (ms) is taken to be a dead runner's. */
  staleAfterMs?: number;
  /** This process's activation of it failed at a step. */
  failed?: { step: string; code: string };
}

export interface Transition {
  state: SessionState;
  reason: string;
  /** What the runner should do about it now. */
  action: 'none' | 'activate' | 'teardown' | 'resume-teardown' | 'rollback';
}

/** Decides a session's state and next action from facts and `now` (epoch ms). */
export function decide(f: SessionFacts, now: number): Transition {
  const m = f.marker;
  if (m) return fromMarker(m, f, now);
  // No marker: nothing was ever minted for this id by any runner.
  if (f.recorded) return { state: 'ended', reason: 'a record is in git', action: 'none' };
  if (!f.requestValid) return { state: 'failed', reason: 'request is missing or invalid', action: 'none' };
  if (f.rejected) return { state: 'ended', reason: 'rejected', action: 'none' };
  if (f.endRequested) return { state: 'ended', reason: 'ended before activation', action: 'none' };
  if (!f.verified) return { state: 'pending', reason: 'not yet verified', action: 'none' };
  if (!f.verified.ok) return { state: 'pending', reason: f.verified.reason, action: 'none' };
  return { state: 'approved', reason: 'approvals verified against the runner trust file', action: 'activate' };
}

function fromMarker(m: MarkerFacts, f: SessionFacts, now: number): Transition {
  // This process's activation failed (before delivery completed): roll back, whether or not it was marked active yet.
  if (m.failed && (m.phase === 'activating' || m.phase === 'active')) return { state: 'failed', reason: `activation failed at ${m.failed.step}: ${m.failed.code}`, action: 'rollback' };
  switch (m.phase) {
    case 'ended':
      return { state: 'ended', reason: 'torn down', action: 'none' };
    case 'failed':
      return { state: 'failed', reason: 'activation failed and was rolled back', action: 'none' };
    case 'activating':
      return fromActivating(m, now);
    case 'ending':
      return { state: 'ending', reason: 'teardown in progress', action: 'resume-teardown' };
    case 'active':
      if (f.endRequested) return { state: 'ending', reason: 'end requested', action: 'teardown' };
      if (m.expires !== undefined && m.expires <= now) return { state: 'ending', reason: 'expired', action: 'teardown' };
      return { state: 'active', reason: 'within its time box', action: 'none' };
  }
}

/**
 * A marker in "activating": a failed activation, or a runner that died
 * mid-assembly. Never resumed (the credential may or may not have been
 * delivered): rolled back, so a session id is never delivered twice. Another
 * runner's activation in progress is left alone until it goes stale.
 */
function fromActivating(m: MarkerFacts, now: number): Transition {
  if (m.mine) return { state: 'failed', reason: 'activation was interrupted', action: 'rollback' };
  if (m.started === undefined || m.staleAfterMs === undefined || now - m.started > m.staleAfterMs) return { state: 'failed', reason: 'activation went stale', action: 'rollback' };
  return { state: 'activating', reason: 'another runner is activating it', action: 'none' };
}

/**
 * The marker phase changes the actions make, and nothing else: activation
 * writes activating, then active; a rollback writes failed (from active too:
 * an activation that fails at delivery); a teardown
 * writes ending, then ended. A phase may be rewritten with itself (path
 * events, the delivery reference). "ended" and "failed" are final.
 */
const NEXT: Record<MarkerPhase, readonly MarkerPhase[]> = {
  activating: ['activating', 'active', 'failed'],
  active: ['active', 'ending', 'failed'],
  ending: ['ending', 'ended'],
  ended: [],
  failed: [],
};

/** Whether a marker may go from `from` to `to`; `from` undefined is a new marker. */
export function phaseChangeAllowed(from: MarkerPhase | undefined, to: MarkerPhase): boolean {
  return from === undefined ? to === 'activating' : NEXT[from].includes(to);
}
