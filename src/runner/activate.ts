/**
 * Activation, in a fixed order: marker (atomic, before anything is minted),
 * network path, credential, seal, mark active, deliver. Any failure rolls back
 * everything created and records a failed session; nothing is delivered.
 */
import { randomBytes } from 'node:crypto';
import { formatDuration, formatTime } from '../core/duration.js';
import { runnerFacts, type SessionFacts } from '../core/notify-message.js';
import { planSession, unplannedObjects, type SessionPlan } from '../core/plan.js';
import { BreakglassError } from '../core/errors.js';
import type { FileSource } from '../core/repository.js';
import { decide } from '../core/session-state.js';
import type { VerifiedSession } from '../core/verify-session.js';
import { sealTo } from '../crypto/openpgp.js';
import type { RunnerDeps, Target } from './context.js';
import { StepError } from './context.js';
import { issue } from './credentials.js';
import { recipientKey, seal, type DeliveryBinding } from './delivery.js';
import { markerFactsOf, type Marker, type MarkerState } from './marker.js';
import { manifestForPlan, networkProvider } from './providers/index.js';
import type { ObjectRef } from './providers/types.js';
import { providerSetup, rollback } from './teardown.js';

/** Everything activation needs: the verified session and the commit (and its files) it was verified at. */
export interface Approved {
  session: VerifiedSession;
  commit: string;
  source: FileSource;
}

/**
 * The plan for a verified session, with the runner's caps applied: what it
 * gathers (the path's settings, the approved manifest's namespace, the
 * command, the gateway, where markers and claims live) is handed to the pure
 * `planSession`, which names every object.
 */
export async function planFor(d: RunnerDeps, target: Target, a: Approved, now: number): Promise<SessionPlan> {
  const { request, governing, approvals } = a.session;
  const pin = governing.resource.networkPolicy;
  const manifest = request.spec.network === 'networkpolicy' && pin ? await manifestForPlan({ pin, source: a.source }) : undefined;
  return planSession({
    request,
    type: governing.resource.type,
    approvedDurations: approvals.map((x) => x.duration),
    policyMaxDuration: governing.resource.maxDuration,
    runnerCap: d.config.caps.maxDuration,
    namespace: target.namespace,
    now,
    path: { tailscale: target.config.tailscale, twingate: target.config.twingate, manifest },
    command: governing.command,
    gateway: target.gateway?.url,
    markers: target.markers.location,
    claims: d.claims?.location,
  });
}

/** Refuses what was made outside the plan: thrown inside a step, so the session is rolled back and nothing is delivered. */
function checkPlanned(plan: SessionPlan, created: readonly ObjectRef[]): void {
  const extra = unplannedObjects(plan, created);
  if (extra.length) throw new BreakglassError('PLAN_MISMATCH', `created ${extra.join(', ')}, which the plan of session ${plan.session} does not name; rolled back`);
}

function initialState(d: RunnerDeps, a: Approved, now: number): MarkerState {
  const v = a.session;
  const g = v.governing;
  const cmd = v.request.spec.command;
  return {
    type: g.resource.type,
    // Kept for revoke at teardown: exactly the approved definition and inputs, readable after a restart.
    command: g.command && cmd ? { def: g.command, inputs: cmd.inputs } : undefined,
    // The folder's id (verify refuses a request whose metadata.id differs): the id is one thing everywhere.
    session: v.id,
    phase: 'activating',
    runner: d.runnerId,
    started: formatTime(now),
    commit: a.commit,
    repository: d.config.repository.name,
    requestDigest: v.requestDigest,
    resource: v.request.spec.resource,
    network: v.request.spec.network,
    approvals: v.approvals.map((x) => ({ approver: x.approver, fingerprint: x.keyId, file: x.fileDigest })),
    policy: { name: v.policy.name, digest: v.policy.digest },
    objects: [],
  };
}

/** What every notification about this session repeats: the request's facts, k of n, and where it came from. */
function factsFor(d: RunnerDeps, a: Approved, plan: SessionPlan): SessionFacts {
  const r = a.session.request;
  return runnerFacts({
    session: plan.session,
    resource: r.spec.resource,
    privilege: r.spec.privilege,
    duration: `${r.spec.duration} requested; ${formatDuration(plan.effectiveSeconds)} effective`,
    requester: r.metadata.requester,
    reason: r.spec.reason,
    approvals: { have: a.session.approvals.length, need: a.session.governing.policy.spec.approvals.required },
    repository: d.config.repository.name,
    commit: a.commit,
  });
}

