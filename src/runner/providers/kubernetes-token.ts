/**
 * Credential provider `kubernetes-token`: a ServiceAccount in the runner's
 * namespace, a binding for the privilege, and a TokenRequest token whose
 * lifetime is the session's. Teardown deletes binding then ServiceAccount
 * (deleting the ServiceAccount revokes every token it issued) and proves it
 * with TokenReview, polling past the API server's authentication cache.
 */
import { BreakglassError } from '../../core/errors.js';
import type { V1ClusterRoleBinding, V1RoleBinding } from '@kubernetes/client-node';
import { clampExpiry, credentialObjects, ownedSelector, type PlannedObject, type SessionPlan } from '../../core/plan.js';
import type { Kube } from '../../adapters/kubernetes.js';
import type { ObjectRef } from './types.js';

/** What minting produced. `token` lives in memory only. */
export interface Minted {
  token: string;
  /** The session's expiry: the plan's, shortened if the API server granted less. */
  expires: string;
  objects: ObjectRef[];
}

function ref(o: PlannedObject): ObjectRef {
  return { kind: o.kind, apiVersion: o.apiVersion, namespace: o.namespace, name: o.name, provider: 'kubernetes-token' };
}

/** A part the plan always fills for this kind of object; missing, it is a planning bug and nothing is created. */
function planned<T>(value: T | undefined, what: string, o: PlannedObject): T {
  if (value === undefined) throw new BreakglassError('PLAN_INVALID', `the plan's ${o.kind} ${o.name} has no ${what}`);
  return value;
}

function bindingBody(o: PlannedObject): V1ClusterRoleBinding & V1RoleBinding {
  const subject = planned(o.subject, 'subject', o);
  return {
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels, annotations: o.annotations },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: planned(o.roleRef, 'roleRef', o).name },
    subjects: [{ kind: 'ServiceAccount', name: subject.name, namespace: subject.namespace }],
  };
}

async function createObject(kube: Kube, o: PlannedObject): Promise<void> {
  const meta = { name: o.name, namespace: o.namespace, labels: o.labels, annotations: o.annotations };
  if (o.kind === 'ServiceAccount') {
    const namespace = planned(o.namespace, 'namespace', o);
    await kube.call(`create ServiceAccount ${namespace}/${o.name}`, () => kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: meta } }));
  } else if (o.kind === 'ClusterRoleBinding') await kube.call(`create ClusterRoleBinding ${o.name}`, () => kube.rbac.createClusterRoleBinding({ body: bindingBody(o) }));
  else {
    const namespace = planned(o.namespace, 'namespace', o);
    await kube.call(`create RoleBinding ${namespace}/${o.name}`, () => kube.rbac.createNamespacedRoleBinding({ namespace, body: bindingBody(o) }));
  }
}

/**
 * Creates the plan's objects in order, then requests the token. `created`
 * receives each reference as soon as it exists, so a failure part-way is
 * rolled back completely; `step` lets the caller observe (and tests inject faults).
 */
export async function mint(kube: Kube, plan: SessionPlan, created: ObjectRef[], step: (name: string) => Promise<void>): Promise<Minted> {
  const objects = credentialObjects(plan);
  for (const o of objects) {
    await createObject(kube, o);
    created.push(ref(o));
    await step(o.kind === 'ServiceAccount' ? 'serviceaccount' : 'binding');
  }
  const sa = objects.find((o) => o.kind === 'ServiceAccount');
  if (!sa) throw new BreakglassError('PLAN_INVALID', `the plan of session ${plan.session} has no ServiceAccount to request a token for`);
  const namespace = planned(sa.namespace, 'namespace', sa);
  const tr = await kube.call(`TokenRequest for ${namespace}/${sa.name}`, () =>
    kube.core.createNamespacedServiceAccountToken({ name: sa.name, namespace, body: { spec: { expirationSeconds: plan.tokenSeconds, audiences: [] } } }),
  );
  const token = tr?.status?.token;
  if (!token) throw new BreakglassError('KUBE_TOKEN_MISSING', 'TokenRequest returned no token');
  const granted = tr.status?.expirationTimestamp;
  const grantedText = granted instanceof Date ? granted.toISOString() : typeof granted === 'string' ? granted : undefined;
  await step('token');
  return { token, expires: clampExpiry(plan.expires, grantedText), objects: [...created] };
}

/**
 * Deletes every binding and ServiceAccount labelled with the session, found
 * by label selector (not only the remembered list, so nothing a crash forgot
 * survives). Bindings first: access ends before the identity does.
 */
export async function teardownCredential(kube: Kube, namespace: string, session: string): Promise<ObjectRef[]> {
  const owned = await kube.listOwned(namespace, ownedSelector(namespace, session));
  const order = { ClusterRoleBinding: 0, RoleBinding: 0, ServiceAccount: 1 } as const;
  const deleted: ObjectRef[] = [];
  for (const o of owned.sort((a, b) => order[a.kind] - order[b.kind])) {
    if (await kube.delete(o)) deleted.push({ kind: o.kind, namespace: o.namespace, name: o.name, provider: 'kubernetes-token' });
  }
  return deleted;
}

/** True when no object labelled with the session remains. */
export async function credentialGone(kube: Kube, namespace: string, session: string): Promise<boolean> {
  return (await kube.listOwned(namespace, ownedSelector(namespace, session))).length === 0;
}

export interface RevocationProof {
  method: string;
  result: string;
  attempts: number;
}

/** Polls TokenReview until the token is refused; bounded, with an injected delay. */
export async function proveRevoked(kube: Kube, token: string, opts: { attempts: number; delay: (ms: number) => Promise<void> }): Promise<RevocationProof> {
  for (let i = 1; i <= opts.attempts; i++) {
    if (!(await kube.tokenAuthenticated(token))) return { method: 'TokenReview', result: 'unauthenticated', attempts: i };
    if (i < opts.attempts) await opts.delay(1000);
  }
  return { method: 'TokenReview', result: 'still-authenticated', attempts: opts.attempts };
}
