/**
 * Kubernetes privileges a request can name, and the RBAC they become.
 * A privilege is either cluster-wide (`cluster-admin`, `view`,
 * `clusterrole:<name>`) or scoped to one namespace (`admin:<ns>`, `edit:<ns>`).
 */
export type KubePrivilege = { scope: 'cluster'; clusterRole: string } | { scope: 'namespace'; clusterRole: 'admin' | 'edit'; namespace: string };

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

/**
 * Namespaces no session is ever granted a privilege in, whatever a policy
 * says: the cluster's own, and the default runner namespace. A grant there
 * (`edit:breakglass-system`) lets the session impersonate the runner's
 * ServiceAccount, read its token, or run a pod as it, and so keep the
 * runner's power after teardown. The runner adds its own namespaces (every
 * resource's `namespace`, where session objects and markers live) and its
 * config's `protectedNamespaces`; a policy may add more, never remove one.
 */
export const BUILTIN_PROTECTED_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'breakglass-system'];

/** The protected namespace a privilege is scoped to, or undefined when it is not scoped to one. */
export function protectedNamespaceOf(privilege: string, extra: readonly string[] = []): string | undefined {
  const p = parseKubePrivilege(privilege);
  if (p?.scope !== 'namespace') return undefined;
  return BUILTIN_PROTECTED_NAMESPACES.includes(p.namespace) || extra.includes(p.namespace) ? p.namespace : undefined;
}

/**
 * What the approval view says about a grant that is more than reading:
 * every privilege but plain `view` can, one way or another, be turned into
 * more than it names. Undefined for `view` and non-Kubernetes privileges.
 */
export function privilegeCaution(privilege: string, resource: string): string | undefined {
  const p = parseKubePrivilege(privilege);
  if (!p || (p.scope === 'cluster' && p.clusterRole === 'view')) return undefined;
  if (isClusterAdminTier(privilege)) {
    return `${privilege} is FULL CONTROL of ${resource}: every secret, every workload, and the power to grant itself more. Approve only if nothing narrower will do.`;
  }
  if (p.scope === 'namespace') {
    return `${privilege} lets the session act as every ServiceAccount in namespace ${p.namespace} and create objects there that outlive the session: whatever those accounts may do, this session may do. Treat it as cluster-admin-equivalent if any of them is powerful.`;
  }
  return `${privilege} applies in every namespace of ${resource}, including the runner's own: if the role lets it impersonate, read secrets, run pods or write RBAC, it is cluster-admin-equivalent. The runner reads the role when it activates and refuses one that can (PRIVILEGE_ESCALATES).`;
}
