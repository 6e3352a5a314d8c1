/**
 * The per-session marker: a ConfigMap `bg-marker-<id>` in the runner's
 * namespace, created BEFORE anything is minted. Creation is atomic on the API
 * server (a second create of the same name fails with 409), so whichever
 * runner creates it owns the activation and every other replica — or this
 * runner after a crash, or after the git history was rewritten — sees it and
 * does not activate again. Markers are never deleted: "once" is forever.
 *
 * The marker also holds the session's durable state (phase, objects, expiry,
 * the credential's SHA-256, the token sealed to the runner's own key), so
 * teardown and the record survive a restart. It never holds a secret in clear.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Kube } from '../adapters/kubernetes.js';
import { BreakglassError } from '../core/errors.js';
import { MANAGED_BY, MARKER_LABEL, markerName, PHASE_LABEL, SESSION_LABEL, type StateLocation } from '../core/plan-objects.js';
import { DenyRule, Network, PolicyCommand, RESOURCE_TYPES, SessionId, Time } from '../core/schemas.js';
import { phaseChangeAllowed, type MarkerFacts, type MarkerPhase } from '../core/session-state.js';
import { parseTime } from '../core/duration.js';
import { readJson } from '../core/json.js';
import { codeOf } from '../crypto/error-parts.js';

export { MARKER_LABEL, markerName, PHASE_LABEL };
const MARKER_PHASES = ['activating', 'active', 'ending', 'ended', 'failed'] as const satisfies readonly MarkerPhase[];
export const OPEN_PHASES: readonly MarkerPhase[] = ['activating', 'active', 'ending'];

const PathEventSchema = z.object({ state: z.enum(['down', 'up']), code: z.string(), message: z.string(), at: z.string() });
/** A change in an open session's network path: down (with the provider's code) or restored. */
export type PathEvent = z.infer<typeof PathEventSchema>;

const ObjectRefSchema = z.object({ kind: z.string().min(1), apiVersion: z.string().optional(), namespace: z.string().optional(), name: z.string().min(1), provider: z.string().optional() });

/**
 * Everything the runner must remember about a session between loops and
 * restarts, as read back: what teardown, rollback and "once" rely on is
 * checked, so a marker someone edited by hand (or a torn write) is
 * MARKER_INVALID, never a half-read state. Keys it does not know are dropped
 * (not refused): a newer runner may add some.
 */
export const MarkerStateSchema = z
  .object({
    session: SessionId,
    phase: z.enum(MARKER_PHASES),
    /** The runner that created the marker. */
    runner: z.string(),
    started: Time,
    commit: z.string(),
    repository: z.string(),
    requestDigest: z.string(),
    resource: z.string(),
    network: Network,
    approvals: z.array(z.object({ approver: z.string(), fingerprint: z.string(), file: z.string() })),
    policy: z.object({ name: z.string(), digest: z.string() }),
    activated: Time.optional(),
    expires: Time.optional(),
    objects: z.array(ObjectRefSchema),
    /** The resource's type, which decides the credential (absent in markers written before command resources existed: kubernetes). */
    type: z.enum(RESOURCE_TYPES).optional(),
    /**
     * A command resource's approved command and inputs, copied at activation:
     * teardown (and a rollback after a crash) runs `revoke` from the marker
     * alone, exactly as approved, without re-reading git.
     */
    command: z.object({ def: PolicyCommand, inputs: z.record(z.string(), z.string()) }).optional(),
    credentialSha256: z.string().optional(),
    /** The token encrypted to the runner's own OpenPGP key, for the revocation proof after a restart. */
    sealedToken: z.string().optional(),
    /** `tag`: this delivery's random tag, written before delivering, so a crash that loses `ref` can still find it. */
    delivery: z.object({ channel: z.enum(['directory', 'github', 'none']), ref: z.string().optional(), tag: z.string().optional() }).optional(),
    /**
     * Recorded through the session gateway (issue 12): `credentialSha256` is then the gateway
     * credential's, the ServiceAccount token stays in `sealedToken` only, and `deny` are the
     * policy's guardrails and `runnerNamespaces` the namespaces holding runner state, copied at
     * activation so any replica enforces them from the marker alone.
     */
    gateway: z.object({ url: z.string(), deny: z.array(DenyRule), runnerNamespaces: z.array(z.string()) }).optional(),
    endReason: z.string().optional(),
    failure: z.object({ step: z.string(), code: z.string(), message: z.string() }).optional(),
    /** Changes of the network path while the session was open (issue 11). */
    path: z.array(PathEventSchema).optional(),
  })
  // An open session past activation without an expiry would never end on its clock: unreadable, not "open forever".
  .refine((s) => s.expires !== undefined || (s.phase !== 'active' && s.phase !== 'ending'), { message: 'an active or ending marker must have expires', path: ['expires'] });

