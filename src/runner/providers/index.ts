/** The network providers this runner can use, by the name a request gives. */
import type { Network } from '../../core/schemas.js';
import { direct } from './direct.js';
import type { NetworkProvider } from './types.js';

const PROVIDERS: Partial<Record<Network, NetworkProvider>> = { direct };

/** The provider for `network`, or undefined when this runner cannot open that path (the session fails closed). */
export function networkProvider(network: Network): NetworkProvider | undefined {
  return PROVIDERS[network];
}
