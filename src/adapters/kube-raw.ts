/**
 * Kubernetes objects as plain JSON, sent and read back exactly as written.
 *
 * Why not client-node's typed APIs here: their serializer maps JSON keys to
 * model fields, and NetworkPolicy's `from` is `_from` in the model — a
 * manifest passed through it silently loses its `from` rules and becomes an
 * allow-all. Manifests kept in the repository are applied byte-for-byte as
 * JSON instead, through the same KubeConfig (TLS and auth) the runner uses.
 */
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { BreakglassError } from '../core/errors.js';

/** A Kubernetes object as JSON. */
export interface RawObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

const PLURALS: Record<string, string> = {
  Secret: 'secrets',
  ConfigMap: 'configmaps',
  Deployment: 'deployments',
  NetworkPolicy: 'networkpolicies',
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
};

/** REST path of a kind in a namespace (and of one object when `name` is given). */
export function objectPath(apiVersion: string, kind: string, namespace: string, name?: string): string {
  const plural = PLURALS[kind];
  if (!plural) throw new BreakglassError('KUBE_KIND', `kind ${kind} is not one breakglass manages`);
  const prefix = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return `${prefix}/namespaces/${encodeURIComponent(namespace)}/${plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export class RawKube {
  private readonly kc: KubeConfig;
  constructor(kc: KubeConfig) {
    this.kc = kc;
  }

  /** One request; resolves with status and parsed body. Never throws on HTTP status. */
  async send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new BreakglassError('KUBE_CONFIG', 'the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    const opts: import('node:https').RequestOptions = { method, headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    if (payload) Object.assign(opts.headers!, { 'content-type': contentType, 'content-length': payload.length });
    const send = url.protocol === 'http:' ? httpRequest : request;
    return new Promise((resolve, reject) => {
      const req = send(url, { ...opts, timeout: 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            /* keep text */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e) => reject(new BreakglassError('KUBE_UNREACHABLE', `${method} ${path}: ${e.message}`, { cause: e })));
      req.end(payload);
    });
  }

  private static fail(what: string, r: { status: number; body: unknown }): BreakglassError {
    const msg = (r.body as { message?: string })?.message ?? '';
    return new BreakglassError(r.status === 409 ? 'KUBE_CONFLICT' : 'KUBE_FAILED', `${what} failed (HTTP ${r.status})${msg ? `: ${msg}` : ''}`);
  }

  /** Creates the object exactly as given; returns what the API server stored. */
  async create(obj: RawObject): Promise<RawObject> {
    const ns = obj.metadata.namespace;
    if (!ns) throw new BreakglassError('KUBE_NAMESPACE', `${obj.kind} ${obj.metadata.name} has no namespace`);
    const r = await this.send('POST', objectPath(obj.apiVersion, obj.kind, ns), obj);
    if (r.status !== 201 && r.status !== 200) throw RawKube.fail(`create ${obj.kind} ${ns}/${obj.metadata.name}`, r);
    return r.body as RawObject;
  }

  async get(apiVersion: string, kind: string, namespace: string, name: string): Promise<RawObject | undefined> {
    const r = await this.send('GET', objectPath(apiVersion, kind, namespace, name));
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw RawKube.fail(`read ${kind} ${namespace}/${name}`, r);
    return r.body as RawObject;
  }

  /** Deletes; an object already gone (404) is success. Returns whether it existed. */
  async delete(apiVersion: string, kind: string, namespace: string, name: string): Promise<boolean> {
    const r = await this.send('DELETE', objectPath(apiVersion, kind, namespace, name), { propagationPolicy: 'Background' });
    if (r.status === 404) return false;
    if (r.status !== 200 && r.status !== 202) throw RawKube.fail(`delete ${kind} ${namespace}/${name}`, r);
    return true;
  }

  async list(apiVersion: string, kind: string, namespace: string, labelSelector: string): Promise<RawObject[]> {
    return this.listAt(`${objectPath(apiVersion, kind, namespace)}?labelSelector=${encodeURIComponent(labelSelector)}`, apiVersion, kind, `in ${namespace}`);
  }

  /** Lists `kind` across every namespace: NetworkPolicies live wherever their manifest put them. */
  async listAllNamespaces(apiVersion: string, kind: string, labelSelector: string): Promise<RawObject[]> {
    const path = objectPath(apiVersion, kind, '-').replace('/namespaces/-', '');
    return this.listAt(`${path}?labelSelector=${encodeURIComponent(labelSelector)}`, apiVersion, kind, 'in all namespaces');
  }

  private async listAt(path: string, apiVersion: string, kind: string, where: string): Promise<RawObject[]> {
    const r = await this.send('GET', path);
    if (r.status !== 200) throw RawKube.fail(`list ${kind} ${where}`, r);
    return ((r.body as { items?: RawObject[] }).items ?? []).map((o) => ({ ...o, apiVersion, kind }));
  }
}