/** Everything the runner must remember about a session between loops and restarts. */
export type MarkerState = z.output<typeof MarkerStateSchema>;

/**
 * Reads a marker's stored JSON. `where` names the ConfigMap or file for the
 * message; `session` is the id its name gives, which the content must repeat
 * (a marker copied under another session's name is not that session's).
 * Throws MARKER_INVALID.
 */
export function parseMarkerState(raw: string, session: string, where: string): MarkerState {
  const invalid = (why: string) =>
    new BreakglassError('MARKER_INVALID', `MARKER_INVALID: marker of session ${session} (${where}) ${why}; the runner neither activates nor tears down from it until it is repaired`);
  const r = readJson(MarkerStateSchema, raw);
  if (!r.ok) throw invalid(r.notJson ? r.why : `does not hold a session state: ${r.why}`);
  if (r.value.session !== session) throw invalid(`names session "${r.value.session}"`);
  return r.value;
}

/** A marker as read back: its state and the resourceVersion for optimistic updates. */
export interface Marker {
  state: MarkerState;
  resourceVersion: string;
}

function body(state: MarkerState, resourceVersion?: string): V1ConfigMap {
  return {
    metadata: {
      name: markerName(state.session),
      resourceVersion,
      labels: { [MANAGED_BY]: 'breakglass', [MARKER_LABEL]: 'true', [PHASE_LABEL]: state.phase, [SESSION_LABEL]: state.session },
    },
    data: { 'session.json': JSON.stringify(state) },
  };
}

const SESSION_OF_NAME = /^bg-marker-(.+)$/;

/** The session a marker ConfigMap is for, from its name (what the runner created it as), else its label. */
function sessionOf(cm: V1ConfigMap): string {
  return SESSION_OF_NAME.exec(cm.metadata?.name ?? '')?.[1] ?? cm.metadata?.labels?.[SESSION_LABEL] ?? '?';
}

function parse(cm: V1ConfigMap): Marker {
  const session = sessionOf(cm);
  const where = `ConfigMap ${cm.metadata?.namespace ?? '?'}/${cm.metadata?.name ?? '?'}`;
  const raw = cm.data?.['session.json'];
  if (!raw)
    throw new BreakglassError(
      'MARKER_INVALID',
      `MARKER_INVALID: marker of session ${session} (${where}) has no session.json; the runner neither activates nor tears down from it until it is repaired`,
    );
  const state = parseMarkerState(raw, session, where);
  // The label is what the open list selects by: one that disagrees with the content would hide an open session from teardown.
  const label = cm.metadata?.labels?.[PHASE_LABEL];
  if (label !== state.phase)
    throw new BreakglassError(
      'MARKER_INVALID',
      `MARKER_INVALID: marker of session ${session} (${where}) is labelled phase ${label ?? '(none)'} but holds ${state.phase}; the runner neither activates nor tears down from it until it is repaired`,
    );
  const resourceVersion = cm.metadata?.resourceVersion;
  if (!resourceVersion) throw new BreakglassError('MARKER_INVALID', `MARKER_INVALID: marker of session ${session} (${where}) came back without a resourceVersion`);
  return { state, resourceVersion };
}

/** A marker that could not be read: the session it names and why (MARKER_INVALID). */
export interface UnreadableMarker {
  session: string;
  error: BreakglassError;
}

/** The open markers of a resource, and those that could not be read (which may be open: nobody can tell). */
export interface OpenMarkers {
  markers: Marker[];
  unreadable: UnreadableMarker[];
}

