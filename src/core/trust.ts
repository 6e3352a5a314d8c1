/**
 * Trust material as the verifier receives it: already loaded, already parsed.
 * Where it came from (a file, a Kubernetes Secret) is the adapter's concern;
 * it is never the repository under verification.
 */
import type { TrustedApprover } from '../crypto/keys.js';

/** The key types live with the code that verifies with them (crypto/keys.ts). */
export type { TrustedApprover, TrustedKey } from '../crypto/keys.js';

/** The customer's trust, injected into every verification. */
export interface TrustMaterial {
  /** A floor: policy may ask for more approvals, never fewer. */
  threshold: number;
  approvers: readonly TrustedApprover[];
}
