/**
 * Ending a session, in a fixed order: claim (marker active -> ending, a
 * compare-and-swap so two replicas never both tear down), delete everything
 * labelled with the session (404 is success), verify it is gone, prove the
 * token is refused, mark ended, queue the signed record. Every step is
 * idempotent: an interrupted teardown is resumed by the next loop.
 */
import { formatTime } from '../core/duration.js';
import { unseal } from '../crypto/openpgp.js';
import type { RunnerDeps, Target } from './context.js';
import type { Marker, MarkerState } from './marker.js';
import { credentialGone, proveRevoked, teardownCredential } from './providers/kubernetes-token.js';
import { networkProvider } from './providers/index.js';
import type { ObjectRef } from './providers/types.js';
import { buildRecord, queueRecord, type Ending } from './records.js';
import type { Network } from '../core/schemas.js';

async function removeAll(d: RunnerDeps, t: Target, s: MarkerState, extra: readonly ObjectRef[]): Promise<ObjectRef[]> {
  const ctx = { kube: t.kube, namespace: t.namespace };
  const provider = networkProvider(s.network as Network);
  const objects = [...s.objects, ...extra.filter((o) => !s.objects.some((x) => x.kind === o.kind && x.name === o.name && x.namespace === o.namespace))];
  await provider?.teardown(s.session, objects, ctx);
  await teardownCredential(t.kube, t.namespace, s.session);
  // Verify, not assume: list by label again; anything left fails this teardown (retried next loop).
  if (!(await credentialGone(t.kube, t.namespace, s.session)) || (provider && !(await provider.verifyGone(s.session, ctx)))) {
    throw new Error(`objects of session ${s.session} remain after deletion`);
  }
  return objects;
}

async function revocation(d: RunnerDeps, t: Target, s: MarkerState): Promise<Ending['revocation']> {
  if (!s.sealedToken) return undefined;
  let token: string;
  try {
    token = new TextDecoder().decode(await unseal(d.signingKey, s.sealedToken));
  } catch (e) {
    // The runner key changed since activation: the token cannot be reviewed, but its
    // ServiceAccount was verified gone, which revokes it. Record exactly that, and finish.
    d.log(`session ${s.session}: sealed token unreadable (${(e as Error).message}); recording ServiceAccount deletion as the proof`);
    return { method: 'ServiceAccount deleted', result: 'serviceaccount-absent', at: formatTime(d.now()) };
  }
  const proof = await proveRevoked(t.kube, token, { attempts: d.revocationAttempts, delay: d.delay });
  if (proof.result !== 'unauthenticated') throw new Error(`token of session ${s.session} is still accepted after ${proof.attempts} TokenReviews`);
  return { ...proof, at: formatTime(d.now()) };
}

async function finish(d: RunnerDeps, t: Target, marker: Marker, s: MarkerState, ending: Ending): Promise<void> {
  await t.markers.update(marker, { ...s, phase: ending.outcome });
  await queueRecord(d.config.state, buildRecord(s, ending, { id: d.runnerId, fingerprint: d.fingerprint }, d.config.rehearsal === true), d.signingKey);
  d.log(`session ${s.session}: ${ending.outcome} (${ending.endReason}); record queued`);
}

/** Claims and tears down an active session. Returns false when another replica claimed it first. */
export async function teardown(d: RunnerDeps, t: Target, marker: Marker, reason: string): Promise<boolean> {
  let m = marker;
  if (m.state.phase === 'active') {
    try {
      m = await t.markers.update(m, { ...m.state, phase: 'ending', endReason: reason });
    } catch (e) {
      if ((e as { code?: string }).code === 'KUBE_CONFLICT') return false;
      throw e;
    }
  }
  const s = m.state;
  d.log(`session ${s.session}: tearing down (${s.endReason ?? reason})`);
  const deleted = await removeAll(d, t, s, []);
  const proof = await revocation(d, t, s);
  // The credential is dead now; remove the ciphertext too, so nothing lingers in the channel.
  if (s.delivery && s.delivery.channel === d.channel.name) await d.channel.withdraw(s.session, s.commit, s.delivery.ref);
  const now = formatTime(d.now());
  await finish(d, t, m, s, { outcome: 'ended', ended: now, endReason: s.endReason ?? reason, teardown: { deleted, completed: now, errors: [] }, revocation: proof });
  return true;
}

/**
 * Rolls back a failed or interrupted activation: deletes whatever carries the
 * session's label (found by selector, so a crash that forgot its list still
 * leaves nothing), marks the marker failed and records why. Never delivers.
 */
export async function rollback(d: RunnerDeps, t: Target, marker: Marker, failure: NonNullable<MarkerState['failure']>, created: readonly ObjectRef[]): Promise<void> {
  const s: MarkerState = { ...marker.state, failure };
  const deleted = await removeAll(d, t, s, created);
  const now = formatTime(d.now());
  // The objects that existed are part of the story even though nothing was delivered.
  const withObjects = { ...s, objects: deleted, credentialSha256: undefined, delivery: undefined };
  await finish(d, t, marker, withObjects, { outcome: 'failed', ended: now, endReason: `activation failed at ${failure.step}: ${failure.code}`, teardown: { deleted, completed: now, errors: [] } });
}
