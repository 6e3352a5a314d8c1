/**
 * Network `networkpolicy`: an allow NetworkPolicy applied for the session
 * and deleted at its end. Existing policies are never touched: NetworkPolicies
 * are additive, so one more allow rule opens the path and removing it closes it.
 *
 * The manifest lives in the repository and is pinned by SHA-256 in the policy
 * (`networkPolicy: { manifest, sha256 }`), so approving the policy's bytes
 * approves exactly these manifest bytes; any other bytes fail closed.
 * It is applied as raw JSON (see adapters/kube-raw.ts: the typed client
 * would drop `from`), with only its name, labels and annotations set by us.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { BreakglassError } from '../../core/errors.js';
import type { SessionPlan } from '../../core/plan.js';
import type { RawKube, RawObject } from '../../adapters/kube-raw.js';
import type { NetworkProvider, ObjectRef } from './types.js';
import { ownership } from './workload.js';

const PROVIDER = 'networkpolicy';
const API = 'networking.k8s.io/v1';

/** Parses and checks a manifest against its pinned digest; throws NETPOL_* with the reason. */
export function readManifest(path: string, bytes: Uint8Array, pinnedSha256: string): RawObject {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== pinnedSha256) {
    throw new BreakglassError('NETPOL_DIGEST', `${path} has sha256 ${actual}, but the approved policy pins ${pinnedSha256}; refusing to apply it`);
  }
  let doc: unknown;
  try {
    doc = parse(Buffer.from(bytes).toString('utf8'), { maxAliasCount: 0, uniqueKeys: true });
  } catch (e) {
    throw new BreakglassError('NETPOL_INVALID', `${path} is not valid YAML: ${(e as Error).message}`);
  }
  const m = doc as RawObject;
  if (m?.apiVersion !== API || m.kind !== 'NetworkPolicy') throw new BreakglassError('NETPOL_INVALID', `${path} must be a ${API} NetworkPolicy`);
  if (!m.metadata?.namespace) throw new BreakglassError('NETPOL_INVALID', `${path} must name its metadata.namespace`);
  const spec = m.spec as { policyTypes?: string[] } | undefined;
  if (!spec || typeof spec !== 'object') throw new BreakglassError('NETPOL_INVALID', `${path} has no spec`);
  return m;
}

/** The object applied for a session: the manifest's spec verbatim, under a session-owned name. */
export function sessionNetworkPolicy(manifest: RawObject, plan: SessionPlan): RawObject {
  const own = ownership(plan.session, plan.expires, PROVIDER);
  return {
    apiVersion: API,
    kind: 'NetworkPolicy',
    metadata: { name: `bg-${plan.session}`.slice(0, 63), namespace: manifest.metadata.namespace, ...own },
    spec: manifest.spec,
  };
}

/**
 * The first path at which `want` is not contained in `got` (server defaults may
 * add fields; they may not drop or change ours), or undefined when it is.
 */
export function firstDifference(want: unknown, got: unknown, path = 'spec'): string | undefined {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return path;
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], got[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (want && typeof want === 'object') {
    if (!got || typeof got !== 'object') return path;
    for (const [k, v] of Object.entries(want)) {
      const d = firstDifference(v, (got as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return undefined;
  }
  return want === got ? undefined : path;
}

export function networkPolicyProvider(manifest: RawObject, raw: RawKube): NetworkProvider {
  const namespace = manifest.metadata.namespace!;
  const name = (session: string) => `bg-${session}`.slice(0, 63);
  return {
    name: PROVIDER,
    async create(plan: SessionPlan): Promise<ObjectRef[]> {
      const stored = await raw.create(sessionNetworkPolicy(manifest, plan));
      const ref = { kind: 'NetworkPolicy', apiVersion: API, namespace, name: name(plan.session), provider: PROVIDER };
      // An API server silently prunes fields it does not know (endPort before 1.21):
      // what it enforces would not be what was approved. Read back; on any loss, undo and refuse.
      const lost = firstDifference(manifest.spec, stored.spec);
      if (lost) {
        await raw.delete(API, 'NetworkPolicy', namespace, ref.name);
        throw new BreakglassError('NETPOL_ALTERED', `the API server did not store ${lost} of the approved NetworkPolicy as written (unsupported by this cluster?); removed it and refused the session`);
      }
      return [ref];
    },
    async teardown(session: string): Promise<ObjectRef[]> {
      const existed = await raw.delete(API, 'NetworkPolicy', namespace, name(session));
      return existed ? [{ kind: 'NetworkPolicy', apiVersion: API, namespace, name: name(session), provider: PROVIDER }] : [];
    },
    async verifyGone(session: string): Promise<boolean> {
      return !(await raw.get(API, 'NetworkPolicy', namespace, name(session)));
    },
  };
}
