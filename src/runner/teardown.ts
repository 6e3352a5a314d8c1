/**
 * Ending a session, in a fixed order: claim (marker active -> ending, a
 * compare-and-swap so two replicas never both tear down), delete everything
 * labelled with the session (404 is success), verify it is gone, prove the
 * token is refused, mark ended, queue the signed record. Every step is
 * idempotent: an interrupted teardown is resumed by the next loop.
 */
import { formatTime } from '../core/duration.js';
import { BreakglassError } from '../core/errors.js';
import { unseal } from '../crypto/openpgp.js';
import type { RunnerDeps, Target } from './context.js';
import { revokeIssued } from './credentials.js';
import type { Marker, MarkerState } from './marker.js';
import { listProviderObjects, NETWORK_KINDS, PROVIDER_KINDS, sweepSession } from './owned.js';
import { credentialGone, proveRevoked, teardownCredential } from './providers/kubernetes-token.js';
import { networkProvider, type ProviderSetup } from './providers/index.js';
import type { NetworkProvider, ObjectRef } from './providers/types.js';
import { buildRecord, queueRecord, type Ending } from './records.js';
import { dropRecording, gatherRecording } from './recording.js';
import type { Transition } from '../core/session-state.js';
import { markerFacts } from './notify.js';
import { codeOf, messageOf } from '../crypto/error-parts.js';

/** What building this target's providers takes; `approved` (manifest pin and files) only at activation. */
export function providerSetup(d: RunnerDeps, t: Target, approved?: ProviderSetup['approved']): ProviderSetup {
  return { config: t.config, raw: t.raw, namespace: t.namespace, env: d.env, http: d.http, approved };
}

const sameRef = (a: ObjectRef, b: ObjectRef) => a.kind === b.kind && a.name === b.name && a.namespace === b.namespace;
const union = (a: readonly ObjectRef[], b: readonly ObjectRef[]) => [...a, ...b.filter((o) => !a.some((x) => sameRef(x, o)))];
/** Kinds that live in the cluster: a label sweep finds them without the provider. */
const CLUSTER_KINDS = new Set(['Deployment', 'Secret', 'NetworkPolicy', 'ServiceAccount', 'ClusterRoleBinding', 'RoleBinding', 'Role']);

/**
 * The session's network provider, built from the runner config and the marker
 * alone. If it can no longer be built (its config section was removed), a label
 * sweep still removes the cluster objects; objects held by an outside API
 * (a Tailscale key, a Twingate connector) then cannot be removed, and the
 * teardown fails loudly instead of claiming they are gone.
 */
async function teardownProvider(d: RunnerDeps, t: Target, s: MarkerState, objects: readonly ObjectRef[]): Promise<NetworkProvider | undefined> {
  try {
    return await networkProvider(s.network, providerSetup(d, t));
  } catch (e) {
    const outside = objects.filter((o) => !CLUSTER_KINDS.has(o.kind));
    if (outside.length) throw new BreakglassError('TEARDOWN_INCOMPLETE', `cannot remove ${outside.map((o) => `${o.kind} ${o.name}`).join(', ')} of session ${s.session}: ${messageOf(e)}`);
    d.log(`session ${s.session}: ${messageOf(e)}; removing its cluster objects by label`);
    return undefined;
  }
}

async function removeAll(d: RunnerDeps, t: Target, s: MarkerState, extra: readonly ObjectRef[]): Promise<ObjectRef[]> {
  const objects = union(s.objects, extra);
  const provider = await teardownProvider(d, t, s, objects);
  const gone = [...((await provider?.teardown(s.session, objects)) ?? [])];
  // A `markers: file` resource has no cluster: nothing was created in one, nothing to sweep.
  if (t.clusterless) {
    if (provider && !(await provider.verifyGone(s.session))) throw new BreakglassError('TEARDOWN_INCOMPLETE', `objects of session ${s.session} remain after deletion`);
    return union(objects, gone);
  }
  gone.push(...(await teardownCredential(t.kube, t.namespace, s.session)));
  // Belt and braces: anything else of the path's kinds still labelled with the session (a crash forgot its reference).
  const kinds = NETWORK_KINDS[s.network] ?? PROVIDER_KINDS;
  gone.push(...(await sweepSession(t.raw, t.namespace, s.session, kinds)));
  // Verify, not assume: list by label again; anything left fails this teardown (retried next loop).
  const left = !(await credentialGone(t.kube, t.namespace, s.session)) || (await listProviderObjects(t.raw, t.namespace, s.session, kinds)).length > 0;
  if (left || (provider && !(await provider.verifyGone(s.session)))) throw new BreakglassError('TEARDOWN_INCOMPLETE', `objects of session ${s.session} remain after deletion`);
  return union(objects, gone);
}

