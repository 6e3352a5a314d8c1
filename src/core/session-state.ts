/**
 * The session lifecycle as a pure state machine. The runner feeds it facts it
 * has read (git files, the marker in the cluster, the clock) and gets back the
 * state and the reason for it, so every transition is explainable in a log
 * line and a record. It never reads anything itself.
 */

/** Where a session is in its life. */
export type SessionState = 'pending' | 'approved' | 'active' | 'ending' | 'ended' | 'failed';

/** The phase written on the per-session marker object. */
export type MarkerPhase = 'activating' | 'active' | 'ending' | 'ended' | 'failed';

/** What the runner knows about one session at one instant. */
export interface SessionFacts {
  /** Request parsed and schema-valid. */
  requestValid: boolean;
  rejected: boolean;
  /** `end.yaml` present in git (anyone may end; ending only takes access away). */
  endRequested: boolean;
  /** A runner record already in git: the session is history. */
  recorded: boolean;
  /** Result of verifying approvals + approved policy + caps; undefined when not yet verified. */
  verified?: { ok: true } | { ok: false; reason: string };
  /** The marker, when one exists: the only evidence that counts for "once". */
  marker?: { phase: MarkerPhase; expires?: number };
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

function fromMarker(m: NonNullable<SessionFacts['marker']>, f: SessionFacts, now: number): Transition {
  switch (m.phase) {
    case 'ended':
      return { state: 'ended', reason: 'torn down', action: 'none' };
    case 'failed':
      return { state: 'failed', reason: 'activation failed and was rolled back', action: 'none' };
    case 'activating':
      // A marker left in "activating" means a runner died mid-assembly. Never
      // resume it (the credential may or may not have been delivered): roll
      // back, so a session id is never delivered twice.
      return { state: 'failed', reason: 'activation was interrupted', action: 'rollback' };
    case 'ending':
      return { state: 'ending', reason: 'teardown in progress', action: 'resume-teardown' };
    case 'active':
      if (f.endRequested) return { state: 'ending', reason: 'end requested', action: 'teardown' };
      if (m.expires !== undefined && m.expires <= now) return { state: 'ending', reason: 'expired', action: 'teardown' };
      return { state: 'active', reason: 'within its time box', action: 'none' };
  }
}
