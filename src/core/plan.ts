/**
 * The session plan: a pure function from verified inputs to exactly what the
 * applier will create — credential objects, the network path, the command,
 * recording and the state objects — with which labels and annotations, and
 * until when. `runner --dry-run` prints it; the applier executes it and
 * nothing else (activation refuses an object the plan does not name).
 */
import { formatTime, parseDuration, parseTime } from './duration.js';
import { BreakglassError } from './errors.js';
import {
  EXPIRES_ANNOTATION,
  MANAGED_BY,
  OWNER_LABEL,
  planCommand,
  planPath,
  planRecording,
  planState,
  SESSION_LABEL,
  type PathInput,
  type PlannedCommand,
  type PlannedObject,
  type PlannedPath,
  type PlannedRecording,
  type PlannedStateObjects,
  type StateLocation,
} from './plan-objects.js';
import { parseKubePrivilege } from './privilege.js';
import type { PolicyCommand, PolicyResource, Request } from './schemas.js';

export { EXPIRES_ANNOTATION, MANAGED_BY, OWNER_LABEL, SESSION_LABEL, type PlannedObject };

/** The label selector for what the runner in `namespace` owns (for one session, when given). */
export function ownedSelector(namespace: string, session?: string): string {
  return `${MANAGED_BY}=breakglass,${OWNER_LABEL}=${namespace}${session ? `,${SESSION_LABEL}=${session}` : ''}`;
}
/** The API server refuses TokenRequests shorter than this. */
export const TOKEN_MIN_SECONDS = 600;

/** What the runner will do for one session. */
export interface SessionPlan {
  session: string;
  resource: string;
  /** The resource's type in the governing policy: which credential is made (a Kubernetes token, a command's output, none). */
  type: PolicyResource['type'];
  privilege: string;
  network: Request['spec']['network'];
  recipient: string;
  /** min(requested, each approval's duration, policy max, runner cap), seconds. */
  effectiveSeconds: number;
  /** now + effectiveSeconds; the environment may shorten it, never extend it. */
  expires: string;
  /** What the TokenRequest asks for: the effective duration, raised to the API minimum (the session still ends on time). */
  tokenSeconds: number;
  /**
   * Every cluster object the session creates and its teardown deletes, in
   * creation order: the network path's, then the Kubernetes credential's
   * (`provider: kubernetes-token`; none for command and vendor-held resources).
   */
  objects: PlannedObject[];
  /** The network path: what its provider makes through its own API (its cluster objects are in `objects`), or why it cannot open. */
  path: Omit<PlannedPath, 'objects'>;
  /** A command resource's run: the argv and pinned digests (never its output). */
  command?: PlannedCommand;
  recording: PlannedRecording;
  /** The claim and marker, created before anything else and never deleted. */
  state: PlannedStateObjects;
  /** Where the signed record lands when the session ends. */
  record: string;
  /** Which limit decided the effective duration, for the record and the log. */
  limitedBy: string;
}

export interface PlanInput {
  request: Request;
  /** The governing resource's type; default `kubernetes`. */
  type?: PolicyResource['type'];
  approvedDurations: readonly (string | undefined)[];
  policyMaxDuration: string;
  runnerCap: string;
  namespace: string;
  now: number;
  /** The network path's settings on this runner (and, for networkpolicy, the approved manifest's namespace). */
  path?: Pick<PathInput, 'tailscale' | 'twingate' | 'manifest'>;
  /** A command resource's approved command; its inputs are the request's. */
  command?: PolicyCommand;
  /** The gateway URL when the session is recorded. */
  gateway?: string;
  /** Where the marker and the claim are kept; the claim is absent when this runner has no claim store (nothing activates). */
  markers?: StateLocation;
  claims?: StateLocation;
}

function effective(input: PlanInput): { seconds: number; limitedBy: string } {
  const limits: [string, number | undefined][] = [
    ['requested', parseDuration(input.request.spec.duration)],
    ...input.approvedDurations.filter((d): d is string => d !== undefined).map((d) => ['approval', parseDuration(d)] as [string, number | undefined]),
    ['policy', parseDuration(input.policyMaxDuration)],
    ['runner cap', parseDuration(input.runnerCap)],
  ];
  let best = { seconds: Number.POSITIVE_INFINITY, limitedBy: 'requested' };
  for (const [name, s] of limits) {
    // A limit that cannot be read is not "no limit": refuse to plan.
    if (s === undefined) throw new BreakglassError('PLAN_DURATION', `the ${name} duration cannot be read`);
    if (s < best.seconds) best = { seconds: s, limitedBy: name };
  }
  return best;
}