/** Activates one session; returns false when another runner already owns it. */
export async function activate(d: RunnerDeps, target: Target, a: Approved): Promise<boolean> {
  const now = d.now();
  const plan = await planFor(d, target, a, now);
  const state = initialState(d, a, now);
  // The installation-wide claim first: an id claimed for another resource or request never activates, on any resource.
  const refused = d.claims
    ? await d.claims.claim({ session: state.session, resource: target.resource, requestDigest: state.requestDigest, runner: d.runnerId, commit: a.commit })
    : 'SESSION_CLAIMED: this runner has no claim store (set claims: in its config); nothing activates without one';
  if (refused)
    return (
      d.log(`session ${state.session}: refused: ${refused}`, { session: state.session, event: 'refused', code: refused.startsWith('CLAIM_INVALID') ? 'CLAIM_INVALID' : 'SESSION_CLAIMED' }), false
    );
  // Then the marker: if it exists, someone activated (or is activating) this id on this resource. Never again.
  const marker = await target.markers.create(state);
  if (!marker) return false;
  d.log(`session ${plan.session}: marker created; effective duration ${plan.effectiveSeconds}s (limited by ${plan.limitedBy})`);
  await d.notifier?.remember(factsFor(d, a, plan));
  const created: ObjectRef[] = [];
  let step = 'marker';
  const at = async (name: string) => ((step = name), d.afterStep(name));
  try {
    await at('marker');
    const expires = await assemble(d, target, a, plan, marker, state, created, at);
    d.metrics?.activations.inc({ type: plan.type });
    d.metrics?.activationSeconds.observe((d.now() - now) / 1000);
    // Queued only (a file in the state directory): sending happens after the loop, never in activation's way.
    await d.notifier?.activated(plan.session, expires);
    return true;
  } catch (e) {
    const err = e instanceof StepError ? e : new StepError(step, e);
    d.metrics?.failures.inc({ step: err.step, code: err.code });
    d.log(`session ${plan.session}: activation failed at ${err.step}: ${err.message}; rolling back (${err.code})`, {
      session: plan.session,
      event: 'activation-failed',
      code: err.code,
      level: 'error',
    });
    const current = (await target.markers.get(plan.session)) ?? marker;
    // The state machine decides, as for every transition: a failed activation is rolled back unless
    // the marker has moved on meanwhile (then whoever moved it owns what happens next).
    const facts = { ...markerFactsOf(current.state, d), failed: { step: err.step, code: err.code } };
    const tr = decide({ requestValid: true, rejected: false, endRequested: false, recorded: false, marker: facts }, d.now());
    if (tr.action === 'rollback') await rollback(d, target, current, { step: err.step, code: err.code, message: err.message }, created);
    else d.log(`session ${plan.session}: not rolled back: ${tr.state}: ${tr.reason}`, { session: plan.session, event: 'activation-failed', code: err.code });
    return true;
  }
}

/** What the signed delivery is bound to: this session, these request bytes, this commit, repository, recipient and runner. */
function bindingFor(d: RunnerDeps, a: Approved, recipient: string): DeliveryBinding {
  return {
    session: a.session.id,
    request: a.session.requestDigest,
    commit: a.commit,
    repository: d.config.repository.name,
    recipient: recipient.toUpperCase(),
    runner: d.fingerprint,
    sealed: formatTime(d.now()),
  };
}

/** Runs `fn`, tagging any failure with `step` for the record. */
async function inStep<T>(step: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof StepError ? e : new StepError(step, e);
  }
}

/** Assembles the session; returns its effective expiry. */
async function assemble(d: RunnerDeps, target: Target, a: Approved, plan: SessionPlan, marker: Marker, state: MarkerState, created: ObjectRef[], at: (s: string) => Promise<void>): Promise<string> {
  const g = a.session.governing;
  // Built before anything is created: an unconfigured path, or a manifest whose bytes are not the pinned ones, fails here with nothing made.
  const provider = await inStep('network', () => networkProvider(plan.network, providerSetup(d, target, { pin: g.resource.networkPolicy, source: a.source })));
  // The recipient key is resolved before anything is minted: no key, no credential. Vendor-held delivers nothing.
  const recipient = plan.type === 'vendor-held' ? undefined : await inStep('recipient', () => recipientKey(plan.recipient, d.config.recipientKeys, a.source));
  await inStep('network', async () => {
    created.push(...(await provider.create(plan)));
    checkPlanned(plan, created);
  });
  await at('network');
  const issued = await inStep('credential', async () => {
    const out = await issue(d, target, plan, state, created, at, g.resource.deny);
    checkPlanned(plan, created);
    return out;
  });
  if (issued.payload && !recipient)
    throw new StepError('recipient', new BreakglassError('RECIPIENT_KEY_UNUSABLE', `session ${plan.session}: a credential was made, but no recipient key was resolved to seal it to`));
  const sealed = issued.payload && recipient && (await seal(issued.payload, recipient, d, bindingFor(d, a, plan.recipient)));
  await at('sealed');
  const delivery: NonNullable<MarkerState['delivery']> = sealed ? { channel: d.channel.name, tag: randomBytes(16).toString('hex') } : { channel: 'none' };
  // Marked active BEFORE delivery: a crash after this point ends the session on
  // its clock; a crash before it rolls back. Either way, never delivered twice.
  const active: MarkerState = {
    ...state,
    phase: 'active',
    activated: formatTime(d.now()),
    expires: issued.expires,
    objects: [...created],
    credentialSha256: issued.sha256,
    sealedToken: issued.token && (await sealTo(d.publicKey, new TextEncoder().encode(issued.token))),
    gateway: issued.gateway,
    delivery,
  };
  const activeMarker = await target.markers.update(marker, active);
  await at('active');
  if (!sealed) {
    d.log(`session ${plan.session}: network path ${plan.network} open; the credential is vendor-held, nothing delivered; expires ${issued.expires}`, { session: plan.session, event: 'activated' });
    return issued.expires;
  }
  const ref = await d.channel.deliver(plan.session, sealed, a.commit, delivery.tag);
  // Remembered so teardown withdraws exactly this delivery (without it, the channel looks for the tag).
  await target.markers.update(activeMarker, { ...active, delivery: { ...delivery, ref } });
  d.log(`session ${plan.session}: credential delivered, sealed to ${plan.recipient}; expires ${issued.expires}`, { session: plan.session, event: 'activated' });
  await at('delivered');
  return issued.expires;
}
