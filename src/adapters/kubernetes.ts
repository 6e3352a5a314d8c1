/**
 * The Kubernetes API, through @kubernetes/client-node, translated into our
 * errors. Only what the runner needs: ServiceAccounts, bindings, TokenRequest,
 * TokenReview, ConfigMaps (markers). Deleting something already gone (404) is
 * success; creating something that exists (409) is reported as such, because
 * the marker's "create fails if it exists" IS the exactly-once guarantee.
 */
import { AuthenticationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { BreakglassError } from '../core/errors.js';

/** The HTTP status of a client-node ApiException, if it is one. */
export function statusOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function translate(what: string, e: unknown): BreakglassError {
  const status = statusOf(e);
  const body = (e as { body?: unknown })?.body;
  const detail = typeof body === 'string' ? (safeMessage(body) ?? '') : '';
  return new BreakglassError(status === 409 ? 'KUBE_CONFLICT' : 'KUBE_FAILED', `${what} failed${status ? ` (HTTP ${status})` : ''}: ${detail || (e as Error)?.message || String(e)}`, { cause: e });
}

function safeMessage(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return undefined;
  }
}

/** Loads a kubeconfig file, or the in-cluster service account when none is named. */
export function loadKubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromCluster();
  return kc;
}

/** A minimal kubeconfig that authenticates with `token` and nothing else. */
export function tokenKubeConfig(server: string, caPem: string | undefined, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caData: caPem ? Buffer.from(caPem).toString('base64') : undefined, skipTLSVerify: false }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** A labelled object as listed back from the cluster. */
export interface Owned {
  kind: 'ServiceAccount' | 'ClusterRoleBinding' | 'RoleBinding';
  namespace?: string;
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Typed wrappers over the three API groups the runner uses. */
export class Kube {
  readonly core: CoreV1Api;
  readonly rbac: RbacAuthorizationV1Api;
  readonly authn: AuthenticationV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    this.authn = kc.makeApiClient(AuthenticationV1Api);
  }

  /** Runs a call; 404 becomes `undefined` when `missingOk`, everything else our error. */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T>;
  async call<T>(what: string, fn: () => Promise<T>, missingOk: boolean): Promise<T | undefined>;
  async call<T>(what: string, fn: () => Promise<T>, missingOk = false): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if (missingOk && statusOf(e) === 404) return undefined;
      throw translate(what, e);
    }
  }

  async createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(`create ConfigMap ${namespace}/${body.metadata?.name}`, () => this.core.createNamespacedConfigMap({ namespace, body }));
  }
  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | undefined> {
    return this.call(`read ConfigMap ${namespace}/${name}`, () => this.core.readNamespacedConfigMap({ namespace, name }), true);
  }
  /** Replace with the resourceVersion in `body`: a concurrent writer makes this fail with KUBE_CONFLICT. */
  async replaceConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    const name = body.metadata?.name;
    if (!name) throw new BreakglassError('KUBE_FAILED', `update ConfigMap in ${namespace}: the body has no metadata.name`);
    return this.call(`update ConfigMap ${namespace}/${name}`, () => this.core.replaceNamespacedConfigMap({ namespace, name, body }));
  }
  async listConfigMaps(namespace: string, labelSelector: string): Promise<V1ConfigMap[]> {
    return (await this.call(`list ConfigMaps in ${namespace}`, () => this.core.listNamespacedConfigMap({ namespace, labelSelector }))).items;
  }

  /** Every ServiceAccount and binding carrying `labelSelector`, across namespaces. */
  async listOwned(namespace: string, labelSelector: string): Promise<Owned[]> {
    const meta = (m: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } | undefined) => ({
      name: m?.name ?? '',
      namespace: m?.namespace,
      labels: m?.labels ?? {},
      annotations: m?.annotations ?? {},
    });
    const sas = await this.call('list ServiceAccounts', () => this.core.listNamespacedServiceAccount({ namespace, labelSelector }));
    const crbs = await this.call('list ClusterRoleBindings', () => this.rbac.listClusterRoleBinding({ labelSelector }));
    const rbs = await this.call('list RoleBindings', () => this.rbac.listRoleBindingForAllNamespaces({ labelSelector }));
    return [
      ...sas.items.map((o) => ({ kind: 'ServiceAccount' as const, ...meta(o.metadata) })),
      ...crbs.items.map((o) => ({ kind: 'ClusterRoleBinding' as const, ...meta(o.metadata), namespace: undefined })),
      ...rbs.items.map((o) => ({ kind: 'RoleBinding' as const, ...meta(o.metadata) })),
    ];
  }

  /** Deletes one object; true when it was deleted, false when it was already gone. */
  async delete(ref: { kind: Owned['kind']; namespace?: string; name: string }): Promise<boolean> {
    const { name } = ref;
    const namespace = ref.namespace ?? '';
    const what = `delete ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${name}`;
    const fn =
      ref.kind === 'ServiceAccount'
        ? () => this.core.deleteNamespacedServiceAccount({ name, namespace })
        : ref.kind === 'RoleBinding'
          ? () => this.rbac.deleteNamespacedRoleBinding({ name, namespace })
          : () => this.rbac.deleteClusterRoleBinding({ name });
    return (await this.call(what, fn as () => Promise<unknown>, true)) !== undefined;
  }

  /** True while the API server still authenticates `token`. */
  async tokenAuthenticated(token: string): Promise<boolean> {
    const res = await this.call('TokenReview', () => this.authn.createTokenReview({ body: { spec: { token } } }));
    return res.status?.authenticated === true;
  }
}
