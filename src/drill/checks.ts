/**
 * Using the delivered credential as the vendor would, asked of the API server
 * itself: SelfSubjectAccessReviews made WITH the delivered token show what it
 * may do; after teardown, the same call must come back 401.
 */
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { statusOf } from '../adapters/kubernetes.js';
import { parseKubePrivilege } from '../core/privilege.js';

/** One question to the API server and the answer the approved privilege implies. */
export interface AccessCheck {
  what: string;
  attrs: { verb: string; resource: string; namespace?: string };
  allowed: boolean;
}

/**
 * What the privilege must allow, and one write it must refuse. `view`: read
 * pods, never create a ConfigMap; `admin:<ns>`/`edit:<ns>`: read pods there,
 * never create a namespace; `cluster-admin`: create a namespace.
 * `clusterrole:<name>` is checked only for authentication: we cannot know what
 * an arbitrary role grants.
 */
export function accessChecks(privilege: string, namespace: string): AccessCheck[] {
  const p = parseKubePrivilege(privilege);
  if (!p) return [];
  if (p.scope === 'namespace') {
    return [
      { what: `list pods in ${p.namespace}`, attrs: { verb: 'list', resource: 'pods', namespace: p.namespace }, allowed: true },
      { what: 'create namespaces', attrs: { verb: 'create', resource: 'namespaces' }, allowed: false },
    ];
  }
  if (p.clusterRole === 'view') {
    return [
      { what: `list pods in ${namespace}`, attrs: { verb: 'list', resource: 'pods', namespace }, allowed: true },
      { what: `create configmaps in ${namespace}`, attrs: { verb: 'create', resource: 'configmaps', namespace }, allowed: false },
    ];
  }
  if (p.clusterRole === 'cluster-admin') return [{ what: 'create namespaces', attrs: { verb: 'create', resource: 'namespaces' }, allowed: true }];
  return [];
}

/** Asks the API server, as the token in `kc`, whether it may do `attrs`; throws on 401 and other failures. */
export async function canI(kc: KubeConfig, attrs: AccessCheck['attrs']): Promise<boolean> {
  const api = kc.makeApiClient(AuthorizationV1Api);
  const res = await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attrs } } });
  return res.status?.allowed === true;
}

/** Whether the API server still accepts the token at all (false on 401). */
export async function tokenAccepted(kc: KubeConfig): Promise<boolean> {
  try {
    await canI(kc, { verb: 'get', resource: 'namespaces' });
    return true;
  } catch (e) {
    if (statusOf(e) === 401) return false;
    throw e;
  }
}

/**
 * Runs every check, retrying an expected "allowed" for a while: the API
 * server's RBAC authorizer learns of a new binding from its informer, a
 * moment after the runner created it. A refusal is never retried away.
 */
export async function runAccessChecks(kc: KubeConfig, checks: AccessCheck[], delay: (ms: number) => Promise<void>): Promise<string[]> {
  const problems: string[] = [];
  if (!(await tokenAccepted(kc))) return ['the delivered token is not accepted by the API server'];
  for (const c of checks) {
    let allowed = await canI(kc, c.attrs);
    for (let i = 0; i < 20 && c.allowed && !allowed; i++) {
      await delay(500);
      allowed = await canI(kc, c.attrs);
    }
    if (allowed !== c.allowed) problems.push(`${c.what}: ${allowed ? 'allowed' : 'refused'}, expected ${c.allowed ? 'allowed' : 'refused'}`);
  }
  return problems;
}
