/**
 * The network providers, built per resource from the runner's own config.
 * A network this runner is not configured for is refused with the reason
 * BEFORE any marker exists (`networkRefusal`), and again, fail-closed, when
 * the provider is built (`networkProvider`). Teardown builds the provider
 * from the marker alone: no manifest, no git.
 */
import type { HttpOptions } from '../../adapters/http.js';
import type { RawKube } from '../../adapters/kube-raw.js';
import { BreakglassError } from '../../core/errors.js';
import type { FileSource } from '../../core/repository.js';
import type { Network, PolicyResource, RunnerConfig } from '../../core/schemas.js';
import { direct } from './direct.js';
import { networkPolicyProvider, readManifest } from './networkpolicy.js';
import { tailscaleProvider } from './tailscale.js';
import { twingateProvider } from './twingate.js';
import type { NetworkProvider } from './types.js';
import { messageOf } from '../../crypto/error-parts.js';

type RunnerResource = RunnerConfig['resources'][string];

/** What building a provider takes: the resource's runner settings and cluster, and at activation the approved manifest. */
export interface ProviderSetup {
  /** The resource's entry in the runner config. */
  config: RunnerResource;
  raw: RawKube;
  /** The runner's namespace there: where workloads live, and the owner label's value. */
  namespace: string;
  /** The runner's environment: API keys are read from it by name, never from a file. */
  env: NodeJS.ProcessEnv;
  /** Activation only: the governing policy resource's manifest pin and the verified commit's files. */
  approved?: { pin: PolicyResource['networkPolicy']; source: FileSource };
  http?: HttpOptions;
}

/**
 * The environment variables a configured provider reads its API credentials
 * from (names, never values): the one list both `networkRefusal` and
 * `runner --check` use.
 */
export function providerEnvNames(network: 'tailscale' | 'twingate', config: RunnerResource): string[] {
  if (network === 'tailscale') {
    const ts = config.tailscale;
    if (!ts) return [];
    return ts.oauth ? [ts.oauth.clientIdEnv, ts.oauth.clientSecretEnv] : [ts.apiKeyEnv ?? 'TS_API_KEY'];
  }
  return config.twingate ? [config.twingate.apiKeyEnv] : [];
}

/** The provider variables that are unset (or empty) in `env`. */
export function missingProviderEnv(network: 'tailscale' | 'twingate', config: RunnerResource, env: NodeJS.ProcessEnv): string[] {
  return providerEnvNames(network, config).filter((n) => !env[n]);
}

/** Why this runner cannot open `network` for the resource, or undefined when it can. Names variables, never values. */
export function networkRefusal(network: Network, config: RunnerResource, env: NodeJS.ProcessEnv, pin: PolicyResource['networkPolicy']): string | undefined {
  if (network === 'tailscale' || network === 'twingate') {
    if (!config[network]) return `network ${network} is not configured for this resource on this runner (its runner config entry has no ${network} section)`;
    const unset = missingProviderEnv(network, config, env);
    return unset.length ? `network ${network}: ${unset.join(', ')} not set in the runner's environment` : undefined;
  }
  if (network === 'networkpolicy' && !pin) return 'network networkpolicy needs a pinned manifest (networkPolicy: { manifest, sha256 }) on the resource in the approved policy';
  return undefined;
}

function unavailable(message: string): BreakglassError {
  return new BreakglassError('NETWORK_UNAVAILABLE', message);
}

/** Reads the approved manifest at the verified commit and checks it against the policy's pin. */
async function approvedManifest(approved: NonNullable<ProviderSetup['approved']>) {
  const pin = approved.pin;
  if (!pin) throw unavailable('network networkpolicy needs a pinned manifest on the resource in the approved policy');
  const bytes = await approved.source.read(pin.manifest);
  // The runner reads policies/ at the verified commit; a manifest elsewhere is not covered.
  if (!bytes) throw new BreakglassError('NETPOL_MANIFEST', `${pin.manifest} is not in policies/ at the verified commit; nothing applied`);
  return readManifest(pin.manifest, bytes, pin.sha256);
}

/** The approved manifest's namespace for the session plan, or why it cannot be applied (the same check activation makes). */
export async function manifestForPlan(approved: NonNullable<ProviderSetup['approved']>): Promise<{ namespace: string } | { refused: { code: string; message: string } }> {
  try {
    const namespace = (await approvedManifest(approved)).metadata.namespace;
    if (namespace) return { namespace };
    return { refused: { code: 'NETPOL_INVALID', message: 'the approved manifest names no namespace' } };
  } catch (e) {
    return { refused: { code: e instanceof BreakglassError ? e.code : 'NETPOL_INVALID', message: messageOf(e) } };
  }
}

/** Builds the provider for `network`; throws NETWORK_UNAVAILABLE (or NETPOL_*) with the reason when it cannot. */
export async function networkProvider(network: Network, setup: ProviderSetup): Promise<NetworkProvider> {
  const { config, raw, namespace, env, http } = setup;
  switch (network) {
    case 'direct':
      return direct;
    case 'tailscale':
      if (!config.tailscale) throw unavailable('network tailscale is not configured for this resource on this runner');
      return tailscaleProvider(config.tailscale, { raw, namespace, env, http });
    case 'twingate':
      if (!config.twingate) throw unavailable('network twingate is not configured for this resource on this runner');
      return twingateProvider(config.twingate, { raw, namespace, env, http });
    case 'networkpolicy':
      // Without `approved` this is a teardown: references and labels are enough.
      return networkPolicyProvider(setup.approved ? await approvedManifest(setup.approved) : undefined, raw, namespace);
    default:
      throw unavailable(`network ${String(network)} is not one this runner knows`);
  }
}
