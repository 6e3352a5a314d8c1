/**
 * Checks on a runner record's own claims: who signed it, whether it was
 * rewritten, and whether what it says happened stayed inside the bounds
 * (duration, end request, teardown, revocation). Each check returns findings
 * and says what it does not check.
 */
import { fingerprints, verifyDetached } from '../crypto/openpgp.js';
import { loadDocument } from './document.js';
import { parseDuration, parseTime, timeMs } from './duration.js';
import { VerificationFailure } from './reasons.js';
import type { Record } from './schemas.js';
import type { HistoryIndex } from './audit-history.js';
import type { AuditFinding, AuditOptions, AuditTrust } from './audit-types.js';

/** A record as first committed on the chain. */
export interface FoundRecord {
  /** Chain index of the commit that added it. */
  at: number;
  path: string;
  bytes: Uint8Array;
  signature?: Uint8Array;
}

/** The record's signature must verify with the trust file's runner key, as of when the record was committed. */
export async function checkRecordSignature(bytes: Uint8Array, signature: Uint8Array | undefined, trust: AuditTrust, when: number): Promise<string | undefined> {
  // A record is the runner's testimony; without the runner's signature it is anyone's claim.
  if (!signature) return 'record.yaml has no record.yaml.asc beside it';
  try {
    await verifyDetached(bytes, signature, trust.runner, new Date(when));
    return undefined;
  } catch (e) {
    if (e instanceof VerificationFailure) return `${e.code}: ${e.message} (the runner key${trust.runner.length > 1 ? 's are' : ' is'} ${fingerprints(trust.runner)})`;
    throw e;
  }
}

/** Parses the record; undefined with a finding when it cannot be read or names another session. */
export function parseRecord(id: string, found: FoundRecord, commit: string, out: AuditFinding[]): Record | undefined {
  const loaded = loadDocument(found.path, found.bytes, 'Record');
  if (!loaded.ok) {
    out.push({ code: 'RECORD_INVALID', session: id, commit, file: found.path, message: `record is not a valid Record: ${loaded.findings.map((f) => `${f.code} ${f.message}`).join('; ')}` });
    return undefined;
  }
  if (loaded.value.session !== id) {
    out.push({ code: 'RECORD_INVALID', session: id, commit, file: found.path, message: `record is for session ${loaded.value.session}, but it sits in sessions/${id}/` });
    return undefined;
  }
  return loaded.value;
}

/** Records are written once: any later version with different bytes is a rewrite. Deleting a session folder is allowed. */
export function checkRecordUnchanged(id: string, found: FoundRecord, idx: HistoryIndex): AuditFinding[] {
  const later = idx.versionsOf(found.path).filter((v) => v.at > found.at && v.bytes && Buffer.compare(Buffer.from(v.bytes), Buffer.from(found.bytes)) !== 0);
  return later.map((v) => ({
    code: 'RECORD_CHANGED' as const,
    session: id,
    commit: idx.commit(v.at).oid,
    file: found.path,
    message: `record.yaml was changed after the runner committed it at ${idx.commit(found.at).oid.slice(0, 12)}; records are written once, so the audit judges the first version`,
  }));
}

function ms(t: string | undefined): number | undefined {
  return t === undefined ? undefined : parseTime(t);
}

/** Active time and planned expiry must stay within the effective duration (plus the poll interval and tolerance for the end). */
export function checkDuration(id: string, r: Record, effective: string | undefined, commit: string, o: AuditOptions): AuditFinding[] {
  const activated = ms(r.activated);
  const seconds = effective === undefined ? undefined : parseDuration(effective);
  if (activated === undefined || seconds === undefined) return [];
  const out: AuditFinding[] = [];
  const slack = (o.pollSeconds + o.toleranceSeconds) * 1000;
  const activeMs = timeMs(r.ended) - activated;
  if (activeMs > seconds * 1000 + slack) {
    out.push({
      code: 'DURATION_EXCEEDED',
      session: id,
      commit,
      message: `active ${Math.round(activeMs / 1000)}s (${r.activated} to ${r.ended}), longer than the approved ${effective} plus ${o.pollSeconds + o.toleranceSeconds}s for noticing and teardown`,
    });
  }
  const expires = ms(r.expires);
  // The planned expiry is written at activation: it may only be shorter than approved, never later (no slack).
  if (expires !== undefined && expires > activated + seconds * 1000 + 1000) {
    out.push({ code: 'DURATION_EXCEEDED', session: id, commit, message: `the record's expiry ${r.expires} is more than ${effective} after activation at ${r.activated}` });
  }
  return out;
}

