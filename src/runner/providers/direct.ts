/** Network `direct`: the vendor reaches the API server as it is; nothing to create or remove. */
import type { NetworkProvider } from './types.js';

export const direct: NetworkProvider = {
  name: 'direct',
  create: async () => [],
  teardown: async () => [],
  verifyGone: async () => true,
};
