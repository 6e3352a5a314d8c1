/**
 * Every object a session leaves in the world, by name, planned purely: the
 * network path's objects (cluster and provider API), the command it runs, what
 * its recording writes and the state objects that make "once" hold. The
 * providers and stores import their names from here, so the plan and what is
 * applied cannot drift apart; activation also checks each object it made
 * against the plan (runner/activate.ts) and refuses one the plan does not name.
 * Nothing here ever holds a secret: keys, tokens and passwords are made at
 * activation and never planned.
 */
import { buildArgv } from './command.js';
import type { Network, PolicyCommand, TailscaleConfig, TwingateConfig } from './schemas.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const SESSION_LABEL = 'breakglass.dev/session';
export const EXPIRES_ANNOTATION = 'breakglass.dev/expires';
/**
 * The runner namespace that owns an object. Bindings are cluster-wide objects:
 * without this, two runners sharing a cluster (two repositories, two teams)
 * would each take the other's bindings for orphans and reap live sessions.
 */
export const OWNER_LABEL = 'breakglass.dev/runner-namespace';
/** Which provider made a network path object: the reaper and teardown select by it. */
export const PROVIDER_LABEL = 'breakglass.dev/provider';
export const MARKER_LABEL = 'breakglass.dev/marker';
export const PHASE_LABEL = 'breakglass.dev/phase';
export const CLAIM_LABEL = 'breakglass.dev/claim';
export const RECORDING_LABEL = 'breakglass.dev/recording';

const RBAC = 'rbac.authorization.k8s.io/v1';

/** Who creates a planned cluster object: the credential, or the network path's provider. */
export type ObjectOwner = 'kubernetes-token' | 'tailscale' | 'twingate' | 'networkpolicy';

