/**
 * Whether a set of RBAC rules, granted in every namespace, lets a session
 * become more than it was given, and keep it: impersonate (the runner's
 * ServiceAccount among others), mint or read a token, run or exec into a pod
 * (which runs as, or holds, some ServiceAccount), write RBAC, approve
 * certificates, reach the kubelet, or change the runner's markers. Pure: the
 * caller reads the rules (aggregated roles included) and passes them in.
 *
 * Does NOT judge `cluster-admin`: that grant says what it is and is refused
 * or approved as such. Non-resource URLs are ignored: none of them escalates.
 */

/** The fields of a Kubernetes PolicyRule that matter here. */
export interface RbacRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

const WRITE = ['create', 'update', 'patch'];

/** [apiGroup, resource, verbs that escalate], each a reason a rule is refused. */
const VECTORS: readonly [string, string, readonly string[], string][] = [
  ['', 'serviceaccounts', ['impersonate'], "impersonate ServiceAccounts (the runner's own among them)"],
  ['', 'users', ['impersonate'], 'impersonate users'],
  ['', 'groups', ['impersonate'], 'impersonate groups (system:masters among them)'],
  ['authentication.k8s.io', 'userextras/scopes', ['impersonate'], 'impersonate user extras'],
  ['', 'serviceaccounts/token', ['create'], 'mint tokens for any ServiceAccount'],
  ['', 'secrets', ['get', 'list', 'watch', ...WRITE], 'read or create secrets, ServiceAccount tokens among them'],
  ['', 'pods', WRITE, 'run a pod as any ServiceAccount'],
  ['', 'pods/exec', ['create', 'get'], "exec into running pods (the runner's among them)"],
  ['', 'pods/attach', ['create', 'get'], 'attach to running pods'],
  ['', 'pods/ephemeralcontainers', WRITE, 'add containers to running pods'],
  ['', 'replicationcontrollers', WRITE, 'run pods as any ServiceAccount'],
  ['apps', 'deployments', WRITE, 'run pods as any ServiceAccount'],
  ['apps', 'replicasets', WRITE, 'run pods as any ServiceAccount'],
  ['apps', 'statefulsets', WRITE, 'run pods as any ServiceAccount'],
  ['apps', 'daemonsets', WRITE, 'run pods as any ServiceAccount'],
  ['batch', 'jobs', WRITE, 'run pods as any ServiceAccount'],
  ['batch', 'cronjobs', WRITE, 'run pods as any ServiceAccount'],
  ['', 'nodes/proxy', ['get', 'create'], 'reach the kubelet API (exec in any pod)'],
  ['', 'configmaps', [...WRITE, 'delete', 'deletecollection'], "change or delete the runner's session markers"],
  ['rbac.authorization.k8s.io', 'roles', ['escalate', 'bind', ...WRITE], 'write or bind roles'],
  ['rbac.authorization.k8s.io', 'clusterroles', ['escalate', 'bind', ...WRITE], 'write or bind cluster roles'],
  ['rbac.authorization.k8s.io', 'rolebindings', WRITE, 'write role bindings'],
  ['rbac.authorization.k8s.io', 'clusterrolebindings', WRITE, 'write cluster role bindings'],
  ['certificates.k8s.io', 'certificatesigningrequests/approval', WRITE, 'approve certificate requests (client certificates for any identity)'],
  ['certificates.k8s.io', 'signers', ['approve', 'sign'], 'approve or sign certificates'],
  ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations', WRITE, 'install mutating admission webhooks'],
  ['admissionregistration.k8s.io', 'validatingwebhookconfigurations', ['delete', ...WRITE], 'change admission webhooks'],
];

const has = (list: readonly string[] | undefined, value: string) => !!list && (list.includes('*') || list.includes(value));

/** Every escalation the rules allow, as plain phrases; empty when none. */
export function escalations(rules: readonly RbacRule[]): string[] {
  const found = new Set<string>();
  for (const rule of rules) {
    for (const [group, resource, verbs, what] of VECTORS) {
      if (!has(rule.apiGroups, group) || !has(rule.resources, resource)) continue;
      if (verbs.some((v) => has(rule.verbs, v))) found.add(what);
    }
    // `impersonate` is checked on any resource at all: a new impersonation target is still impersonation.
    if (has(rule.verbs, 'impersonate') && rule.resources?.length) found.add('impersonate');
  }
  return [...found];
}
