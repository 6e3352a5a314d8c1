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
import type { Kube } from '../adapters/kubernetes.js';
import { BreakglassError } from '../core/errors.js';
import { MANAGED_BY, MARKER_LABEL, markerName, PHASE_LABEL, SESSION_LABEL, type StateLocation } from '../core/plan-objects.js';
import type { DenyRule, PolicyCommand } from '../core/schemas.js';
import { phaseChangeAllowed, type MarkerFacts, type MarkerPhase } from '../core/session-state.js';
import { parseTime } from '../core/duration.js';
import type { ObjectRef } from './providers/types.js';

export { MARKER_LABEL, markerName, PHASE_LABEL };
const OPEN_PHASES: readonly MarkerPhase[] = ['activating', 'active', 'ending'];

/** A change in an open session's network path: down (with the provider's code) or restored. */
export interface PathEvent {
  state: 'down' | 'up';
  code: string;
  message: string;
  at: string;
}

/** Everything the runner must remember about a session between loops and restarts. */
export interface MarkerState {
  session: string;
  phase: MarkerPhase;
  /** The runner that created the marker. */
  runner: string;
  started: string;
  commit: string;
  repository: string;
  requestDigest: string;
  resource: string;
  network: string;
  approvals: { approver: string; fingerprint: string; file: string }[];
  policy: { name: string; digest: string };
  activated?: string;
  expires?: string;
  objects: ObjectRef[];
  /** The resource's type, which decides the credential (absent in markers written before command resources existed: kubernetes). */
  type?: 'kubernetes' | 'command' | 'vendor-held';
  /**
   * A command resource's approved command and inputs, copied at activation:
   * teardown (and a rollback after a crash) runs `revoke` from the marker
   * alone, exactly as approved, without re-reading git.
   */
  command?: { def: PolicyCommand; inputs: Record<string, string> };
  credentialSha256?: string;
  /** The token encrypted to the runner's own OpenPGP key, for the revocation proof after a restart. */
  sealedToken?: string;
  /** `tag`: this delivery's random tag, written before delivering, so a crash that loses `ref` can still find it. */
  delivery?: { channel: 'directory' | 'github' | 'none'; ref?: string; tag?: string };
  /**
   * Recorded through the session gateway (issue 12): `credentialSha256` is then the gateway
   * credential's, the ServiceAccount token stays in `sealedToken` only, and `deny` are the
   * policy's guardrails and `runnerNamespaces` the namespaces holding runner state, copied at
   * activation so any replica enforces them from the marker alone.
   */
  gateway?: { url: string; deny: DenyRule[]; runnerNamespaces: string[] };
  endReason?: string;
  failure?: { step: string; code: string; message: string };
  /** Changes of the network path while the session was open (issue 11). */
  path?: PathEvent[];
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

function parse(cm: V1ConfigMap): Marker {
  const raw = cm.data?.['session.json'];
  if (!raw) throw new BreakglassError('MARKER_INVALID', `marker ${cm.metadata?.name} has no session.json`);
  return { state: JSON.parse(raw) as MarkerState, resourceVersion: cm.metadata!.resourceVersion! };
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
  /** Markers of sessions that are not finished. */
  listOpen(): Promise<Marker[]>;
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
      if ((e as BreakglassError).code === 'KUBE_CONFLICT') return undefined;
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
  async listOpen(): Promise<Marker[]> {
    const cms = await this.kube.listConfigMaps(this.namespace, `${MARKER_LABEL}=true,${PHASE_LABEL} in (${OPEN_PHASES.join(',')})`);
    return cms.map(parse);
  }
}
