/**
 * The cluster half of the preflight: for each place the runner keeps sessions
 * (a kubeconfig and namespace), the API server answers, the namespace exists,
 * and every permission in RUNNER_PERMISSIONS is granted to the identity the
 * runner uses there — asked with one SelfSubjectAccessReview per verb, the
 * way `kubectl auth can-i` asks. Creates nothing: the namespace probe is a
 * server-side dry run.
 */
import { loadKubeConfig } from '../adapters/kubernetes.js';
import { RawKube } from '../adapters/kube-raw.js';
import type { ResolvedConfig } from './config.js';
import { accessQuestions, describeQuestion, type AccessQuestion } from './permissions.js';
import type { PreflightProblem } from './preflight.js';
import { messageOf } from '../crypto/error-parts.js';

/** Where sessions (or only claims) are kept; `resources` names what uses it, for messages. */
export interface ClusterPlace {
  kubeconfig?: string;
  namespace: string;
  resources: string[];
  /** Only the installation's claims live here: only ConfigMap rights are needed. */
  claimsOnly: boolean;
}

/** Every distinct (kubeconfig, namespace) of the resources, plus the claims namespace when it is elsewhere. */
export function clusterPlaces(c: ResolvedConfig): ClusterPlace[] {
  const places = new Map<string, ClusterPlace>();
  const add = (kubeconfig: string | undefined, namespace: string, what: string, claimsOnly: boolean) => {
    const key = JSON.stringify([kubeconfig ?? '', namespace]);
    const p = places.get(key) ?? { kubeconfig, namespace, resources: [], claimsOnly };
    p.resources.push(what);
    p.claimsOnly &&= claimsOnly;
    places.set(key, p);
  };
  for (const [name, r] of Object.entries(c.resources)) if (r.markers !== 'file') add(r.kubeconfig, r.namespace, `resource ${name}`, false);
  if (c.claims) add(c.claims.kubeconfig, c.claims.namespace, 'claims', true);
  return [...places.values()];
}

const where = (p: ClusterPlace) => `${p.resources.join(', ')} (namespace ${p.namespace}${p.kubeconfig ? `, kubeconfig ${p.kubeconfig}` : ', in-cluster'})`;

/** Does the namespace exist? A dry-run create answers 404 when it does not, and creates nothing. */
async function namespaceState(raw: RawKube, namespace: string): Promise<'exists' | 'missing' | 'unknown'> {
  const probe = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'bg-preflight-' } };
  const r = await raw.send('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps?dryRun=All`, probe);
  if (r.status === 201 || r.status === 200) return 'exists';
  if (r.status === 404) return 'missing';
  return 'unknown';
}

async function allowed(raw: RawKube, q: AccessQuestion): Promise<boolean> {
  const resourceAttributes = { group: q.group, resource: q.resource, subresource: q.subresource, verb: q.verb, namespace: q.namespace, name: q.name };
  const r = await raw.send('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } });
  return r.status === 201 && (r.body as { status?: { allowed?: boolean } }).status?.allowed === true;
}

export async function checkCluster(p: ClusterPlace): Promise<PreflightProblem[]> {
  let raw: RawKube;
  try {
    raw = new RawKube(loadKubeConfig(p.kubeconfig));
    const ns = await namespaceState(raw, p.namespace);
    if (ns === 'missing')
      return [
        {
          code: 'PREFLIGHT_NAMESPACE_MISSING',
          message: `namespace ${p.namespace} of ${where(p)} does not exist`,
          fix: `create it (kubectl create namespace ${p.namespace}, or kubectl apply -k deploy/) or set the resource's namespace:`,
        },
      ];
  } catch (e) {
    return [
      {
        code: 'PREFLIGHT_CLUSTER_UNREACHABLE',
        message: `the API server of ${where(p)} cannot be reached: ${messageOf(e)}`,
        fix: 'check the kubeconfig (or the in-cluster ServiceAccount) and the network path to the API server',
      },
    ];
  }
  const questions = accessQuestions(p.namespace).filter((q) => !p.claimsOnly || q.resource === 'configmaps');
  const answers = await Promise.all(questions.map(async (q) => ({ q, ok: await allowed(raw, q).catch(() => false) })));
  return answers
    .filter((a) => !a.ok)
    .map(({ q }) => ({
      code: 'PREFLIGHT_PERMISSION_MISSING' as const,
      message: `the runner may not ${describeQuestion(q)} (needed for ${q.why}) for ${where(p)}`,
      fix: 'grant it as deploy/rbac.yaml does (kubectl apply -k deploy/), to the identity in the kubeconfig',
    }));
}
