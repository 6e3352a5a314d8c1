/**
 * Every Kubernetes permission the runner uses, in one place. `--check`
 * asks the API server about each (a SelfSubjectAccessReview per verb and
 * resource), and a test compares this list with deploy/rbac.yaml rule for
 * rule, so the shipped RBAC, the preflight and the code cannot drift apart.
 *
 * `scope: namespace` rules are granted by a Role in the runner's namespace
 * (and checked there); `scope: cluster` rules by the ClusterRole (checked with
 * no namespace, i.e. in every namespace, because a session's RoleBinding or
 * NetworkPolicy may go into any namespace its approved privilege names).
 */

/** One RBAC rule the runner needs. */
export interface Permission {
  group: string;
  resource: string;
  verbs: readonly string[];
  scope: 'namespace' | 'cluster';
  /** Limits the rule to these object names (the `bind` escalation exception). */
  resourceNames?: readonly string[];
  /** Why the runner needs it: printed with a missing permission. */
  why: string;
}

/** The ClusterRoles sessions may be bound to; `bind` is granted on these names only. */
export const BINDABLE_CLUSTER_ROLES = ['cluster-admin', 'admin', 'edit', 'view'] as const;

export const RUNNER_PERMISSIONS: readonly Permission[] = [
  { group: '', resource: 'serviceaccounts', verbs: ['create', 'get', 'list', 'delete'], scope: 'namespace', why: 'session identities' },
  { group: '', resource: 'serviceaccounts/token', verbs: ['create'], scope: 'namespace', why: 'the session token (TokenRequest)' },
  { group: '', resource: 'configmaps', verbs: ['create', 'get', 'list', 'update'], scope: 'namespace', why: 'markers and claims ("once")' },
  { group: 'apps', resource: 'deployments', verbs: ['create', 'get', 'list', 'delete'], scope: 'namespace', why: 'tailscale/twingate routers and the reaper' },
  { group: '', resource: 'secrets', verbs: ['create', 'get', 'list', 'delete'], scope: 'namespace', why: 'tailscale/twingate keys and the reaper' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verbs: ['create', 'get', 'list', 'delete'], scope: 'cluster', why: 'cluster-wide privileges' },
  { group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verbs: ['create', 'get', 'list', 'delete'], scope: 'cluster', why: 'namespace privileges in any namespace' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verbs: ['bind'], scope: 'cluster', resourceNames: BINDABLE_CLUSTER_ROLES, why: 'binding the roles sessions receive' },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verbs: ['get', 'list'], scope: 'cluster', why: 'judging a privilege before granting it' },
  { group: 'authentication.k8s.io', resource: 'tokenreviews', verbs: ['create'], scope: 'cluster', why: 'the revocation proof' },
  { group: 'networking.k8s.io', resource: 'networkpolicies', verbs: ['create', 'get', 'list', 'delete'], scope: 'cluster', why: 'networkpolicy paths and the reaper' },
];

/** One SelfSubjectAccessReview to ask: a single verb on a single resource (and name). */
export interface AccessQuestion {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  namespace?: string;
  name?: string;
  why: string;
}

/** The permissions as single questions, namespace rules asked in `namespace`. */
export function accessQuestions(namespace: string): AccessQuestion[] {
  return RUNNER_PERMISSIONS.flatMap((p) => {
    const [resource, subresource] = p.resource.split('/') as [string, string | undefined];
    const ns = p.scope === 'namespace' ? namespace : undefined;
    return p.verbs.flatMap((verb) => (p.resourceNames ?? [undefined]).map((name) => ({ group: p.group, resource, subresource, verb, namespace: ns, name, why: p.why })));
  });
}

/** `verb group/resource[/sub] [name] [in ns]`, as kubectl auth can-i would name it. */
export function describeQuestion(q: AccessQuestion): string {
  const res = `${q.resource}${q.subresource ? `/${q.subresource}` : ''}${q.group ? `.${q.group}` : ''}`;
  return `${q.verb} ${res}${q.name ? `/${q.name}` : ''}${q.namespace ? ` in namespace ${q.namespace}` : ' cluster-wide'}`;
}