/** Sorts read results into markers and MARKER_INVALID ones; any other error is thrown (the list itself failed). */
export function sortRead(results: readonly ({ session: string } & ({ marker: Marker } | { error: unknown }))[]): OpenMarkers {
  const out: OpenMarkers = { markers: [], unreadable: [] };
  for (const r of results) {
    if ('marker' in r) out.markers.push(r.marker);
    else if (r.error instanceof BreakglassError && r.error.code === 'MARKER_INVALID') out.unreadable.push({ session: r.session, error: r.error });
    else throw r.error;
  }
  return out;
}

/** Where a resource's markers live: a namespace of a cluster, or files in the state directory (file-markers.ts). */
export interface Markers {
  /** Where the markers are kept: what the session plan names. */
  readonly location: StateLocation;
  /** Creates the marker; undefined when it already exists (someone else owns this session). */
  create(state: MarkerState): Promise<Marker | undefined>;
  get(session: string): Promise<Marker | undefined>;
  /** Compare-and-swap: fails with KUBE_CONFLICT when another writer got there first. */
  update(marker: Marker, state: MarkerState): Promise<Marker>;
  /**
   * Markers of sessions that are not finished, and the markers that could not
   * be read (MARKER_INVALID): one unreadable marker never hides the others.
   */
  listOpen(): Promise<OpenMarkers>;
}

/** What decide() needs from a marker, as this runner sees it. */
export function markerFactsOf(s: MarkerState, runner: { runnerId: string; staleActivationMs: number }): MarkerFacts {
  return { phase: s.phase, expires: parseTime(s.expires ?? ''), mine: s.runner === runner.runnerId, started: parseTime(s.started), staleAfterMs: runner.staleActivationMs };
}

function refuse(from: MarkerPhase | undefined, to: MarkerPhase, session: string): BreakglassError {
  return new BreakglassError('STATE_TRANSITION', `marker of session ${session}: ${from ?? 'none'} -> ${to} is not a transition the session state machine makes; nothing written`);
}

/**
 * The store with every write checked against the state machine
 * (core/session-state.ts): a new marker is "activating", and a phase only
 * moves as decide()'s actions move it. A bug that takes a transition of its
 * own (re-opening an ended session, ending one never active) fails closed
 * here, before anything is written.
 */
export function checkedMarkers(inner: Markers): Markers {
  return {
    location: inner.location,
    create: async (state) => {
      if (!phaseChangeAllowed(undefined, state.phase)) throw refuse(undefined, state.phase, state.session);
      return inner.create(state);
    },
    get: (session) => inner.get(session),
    update: async (marker, state) => {
      if (!phaseChangeAllowed(marker.state.phase, state.phase)) throw refuse(marker.state.phase, state.phase, state.session);
      return inner.update(marker, state);
    },
    listOpen: () => inner.listOpen(),
  };
}

/** Marker storage in one namespace of one cluster. */
export class MarkerStore implements Markers {
  private readonly kube: Kube;
  private readonly namespace: string;
  readonly location: StateLocation;
  constructor(kube: Kube, namespace: string) {
    this.kube = kube;
    this.namespace = namespace;
    this.location = { kind: 'ConfigMap', namespace };
  }

  /** Creates the marker; returns undefined when it already exists (someone else owns this session). */
  async create(state: MarkerState): Promise<Marker | undefined> {
    try {
      return parse(await this.kube.createConfigMap(this.namespace, body(state)));
    } catch (e) {
      if (codeOf(e) === 'KUBE_CONFLICT') return undefined;
      throw e;
    }
  }

  async get(session: string): Promise<Marker | undefined> {
    const cm = await this.kube.readConfigMap(this.namespace, markerName(session));
    return cm ? parse(cm) : undefined;
  }

  /** Compare-and-swap: fails with KUBE_CONFLICT when another writer got there first. */
  async update(marker: Marker, state: MarkerState): Promise<Marker> {
    return parse(await this.kube.replaceConfigMap(this.namespace, body(state, marker.resourceVersion)));
  }

  /** Markers of sessions that are not finished: a label-filtered list, cheap however long the history. */
  async listOpen(): Promise<OpenMarkers> {
    const cms = await this.kube.listConfigMaps(this.namespace, `${MARKER_LABEL}=true,${PHASE_LABEL} in (${OPEN_PHASES.join(',')})`);
    return sortRead(
      cms.map((cm) => {
        try {
          return { session: sessionOf(cm), marker: parse(cm) };
        } catch (error) {
          return { session: sessionOf(cm), error };
        }
      }),
    );
  }
}
