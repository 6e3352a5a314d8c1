/**
 * The informational signature check: which keys (the `trust` input) and
 * which verifier. Informational because the keys come from the repository a
 * pull request can change; the runner uses its own trust file.
 */
import type { SignatureCheck } from './approvals.js';
import type { Settings } from './settings.js';

export interface SignatureSetup {
  check?: SignatureCheck;
  /** Says how approvals were checked, for the comment and summary. */
  checkedWith: string;
  /** Distinct signed approvals a changed policy needs in a pull request. */
  policyApprovalsNeeded: number;
}

/** No verifier is wired in yet: approvals are reported as present, unverified. */
export async function signatureSetup(settings: Settings): Promise<SignatureSetup> {
  const why = settings.trustPath ? 'this build of the Action has no signature verifier yet' : 'no `trust` input names the repository keys';
  return { checkedWith: `not verified (${why}); shown as present (unverified)`, policyApprovalsNeeded: 1 };
}