/** An end request must be honoured within one poll interval (plus tolerance) of its commit reaching the branch. */
export function checkEnd(id: string, r: Record, end: { at: number; time: number; commit: string } | undefined, activationAt: number, o: AuditOptions): AuditFinding[] {
  if (!end || r.activated === undefined) return [];
  if (end.at <= activationAt) {
    return [
      {
        code: 'END_NOT_HONOURED',
        session: id,
        commit: end.commit,
        message: `end.yaml was on the branch at ${end.commit.slice(0, 12)}, before the activation commit, yet the session was activated at ${r.activated}`,
      },
    ];
  }
  const ended = timeMs(r.ended);
  const from = Math.max(end.time, timeMs(r.activated));
  const limit = from + (o.pollSeconds + o.toleranceSeconds) * 1000;
  if (ended <= limit) return [];
  const late = Math.round((ended - from) / 1000);
  return [
    {
      code: 'END_NOT_HONOURED',
      session: id,
      commit: end.commit,
      message: `end requested at ${new Date(end.time).toISOString()} (commit ${end.commit.slice(0, 12)}), but the session ended ${late}s later at ${r.ended}; allowed: poll interval ${o.pollSeconds}s + ${o.toleranceSeconds}s`,
    },
  ];
}

type Ref = { kind: string; namespace?: string; name: string };
const same = (a: Ref, b: Ref) => a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');

/** Everything created must be in what teardown deleted, and teardown must have completed without errors. */
export function checkTeardown(id: string, r: Record, commit: string): AuditFinding[] {
  const t = r.teardown;
  if (!t) {
    if (r.objects.length === 0 && r.activated === undefined) return [];
    return [{ code: 'TEARDOWN_INCOMPLETE', session: id, commit, message: `the record has no teardown section, yet ${r.objects.length} object(s) were created` }];
  }
  const left = r.objects.filter((o) => !t.deleted.some((d) => same(o, d)));
  const out: AuditFinding[] = [];
  if (left.length)
    out.push({ code: 'TEARDOWN_INCOMPLETE', session: id, commit, message: `created but not deleted: ${left.map((o) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`).join(', ')}` });
  if (t.errors.length) out.push({ code: 'TEARDOWN_INCOMPLETE', session: id, commit, message: `teardown reported errors: ${t.errors.join('; ')}` });
  return out;
}

/**
 * Results that prove a credential no longer works: a TokenReview that came back
 * unauthenticated, or — when the runner could not read the sealed token back
 * after a key change — its ServiceAccount verified deleted, which revokes every
 * token bound to it. For a command credential, the approved `revoke` command
 * ran and succeeded (the only proof a script can give; nothing else counts for
 * it, and it counts for nothing else). Any other result is not a proof (fail closed).
 */
function proven(r: Record): boolean {
  const result = r.revocation?.result;
  if (r.credential?.kind === 'command') return r.revocation?.method === 'command' && result === 'revoked';
  if (result === 'unauthenticated') return true;
  return result === 'serviceaccount-absent' && !!r.teardown?.deleted.some((o) => o.kind === 'ServiceAccount');
}

/** A delivered credential must have a revocation proof whose result says it is refused. */
export function checkRevocation(id: string, r: Record, commit: string): AuditFinding[] {
  if (!r.credential || r.credential.kind === 'none' || r.outcome !== 'ended') return [];
  if (!r.revocation) return [{ code: 'REVOCATION_UNPROVEN', session: id, commit, message: `a ${r.credential.kind} credential was delivered, but the record has no revocation proof` }];
  if (!proven(r)) {
    return [
      {
        code: 'REVOCATION_UNPROVEN',
        session: id,
        commit,
        message: `revocation by ${r.revocation.method} returned "${r.revocation.result}": not a TokenReview that came back unauthenticated, a deleted ServiceAccount, nor a revoke command that succeeded; the credential was not proven dead`,
      },
    ];
  }
  return [];
}
