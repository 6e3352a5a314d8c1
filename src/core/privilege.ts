/**
 * Kubernetes privileges a request can name, and the RBAC they become.
 * A privilege is either cluster-wide (`cluster-admin`, `view`,
 * `clusterrole:<name>`) or scoped to one namespace (`admin:<ns>`, `edit:<ns>`).
 */
export type KubePrivilege =
  | { scope: 'cluster'; clusterRole: string }
  | { scope: 'namespace'; clusterRole: 'admin' | 'edit'; namespace: string };

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// ClusterRole names are DNS subdomains, and may contain ':' (system:...).
const ROLE_NAME = /^[a-z0-9](?:[a-z0-9.:-]{0,251}[a-z0-9])?$/;

/** Parses a Kubernetes privilege string; undefined when it is not one. */
export function parseKubePrivilege(text: string): KubePrivilege | undefined {
  if (text === 'cluster-admin' || text === 'view') return { scope: 'cluster', clusterRole: text };
  const [kind, arg, ...rest] = text.split(':');
  if (arg === undefined) return undefined;
  if ((kind === 'admin' || kind === 'edit') && rest.length === 0 && DNS_LABEL.test(arg)) {
    return { scope: 'namespace', clusterRole: kind, namespace: arg };
  }
  if (kind === 'clusterrole') {
    const name = [arg, ...rest].join(':');
    if (ROLE_NAME.test(name)) return { scope: 'cluster', clusterRole: name };
  }
  return undefined;
}

/** True for privileges that amount to full control of the cluster: the approval view warns. */
export function isClusterAdminTier(privilege: string): boolean {
  const p = parseKubePrivilege(privilege);
  return p?.scope === 'cluster' && (p.clusterRole === 'cluster-admin' || p.clusterRole === 'admin' || p.clusterRole === 'system:masters');
}
