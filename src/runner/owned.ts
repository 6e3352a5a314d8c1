/**
 * The provider objects a runner owns in its cluster, found by label rather
 * than by remembered reference: Deployments and Secrets (the Tailscale router,
 * the Twingate connector) and Roles (the router's, on its state Secret) in the
 * runner's namespace, and NetworkPolicies in
 * any namespace (their manifests say where). The selector includes the owner
 * label, so another runner's objects in the same cluster are never touched.
 */
import type { RawKube, RawObject } from '../adapters/kube-raw.js';
import { ownedSelector } from '../core/plan.js';
import { PROVIDER_LABEL } from './providers/workload.js';
import type { ObjectRef } from './providers/types.js';

/** The kinds network providers create, and their API versions. */
const KINDS = { Deployment: 'apps/v1', Secret: 'v1', NetworkPolicy: 'networking.k8s.io/v1', Role: 'rbac.authorization.k8s.io/v1' } as const;
export type ProviderKind = keyof typeof KINDS;
export const PROVIDER_KINDS = Object.keys(KINDS) as ProviderKind[];

/**
 * What each network path creates in the cluster. Teardown sweeps only these,
 * so a `direct` session never needs the provider RBAC rules (a runner
 * upgraded before its RBAC still ends its sessions).
 */
export const NETWORK_KINDS: Readonly<Record<string, readonly ProviderKind[]>> = {
  direct: [],
  // The router's Role on its state Secret; its ServiceAccount and RoleBinding are swept with the credential's.
  tailscale: ['Deployment', 'Secret', 'Role'],
  twingate: ['Deployment', 'Secret'],
  networkpolicy: ['NetworkPolicy'],
};

/** Objects of `kind` labelled as owned by the runner in `namespace` (for one session, when given); NetworkPolicies in any namespace. */
export async function listKind(raw: RawKube, kind: ProviderKind, namespace: string, session?: string): Promise<RawObject[]> {
  const selector = ownedSelector(namespace, session);
  return kind === 'NetworkPolicy' ? raw.listAllNamespaces(KINDS[kind], kind, selector) : raw.list(KINDS[kind], kind, namespace, selector);
}

/** Everything of `kinds` labelled as owned (Deployments before their Secrets). */
export async function listProviderObjects(raw: RawKube, namespace: string, session?: string, kinds: readonly ProviderKind[] = PROVIDER_KINDS): Promise<RawObject[]> {
  const out: RawObject[] = [];
  for (const kind of kinds) out.push(...(await listKind(raw, kind, namespace, session)));
  return out;
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

/** Deletes whatever of `kinds` still carries the session's labels; returns what existed. */
export async function sweepSession(raw: RawKube, namespace: string, session: string, kinds: readonly ProviderKind[]): Promise<ObjectRef[]> {
  const deleted: ObjectRef[] = [];
  for (const o of await listProviderObjects(raw, namespace, session, kinds)) if (await deleteObject(raw, o)) deleted.push(refOf(o));
  return deleted;
}