/** One Kubernetes object the session creates (and its teardown deletes). */
export interface PlannedObject {
  kind: 'ServiceAccount' | 'ClusterRoleBinding' | 'RoleBinding' | 'Role' | 'Secret' | 'Deployment' | 'NetworkPolicy';
  apiVersion: string;
  namespace?: string;
  name: string;
  provider: ObjectOwner;
  roleRef?: { kind: 'ClusterRole'; name: string };
  subject?: { namespace: string; name: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Something a provider creates through its own API; its id is known only once it exists, so it is planned by what finds it. */
export interface PlannedExternal {
  kind: 'TailscaleAuthKey' | 'TailscaleDevice' | 'TwingateConnector';
  provider: 'tailscale' | 'twingate';
  /** How teardown finds it without a reference: a key's description, a device's hostname, a connector's name. */
  findBy: string;
  detail: Record<string, unknown>;
}

/** The network path: what opens it, in the order it is created. */
export interface PlannedPath {
  network: Network;
  objects: PlannedObject[];
  external: PlannedExternal[];
  /** Why this path cannot open as approved (the manifest is not the pinned one): activation will fail at the network step. */
  refused?: { code: string; message: string };
}

/** What `planPath` needs: the runner's settings for the path, and for networkpolicy the approved manifest's namespace. */
export interface PathInput {
  network: Network;
  session: string;
  expires: string;
  /** The runner's namespace: where workloads live, and the owner label's value. */
  namespace: string;
  tailscale?: TailscaleConfig;
  twingate?: TwingateConfig;
  manifest?: { namespace: string } | { refused: { code: string; message: string } };
}

export function workloadName(session: string, provider: string): string {
  return `bg-${session}-${provider}`.slice(0, 63).replace(/-+$/, '');
}

/** The Tailscale router's node state Secret; the only object its ServiceAccount may touch. */
export function stateSecretName(session: string): string {
  return `${workloadName(session, 'tailscale')}-state`;
}

/** The router's Tailscale hostname: how teardown finds the device it registered. */
export function routerHostname(session: string): string {
  return `bg-${session}`.slice(0, 63);
}

/** The connector's name in Twingate: how teardown and verification find it without a reference. */
export function connectorName(session: string): string {
  return `bg-${session}`.slice(0, 63);
}

/** The session's allow NetworkPolicy. */
export function networkPolicyName(session: string): string {
  return `bg-${session}`.slice(0, 63);
}

/**
 * The auth key's description names its session, so teardown can find it without a
 * reference. Tailscale keeps 50 characters: a longer one would be cut, could
 * then match another session's key, and is not used to find keys (the key
 * still lapses on its own 10-minute clock, and the device is found by hostname).
 */
export function keyDescription(session: string): string | undefined {
  const d = `breakglass ${session}`;
  return d.length <= 50 ? d : undefined;
}

/** Auth keys only need to outlive router start-up; a short life limits what a leaked key is worth. */
export const AUTH_KEY_SECONDS = 600;

export function markerName(session: string): string {
  return `bg-marker-${session}`;
}

export function claimName(session: string): string {
  return `bg-claim-${session}`;
}

export function chunkSecretName(session: string, index: number): string {
  return `bg-rec-${session}-${String(index).padStart(6, '0')}`;
}

/**
 * Labels and annotations every object created for a session carries. The
 * owner label is the runner's namespace: the reaper selects by it, so two
 * runners sharing a cluster never take each other's objects for orphans.
 */
export function ownership(session: string, expires: string, provider: string, owner: string): { labels: Record<string, string>; annotations: Record<string, string> } {
  return {
    labels: { [MANAGED_BY]: 'breakglass', [OWNER_LABEL]: owner, [SESSION_LABEL]: session, [PROVIDER_LABEL]: provider },
    annotations: { [EXPIRES_ANNOTATION]: expires },
  };
}

/** The path's objects in the order its provider creates them. */
export function planPath(p: PathInput): PlannedPath {
  const none: PlannedPath = { network: p.network, objects: [], external: [] };
  const meta = (provider: 'tailscale' | 'twingate' | 'networkpolicy', namespace: string) => ({ namespace, provider, ...ownership(p.session, p.expires, provider, p.namespace) });
  switch (p.network) {
    case 'direct':
      return none;
    case 'tailscale': {
      const name = workloadName(p.session, 'tailscale');
      const m = meta('tailscale', p.namespace);
      const routes = p.tailscale?.routes ?? [];
      return {
        network: p.network,
        objects: [
          { kind: 'Secret', apiVersion: 'v1', name, ...m },
          { kind: 'Secret', apiVersion: 'v1', name: stateSecretName(p.session), ...m },
          { kind: 'ServiceAccount', apiVersion: 'v1', name, ...m },
          { kind: 'Role', apiVersion: RBAC, name, ...m },
          { kind: 'RoleBinding', apiVersion: RBAC, name, ...m },
          { kind: 'Deployment', apiVersion: 'apps/v1', name, ...m },
        ],
        external: [
          {
            kind: 'TailscaleAuthKey',
            provider: 'tailscale',
            findBy: keyDescription(p.session) ?? 'breakglass',
            detail: { tags: p.tailscale?.tags ?? [], ephemeral: true, reusable: false, preauthorized: true, expirySeconds: AUTH_KEY_SECONDS },
          },
          { kind: 'TailscaleDevice', provider: 'tailscale', findBy: routerHostname(p.session), detail: { tailnet: p.tailscale?.tailnet, routes, routeApproval: p.tailscale?.routeApproval } },
        ],
      };
    }
    case 'twingate': {
      const name = workloadName(p.session, 'twingate');
      const m = meta('twingate', p.namespace);
      return {
        network: p.network,
        objects: [
          { kind: 'Secret', apiVersion: 'v1', name, ...m },
          { kind: 'Deployment', apiVersion: 'apps/v1', name, ...m },
        ],
        external: [{ kind: 'TwingateConnector', provider: 'twingate', findBy: connectorName(p.session), detail: { network: p.twingate?.network, remoteNetworkId: p.twingate?.remoteNetworkId } }],
      };
    }
    case 'networkpolicy': {
      const manifest = p.manifest;
      if (!manifest || 'refused' in manifest) return { ...none, refused: manifest?.refused ?? { code: 'NETPOL_MANIFEST', message: 'no approved NetworkPolicy manifest' } };
      return { ...none, objects: [{ kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', name: networkPolicyName(p.session), ...meta('networkpolicy', manifest.namespace) }] };
    }
  }
}

/** The command a command resource runs: the exact argv (inputs are the request's, never secret) and the pinned digests. */
export interface PlannedCommand {
  name: string;
  argv: string[];
  sha256?: string;
  revoke?: string[];
  revokeSha256?: string;
  timeout?: string;
}

export function planCommand(def: PolicyCommand, inputs: Readonly<Record<string, string>>): PlannedCommand {
  return {
    name: def.name,
    argv: buildArgv(def.run, inputs),
    sha256: def.sha256,
    revoke: def.revoke && buildArgv(def.revoke, inputs),
    revokeSha256: def.revokeSha256,
    timeout: def.timeout,
  };
}

/** Where a marker or claim store keeps its objects. */
export type StateLocation = { kind: 'ConfigMap'; namespace: string } | { kind: 'File'; directory: string };

/** One state object: created before anything is minted, never deleted ("once" is forever). */
export type PlannedState = { kind: 'ConfigMap'; apiVersion: 'v1'; namespace: string; name: string; labels: Record<string, string> } | { kind: 'File'; path: string };

/** The claim (installation-wide "once") and the marker (per resource; the session's durable state). */
export interface PlannedStateObjects {
  claim?: PlannedState;
  marker: PlannedState;
}

export function planState(session: string, marker: StateLocation, claim: StateLocation | undefined): PlannedStateObjects {
  const markerObject: PlannedState =
    marker.kind === 'ConfigMap'
      ? {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          namespace: marker.namespace,
          name: markerName(session),
          labels: { [MANAGED_BY]: 'breakglass', [MARKER_LABEL]: 'true', [PHASE_LABEL]: 'activating', [SESSION_LABEL]: session },
        }
      : { kind: 'File', path: `${marker.directory}/${session}.v000001.json` };
  if (!claim) return { marker: markerObject };
  const claimObject: PlannedState =
    claim.kind === 'ConfigMap'
      ? { kind: 'ConfigMap', apiVersion: 'v1', namespace: claim.namespace, name: claimName(session), labels: { [MANAGED_BY]: 'breakglass', [CLAIM_LABEL]: 'true' } }
      : { kind: 'File', path: `${claim.directory}/${session}.json` };
  return { claim: claimObject, marker: markerObject };
}

/** What recording a session writes: nothing, or the gateway credential's hash in the marker and sealed chunk Secrets. */
export type PlannedRecording =
  | { recorded: false }
  | {
      recorded: true;
      /** Where the vendor's kubeconfig points. */
      gateway: string;
      /** The vendor gets a gateway credential; only its SHA-256 is kept, in the marker's credentialSha256. */
      credential: { format: string; stored: 'sha256 in the marker' };
      /** One Secret per sealed chunk, written while the session runs, collected into the record at teardown. */
      chunks: { kind: 'Secret'; apiVersion: 'v1'; namespace: string; namePattern: string; labels: Record<string, string> };
    };

export function planRecording(session: string, gateway: string | undefined, namespace: string): PlannedRecording {
  if (!gateway) return { recorded: false };
  return {
    recorded: true,
    gateway,
    credential: { format: `bgw1.${session}.<256 random bits>`, stored: 'sha256 in the marker' },
    chunks: { kind: 'Secret', apiVersion: 'v1', namespace, namePattern: `bg-rec-${session}-<index, 6 digits>`, labels: { [MANAGED_BY]: 'breakglass', [RECORDING_LABEL]: session } },
  };
}
