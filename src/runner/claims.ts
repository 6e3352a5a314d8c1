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
import { z } from 'zod';
import { Kube, loadKubeConfig } from '../adapters/kubernetes.js';
import { BreakglassError } from '../core/errors.js';
import { CLAIM_LABEL, claimName, MANAGED_BY, type StateLocation } from '../core/plan-objects.js';
import { SessionId } from '../core/schemas.js';
import { readJson } from '../core/json.js';
import type { ResolvedConfig } from './config.js';
import { FileClaimStore } from './file-markers.js';
import { codeOf } from '../crypto/error-parts.js';

export { CLAIM_LABEL, claimName };

const ClaimSchema = z.object({ session: SessionId, resource: z.string(), requestDigest: z.string(), runner: z.string(), commit: z.string() });
/** What a claim binds a session id to. */
export type Claim = z.infer<typeof ClaimSchema>;

/** Reads a stored claim; CLAIM_INVALID when it is not one. */
export function parseClaim(raw: string): Claim {
  const r = readJson(ClaimSchema, raw);
  if (!r.ok) throw new BreakglassError('CLAIM_INVALID', r.why);
  return r.value;
}

/**
 * The refusal when the existing claim is not ours. An unreadable claim refuses
 * too (CLAIM_INVALID): someone claimed the id, and nobody can tell for what.
 */
export function claimRefusal(c: Claim, where: string, existing: Claim | Error): string | undefined {
  if (existing instanceof Error)
    return `CLAIM_INVALID: session id ${c.session} has a claim in ${where} that cannot be read (${existing.message}); nothing activates under this id until it is repaired`;
  if (existing.session === c.session && existing.resource === c.resource && existing.requestDigest === c.requestDigest) return undefined;
  return `SESSION_CLAIMED: session id ${c.session} was already claimed in ${where} (resource ${existing.resource}, request ${existing.requestDigest}, by runner ${existing.runner} at commit ${existing.commit.slice(0, 12)}); a session id activates once per runner installation, whatever resource it names`;
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
      if (codeOf(e) !== 'KUBE_CONFLICT') throw e;
    }
    // Only a claim that cannot be read refuses here; the API server failing to answer is thrown, and retried next loop.
    const existing = await this.read(c.session).catch((e: unknown) => {
      if (e instanceof BreakglassError && e.code === 'CLAIM_INVALID') return e;
      throw e;
    });
    return claimRefusal(c, `${this.namespace}/${claimName(c.session)}`, existing ?? new Error('it vanished after the create conflicted'));
  }

  /** Only for `breakglass drill`, whose sandbox id and repository are thrown away: production claims are never deleted. */
  async releaseDrill(session: string): Promise<void> {
    await this.kube.call(`delete ConfigMap ${this.namespace}/${claimName(session)}`, () => this.kube.core.deleteNamespacedConfigMap({ namespace: this.namespace, name: claimName(session) }), true);
  }

  /** The claim on `session`; undefined when there is none, CLAIM_INVALID when there is one that cannot be read. */
  async read(session: string): Promise<Claim | undefined> {
    const cm = await this.kube.readConfigMap(this.namespace, claimName(session));
    return cm ? parseClaim(cm.data?.['claim.json'] ?? '') : undefined;
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
  const [r] = inCluster;
  return r && new ClaimStore(new Kube(loadKubeConfig(r.kubeconfig)), r.namespace);
}
