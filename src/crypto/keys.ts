/**
 * How an approver's signatures are recognised: the key material the crypto
 * layer verifies with. core/trust.ts re-exports these beside the threshold.
 */
import type { PublicKey } from './openpgp.js';

/** How one approver's signatures are recognised. */
export type TrustedKey = { type: 'openpgp'; key: PublicKey } | { type: 'sigstore-key'; publicKeyPem: string } | { type: 'sigstore-identity'; issuer: string; subject: string; trustedRoot: unknown };

/**
 * One key of one approver of the trust file. An approver with several keys
 * (the old one, revoked as superseded, beside the new one) appears once per
 * key, under the same name; the threshold counts the name once.
 */
export interface TrustedApprover {
  name: string;
  /**
   * The approver's own e-mail, used only for the self-approval rule. Other
   * identities also count: the e-mails in OpenPGP user ids, a keyless subject.
   */
  email?: string;
  key: TrustedKey;
}