/** Object names: `bg-<id>` fits (id is a DNS label of at most 63; names allow 253). */
export function objectName(session: string): string {
  return `bg-${session}`;
}

/**
 * Computes the plan for a session: its effective duration and, for a
 * Kubernetes resource, the ServiceAccount and binding to create. Command and
 * vendor-held resources get no Kubernetes objects: their privilege names are
 * free-form (the policy's business), and nothing here may bind them.
 */
export function planSession(input: PlanInput): SessionPlan {
  const { request, now } = input;
  const type = input.type ?? 'kubernetes';
  const { seconds, limitedBy } = effective(input);
  const expires = formatTime(now + seconds * 1000);
  const base = {
    session: request.metadata.id,
    resource: request.spec.resource,
    type,
    privilege: request.spec.privilege,
    network: request.spec.network,
    recipient: request.spec.recipient.toUpperCase(),
    effectiveSeconds: seconds,
    expires,
    tokenSeconds: Math.max(seconds, TOKEN_MIN_SECONDS),
    limitedBy,
  };
  const { objects: pathObjects, ...path } = planPath({ network: request.spec.network, session: base.session, expires, namespace: input.namespace, ...input.path });
  const credential = type === 'kubernetes' ? kubernetesObjects(request, input.namespace, expires) : [];
  const inputs = request.spec.command?.inputs ?? {};
  return {
    ...base,
    objects: [...pathObjects, ...credential],
    path,
    command: type === 'command' && input.command ? planCommand(input.command, inputs) : undefined,
    recording: planRecording(base.session, type === 'kubernetes' ? input.gateway : undefined, input.namespace),
    state: planState(base.session, input.markers ?? { kind: 'ConfigMap', namespace: input.namespace }, input.claims),
    record: `sessions/${base.session}/record.yaml`,
  };
}

/** The objects the Kubernetes credential step creates, in order. */
export function credentialObjects(plan: SessionPlan): PlannedObject[] {
  return plan.objects.filter((o) => o.provider === 'kubernetes-token');
}

function kubernetesObjects(request: Request, namespace: string, expires: string): PlannedObject[] {
  const id = request.metadata.id;
  const priv = parseKubePrivilege(request.spec.privilege);
  if (!priv) throw new BreakglassError('PLAN_PRIVILEGE', `privilege ${JSON.stringify(request.spec.privilege)} is not a Kubernetes privilege`);
  const labels = { [MANAGED_BY]: 'breakglass', [OWNER_LABEL]: namespace, [SESSION_LABEL]: id };
  const annotations = { [EXPIRES_ANNOTATION]: expires };
  const name = objectName(id);
  const provider = 'kubernetes-token';
  const sa: PlannedObject = { kind: 'ServiceAccount', apiVersion: 'v1', namespace, name, provider, labels, annotations };
  const roleRef = { kind: 'ClusterRole' as const, name: priv.clusterRole };
  const subject = { namespace, name };
  const binding: PlannedObject =
    priv.scope === 'cluster'
      ? // Cluster-wide names are shared by every runner in the cluster: qualify by the runner namespace.
        { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', name: `bg-${namespace}-${id}`, provider, roleRef, subject, labels, annotations }
      : { kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', namespace: priv.namespace, name, provider, roleRef, subject, labels, annotations };
  return [sa, binding];
}

/** The earlier of the planned expiry and what the environment granted: never later than planned. */
export function clampExpiry(planned: string, granted: string | undefined): string {
  const p = parseTime(planned);
  const g = granted === undefined ? undefined : Date.parse(granted);
  return p !== undefined && g !== undefined && Number.isFinite(g) && g < p ? formatTime(g) : planned;
}

/**
 * What was made that the plan does not name: a cluster object by (kind,
 * namespace, name), a provider API object by kind (its id is only known once
 * made). Activation refuses the session (and rolls it back) when this is not
 * empty: the runner applies the plan and nothing else.
 */
export function unplannedObjects(plan: SessionPlan, made: readonly { kind: string; namespace?: string; name: string }[]): string[] {
  const planned = new Set(plan.objects.map((o) => `${o.kind}/${o.namespace ?? ''}/${o.name}`));
  const external = new Set<string>(plan.path.external.map((o) => o.kind));
  return made.filter((o) => !planned.has(`${o.kind}/${o.namespace ?? ''}/${o.name}`) && !external.has(o.kind)).map((o) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`);
}
