/**
 * The provider objects a runner owns in its cluster, found by label rather
 * than by remembered reference: Deployments and Secrets (the Tailscale router,
 * the Twingate connector) in the runner's namespace, and NetworkPolicies in
 * any namespace (their manifests say where). The selector includes the owner
 * label, so another runner's objects in the same cluster are never touched.
 */
import type { RawKube, RawObject } from '../adapters/kube-raw.js';
import { ownedSelector } from '../core/plan.js';
import { PROVIDER_LABEL } from './providers/workload.js';
import type { ObjectRef } from './providers/types.js';

/** Everything labelled as owned by the runner in `namespace` (for one session, when given); Deployments before their Secrets. */
export async function listProviderObjects(raw: RawKube, namespace: string, session?: string): Promise<RawObject[]> {
  const selector = ownedSelector(namespace, session);
  return [
    ...(await raw.list('apps/v1', 'Deployment', namespace, selector)),
    ...(await raw.list('v1', 'Secret', namespace, selector)),
    ...(await raw.listAllNamespaces('networking.k8s.io/v1', 'NetworkPolicy', selector)),
  ];
}

/** Deletes one listed object; false when it was already gone. */
export function deleteObject(raw: RawKube, o: RawObject): Promise<boolean> {
  return raw.delete(o.apiVersion, o.kind, o.metadata.namespace!, o.metadata.name);
}

/** The record's reference to a listed object. */
export function refOf(o: RawObject): ObjectRef {
  const provider = o.metadata.labels?.[PROVIDER_LABEL];
  return { kind: o.kind, apiVersion: o.apiVersion, namespace: o.metadata.namespace, name: o.metadata.name, ...(provider ? { provider } : {}) };
}

/** Deletes whatever still carries the session's labels; returns what existed. */
export async function sweepSession(raw: RawKube, namespace: string, session: string): Promise<ObjectRef[]> {
  const deleted: ObjectRef[] = [];
  for (const o of await listProviderObjects(raw, namespace, session)) if (await deleteObject(raw, o)) deleted.push(refOf(o));
  return deleted;
}
