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
import { MAX_DOCUMENT_BYTES } from '../../core/document.js';
import { BreakglassError } from '../../core/errors.js';
import { scanYaml } from '../../core/yaml-scan.js';
import { ownedSelector, type SessionPlan } from '../../core/plan.js';
import { networkPolicyName } from '../../core/plan-objects.js';
import type { RawKube, RawObject } from '../../adapters/kube-raw.js';
import type { NetworkProvider, ObjectRef } from './types.js';
import { ownership } from './workload.js';
import { messageOf } from '../../crypto/error-parts.js';

const PROVIDER = 'networkpolicy';
const API = 'networking.k8s.io/v1';

/** Parses and checks a manifest against its pinned digest; throws NETPOL_* with the reason. */
export function readManifest(path: string, bytes: Uint8Array, pinnedSha256: string): RawObject {
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== pinnedSha256) {
    throw new BreakglassError('NETPOL_DIGEST', `${path} has sha256 ${actual}, but the approved policy pins ${pinnedSha256}; refusing to apply it`);
  }
  // The same limits as every breakglass document, before the parser runs: the
  // runner's loop must not stall on a manifest, however it was approved.
  if (bytes.length > MAX_DOCUMENT_BYTES) throw new BreakglassError('NETPOL_INVALID', `${path} is ${bytes.length} bytes; at most ${MAX_DOCUMENT_BYTES} are accepted`);
  const text = Buffer.from(bytes).toString('utf8');
  const limit = scanYaml(path, text);
  if (limit) throw new BreakglassError('NETPOL_INVALID', `${path}:${limit.line}:${limit.col}: ${limit.code}: ${limit.message}`);
  let doc: unknown;
  try {
    // uniqueKeys compares each key with every earlier one; the scan above caps keys per mapping.
    doc = parse(text, { maxAliasCount: 0, uniqueKeys: true });
  } catch (e) {
    throw new BreakglassError('NETPOL_INVALID', `${path} is not valid YAML: ${messageOf(e)}`);
  }
  const m = doc as RawObject;
  if (m?.apiVersion !== API || m.kind !== 'NetworkPolicy') throw new BreakglassError('NETPOL_INVALID', `${path} must be a ${API} NetworkPolicy`);
  if (!m.metadata?.namespace) throw new BreakglassError('NETPOL_INVALID', `${path} must name its metadata.namespace`);
  const spec = m.spec as { policyTypes?: string[] } | undefined;
  if (!spec || typeof spec !== 'object') throw new BreakglassError('NETPOL_INVALID', `${path} has no spec`);
  return m;
}

const policyName = networkPolicyName;

/** The object applied for a session: the manifest's spec verbatim, under a session-owned name, owned by the runner namespace `owner`. */
export function sessionNetworkPolicy(manifest: RawObject, plan: SessionPlan, owner: string): RawObject {
  const own = ownership(plan.session, plan.expires, PROVIDER, owner);
  return {
    apiVersion: API,
    kind: 'NetworkPolicy',
    metadata: { name: policyName(plan.session), namespace: manifest.metadata.namespace, ...own },
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

/**
 * The provider. `manifest` is needed only to create: teardown and
 * verification work from the marker's references and the ownership labels
 * alone, so a restarted runner closes the path without re-reading git.
 * `owner` is the runner namespace (the owner label's value).
 */
export function networkPolicyProvider(manifest: RawObject | undefined, raw: RawKube, owner: string): NetworkProvider {
  const ref = (namespace: string, name: string): ObjectRef => ({ kind: 'NetworkPolicy', apiVersion: API, namespace, name, provider: PROVIDER });
  // Across namespaces, by label: a crash between create and recording the reference leaves no reference.
  const labelled = (session: string) => raw.listAllNamespaces(API, 'NetworkPolicy', ownedSelector(owner, session));
  return {
    name: PROVIDER,
    async create(plan: SessionPlan): Promise<ObjectRef[]> {
      if (!manifest) throw new BreakglassError('NETPOL_MANIFEST', `no approved NetworkPolicy manifest for session ${plan.session}; nothing applied`);
      const stored = await raw.create(sessionNetworkPolicy(manifest, plan, owner));
      const made = ref(manifest.metadata.namespace!, policyName(plan.session));
      // An API server silently prunes fields it does not know (endPort before 1.21):
      // what it enforces would not be what was approved. Read back; on any loss, undo and refuse.
      const lost = firstDifference(manifest.spec, stored.spec);
      if (lost) {
        await raw.delete(API, 'NetworkPolicy', made.namespace!, made.name);
        throw new BreakglassError('NETPOL_ALTERED', `the API server did not store ${lost} of the approved NetworkPolicy as written (unsupported by this cluster?); removed it and refused the session`);
      }
      return [made];
    },
    async teardown(session: string, objects: readonly ObjectRef[]): Promise<ObjectRef[]> {
      const targets = new Map<string, ObjectRef>();
      for (const o of objects) if (o.kind === 'NetworkPolicy' && o.namespace) targets.set(`${o.namespace}/${o.name}`, ref(o.namespace, o.name));
      for (const o of await labelled(session)) targets.set(`${o.metadata.namespace}/${o.metadata.name}`, ref(o.metadata.namespace!, o.metadata.name));
      const deleted: ObjectRef[] = [];
      for (const t of targets.values()) if (await raw.delete(API, 'NetworkPolicy', t.namespace!, t.name)) deleted.push(t);
      return deleted;
    },
    async verifyGone(session: string): Promise<boolean> {
      return (await labelled(session)).length === 0;
    },
  };
}