async function revocation(d: RunnerDeps, t: Target, s: MarkerState): Promise<Ending['revocation']> {
  // A command credential: the approved `revoke` argv; a failure throws, and teardown is retried next loop.
  const revoked = await revokeIssued(d, s);
  if (revoked) return { ...revoked, at: formatTime(d.now()) };
  if (!s.sealedToken) return undefined;
  let token: string;
  try {
    token = new TextDecoder().decode(await unseal(d.signingKey, s.sealedToken));
  } catch (e) {
    // The runner key changed since activation: the token cannot be reviewed, but its
    // ServiceAccount was verified gone, which revokes it. Record exactly that, and finish.
    d.log(`session ${s.session}: sealed token unreadable (${messageOf(e)}); recording ServiceAccount deletion as the proof`);
    return { method: 'ServiceAccount deleted', result: 'serviceaccount-absent', at: formatTime(d.now()) };
  }
  const proof = await proveRevoked(t.kube, token, { attempts: d.revocationAttempts, delay: d.delay });
  if (proof.result !== 'unauthenticated') throw new BreakglassError('REVOCATION_UNPROVEN', `token of session ${s.session} is still accepted after ${proof.attempts} TokenReviews`);
  return { ...proof, at: formatTime(d.now()) };
}

async function finish(d: RunnerDeps, t: Target, marker: Marker, s: MarkerState, ending: Ending, files?: Map<string, Uint8Array>): Promise<void> {
  await t.markers.update(marker, { ...s, phase: ending.outcome });
  await queueRecord(d.config.state, buildRecord(s, ending, { id: d.runnerId, fingerprint: d.fingerprint }, d.config.rehearsal === true), d.signingKey, files);
  d.metrics?.ended.inc({ outcome: ending.outcome });
  d.log(`session ${s.session}: ${ending.outcome} (${ending.endReason}); record queued`, { session: s.session, event: ending.outcome, code: s.failure?.code });
  await notifyEnding(d, s, ending);
}

/** Queues the session's last notifications, after its record: `revoked` with the proof and `ended`, or `failed` with its code. */
async function notifyEnding(d: RunnerDeps, s: MarkerState, ending: Ending): Promise<void> {
  const n = d.notifier;
  if (!n) return;
  const fallback = markerFacts(s);
  if (ending.outcome === 'ended') {
    const r = ending.revocation;
    await n.emit('revoked', s.session, { proof: r ? { method: r.method, result: r.result, attempts: r.attempts } : undefined }, { fallback });
    await n.emit('ended', s.session, { endReason: ending.endReason, expires: s.expires }, { fallback });
  } else {
    await n.emit('failed', s.session, { code: s.failure?.code ?? 'SESSION_STEP_FAILED', step: s.failure?.step, endReason: ending.endReason }, { fallback });
  }
  await n.forget(s.session);
}

/**
 * Tears down a session as decide() said: `teardown` claims an active one
 * first (active -> ending), `resume-teardown` goes on with one already
 * ending. Returns false when another replica claimed it first.
 */
export async function teardown(d: RunnerDeps, t: Target, marker: Marker, tr: Transition): Promise<boolean> {
  if (tr.action !== 'teardown' && tr.action !== 'resume-teardown') throw new BreakglassError('STATE_TRANSITION', `session ${marker.state.session}: ${tr.action} is not a teardown`);
  const reason = tr.reason;
  let m = marker;
  if (tr.action === 'teardown') {
    try {
      m = await t.markers.update(m, { ...m.state, phase: 'ending', endReason: reason });
    } catch (e) {
      if (codeOf(e) === 'KUBE_CONFLICT') return false;
      throw e;
    }
  }
  const s = m.state;
  // The gateway refuses the credential now, before anything else: the marker is already `ending`
  // (other replicas see that within a second), and this process stops it at once, cutting its streams.
  if (s.gateway) await d.gateway?.end(s.session);
  d.log(`session ${s.session}: tearing down (${s.endReason ?? reason})`, { session: s.session, event: 'teardown' });
  const started = d.now();
  const deleted = await removeAll(d, t, s, []);
  const proof = await revocation(d, t, s);
  d.metrics?.revocationSeconds.observe((d.now() - started) / 1000);
  // The credential is dead now; remove the ciphertext too, so nothing lingers in the channel.
  if (s.delivery && s.delivery.channel === d.channel.name) await d.channel.withdraw(s.session, s.commit, s.delivery.ref, s.delivery.tag);
  // Gathered after the revocation proof: by then every replica has seen the end and stored its last chunk.
  const recording = await gatherRecording(t, s);
  const now = formatTime(d.now());
  await finish(
    d,
    t,
    m,
    s,
    { outcome: 'ended', ended: now, endReason: s.endReason ?? reason, teardown: { deleted, completed: now, errors: [] }, revocation: proof, recording: recording?.summary },
    recording?.files,
  );
  await dropRecording(t, s);
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
  // A command may have made its credential before the failure (or the crash): nobody received
  // it, but it exists, so `revoke` runs unless assembly stopped before the command could run.
  const beforeCredential = ['marker', 'network', 'recipient'].includes(failure.step);
  const revoked = beforeCredential ? undefined : await revokeIssued(d, s);
  const now = formatTime(d.now());
  // The objects that existed are part of the story even though nothing was delivered.
  const withObjects = { ...s, objects: deleted, credentialSha256: undefined, delivery: undefined };
  const revocation = revoked && { ...revoked, at: now };
  await finish(d, t, marker, withObjects, {
    outcome: 'failed',
    ended: now,
    endReason: `activation failed at ${failure.step}: ${failure.code}`,
    teardown: { deleted, completed: now, errors: [] },
    revocation,
  });
}
