/**
 * The session plan: a pure function from verified inputs to exactly what the
 * applier will create, with which labels and annotations, and until when.
 * `--once --dry-run` prints it; the applier executes it and nothing else.
 */
import { formatTime, parseDuration, parseTime } from './duration.js';
import { BreakglassError } from './errors.js';
import { parseKubePrivilege } from './privilege.js';
import type { PolicyResource, Request } from './schemas.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SESSION_LABEL = 'breakglass.dev/session';
export const EXPIRES_ANNOTATION = 'breakglass.dev/expires';
/**
 * The runner namespace that owns an object. Bindings are cluster-wide objects:
 * without this, two runners sharing a cluster (two repositories, two teams)
 * would each take the other's bindings for orphans and reap live sessions.
 */
export const OWNER_LABEL = 'breakglass.dev/runner-namespace';

/** The label selector for what the runner in `namespace` owns (for one session, when given). */
export function ownedSelector(namespace: string, session?: string): string {
  return `${MANAGED_BY}=breakglass,${OWNER_LABEL}=${namespace}${session ? `,${SESSION_LABEL}=${session}` : ''}`;
}
/** The API server refuses TokenRequests shorter than this. */
export const TOKEN_MIN_SECONDS = 600;

/** One Kubernetes object the plan creates. */
export interface PlannedObject {
  kind: 'ServiceAccount' | 'ClusterRoleBinding' | 'RoleBinding';
  apiVersion: string;
  namespace?: string;
  name: string;
  roleRef?: { kind: 'ClusterRole'; name: string };
  subject?: { namespace: string; name: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

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
  /** The Kubernetes credential's objects; empty for command and vendor-held resources. */
  objects: PlannedObject[];
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
}

function effective(input: PlanInput): { seconds: number; limitedBy: string } {
  const limits: [string, number | undefined][] = [
    ['requested', parseDuration(input.request.spec.duration)],
    ...input.approvedDurations.filter((d): d is string => d !== undefined).map((d) => ['approval', parseDuration(d)] as [string, number | undefined]),
    ['policy', parseDuration(input.policyMaxDuration)],
    ['runner cap', parseDuration(input.runnerCap)],
  ];
  let best: { seconds: number; limitedBy: string } | undefined;
  for (const [name, s] of limits) {
    // A limit that cannot be read is not "no limit": refuse to plan.
    if (s === undefined) throw new BreakglassError('PLAN_DURATION', `the ${name} duration cannot be read`);
    if (!best || s < best.seconds) best = { seconds: s, limitedBy: name };
  }
  return best!;
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
  return { ...base, objects: type === 'kubernetes' ? kubernetesObjects(request, input.namespace, expires) : [] };
}

function kubernetesObjects(request: Request, namespace: string, expires: string): PlannedObject[] {
  const id = request.metadata.id;
  const priv = parseKubePrivilege(request.spec.privilege);
  if (!priv) throw new BreakglassError('PLAN_PRIVILEGE', `privilege ${JSON.stringify(request.spec.privilege)} is not a Kubernetes privilege`);
  const labels = { [MANAGED_BY]: 'breakglass', [OWNER_LABEL]: namespace, [SESSION_LABEL]: id };
  const annotations = { [EXPIRES_ANNOTATION]: expires };
  const name = objectName(id);
  const sa: PlannedObject = { kind: 'ServiceAccount', apiVersion: 'v1', namespace, name, labels, annotations };
  const roleRef = { kind: 'ClusterRole' as const, name: priv.clusterRole };
  const subject = { namespace, name };
  const binding: PlannedObject =
    priv.scope === 'cluster'
      ? // Cluster-wide names are shared by every runner in the cluster: qualify by the runner namespace.
        { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', name: `bg-${namespace}-${id}`, roleRef, subject, labels, annotations }
      : { kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', namespace: priv.namespace, name, roleRef, subject, labels, annotations };
  return [sa, binding];
}

/** The earlier of the planned expiry and what the environment granted: never later than planned. */
export function clampExpiry(planned: string, granted: string | undefined): string {
  const p = parseTime(planned)!;
  const g = granted === undefined ? undefined : Date.parse(granted);
  return g !== undefined && Number.isFinite(g) && g < p ? formatTime(g) : planned;
}
