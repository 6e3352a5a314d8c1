/**
 * "Once" for the whole runner installation: before any marker, the runner
 * creates a ConfigMap `bg-claim-<id>` in one namespace for the installation
 * (RunnerConfig `claims`, or the namespace every resource shares). Creation is
 * create-only on the API server, so a session id is claimed once, whatever
 * resource or namespace a later (rewritten) request names. Claims are never
 * deleted.
 *
 * The claim binds the id to one resource and one request digest. Finding our
 * own claim again (a crash between claim and marker) lets activation go on,
 * where the per-resource marker still decides; any other claim is
 * SESSION_CLAIMED.
 */
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { Kube, loadKubeConfig } from '../adapters/kubernetes.js';
import { BreakglassError } from '../core/errors.js';
import { CLAIM_LABEL, claimName, MANAGED_BY, type StateLocation } from '../core/plan-objects.js';
import type { ResolvedConfig } from './config.js';
import { FileClaimStore } from './file-markers.js';

export { CLAIM_LABEL, claimName };

/** What a claim binds a session id to. */
export interface Claim {
  session: string;
  resource: string;
  requestDigest: string;
  runner: string;
  commit: string;
}

/** Where the installation claims session ids. */
export interface Claims {
  /** Where the claims are kept: what the session plan names. */
  readonly location: StateLocation;
  /** Claims the id; undefined when it is (now) ours, or the reason it is not: SESSION_CLAIMED. */
  claim(c: Claim): Promise<string | undefined>;
  /** Only for `breakglass drill` (cluster claims). */
  releaseDrill?(session: string): Promise<void>;
}

/** The installation's claim store. */
export class ClaimStore implements Claims {
  readonly kube: Kube;
  readonly namespace: string;
  readonly location: StateLocation;
  constructor(kube: Kube, namespace: string) {
    this.kube = kube;
    this.namespace = namespace;
    this.location = { kind: 'ConfigMap', namespace };
  }

  /** Claims the id; returns undefined when it is (now) ours, or the reason it is not: SESSION_CLAIMED. */
  async claim(c: Claim): Promise<string | undefined> {
    const body: V1ConfigMap = { metadata: { name: claimName(c.session), labels: { [MANAGED_BY]: 'breakglass', [CLAIM_LABEL]: 'true' } }, data: { 'claim.json': JSON.stringify(c) } };
    try {
      await this.kube.createConfigMap(this.namespace, body);
      return undefined;
    } catch (e) {
      if ((e as BreakglassError).code !== 'KUBE_CONFLICT') throw e;
    }
    const existing = await this.read(c.session);
    if (existing && existing.resource === c.resource && existing.requestDigest === c.requestDigest) return undefined;
    const what = existing ? `resource ${existing.resource}, request ${existing.requestDigest}, by runner ${existing.runner} at commit ${existing.commit.slice(0, 12)}` : 'an unreadable claim';
    return `SESSION_CLAIMED: session id ${c.session} was already claimed in ${this.namespace} (${what}); a session id activates once per runner installation, whatever resource it names`;
  }

  /** Only for `breakglass drill`, whose sandbox id and repository are thrown away: production claims are never deleted. */
  async releaseDrill(session: string): Promise<void> {
    await this.kube.call(`delete ConfigMap ${this.namespace}/${claimName(session)}`, () => this.kube.core.deleteNamespacedConfigMap({ namespace: this.namespace, name: claimName(session) }), true);
  }

  async read(session: string): Promise<Claim | undefined> {
    const cm = await this.kube.readConfigMap(this.namespace, claimName(session));
    try {
      return JSON.parse(cm?.data?.['claim.json'] ?? '') as Claim;
    } catch {
      return undefined;
    }
  }
}

/**
 * Where the installation's claims live: `claims` in the config, else the one
 * (kubeconfig, namespace) every resource shares. Resources spread over
 * several clusters or namespaces without `claims` is a configuration error:
 * claims split by resource would not be "once".
 */
export function claimStoreFor(config: ResolvedConfig): Claims | undefined {
  if (config.claims) return new ClaimStore(new Kube(loadKubeConfig(config.claims.kubeconfig)), config.claims.namespace);
  const inCluster = Object.values(config.resources).filter((r) => r.markers !== 'file');
  // No cluster at all: the claims are files beside the markers, in the state directory.
  if (inCluster.length === 0) return Object.keys(config.resources).length ? new FileClaimStore(join(config.state, 'claims')) : undefined;
  const places = new Set(inCluster.map((r) => JSON.stringify([r.kubeconfig ?? '', r.namespace])));
  if (places.size > 1)
    throw new BreakglassError(
      'CONFIG_INVALID',
      `resources live in ${places.size} different clusters or namespaces; set claims: { namespace, kubeconfig } to the one place where this installation claims session ids`,
    );
  const r = inCluster[0]!;
  return new ClaimStore(new Kube(loadKubeConfig(r.kubeconfig)), r.namespace);
}
