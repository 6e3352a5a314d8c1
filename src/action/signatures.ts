/**
 * The informational signature check: the repository's keys (the `trust`
 * input, a Trust file in the repository) handed to the core verifier.
 * Informational because a pull request can change those keys; the runner
 * uses its own trust file, kept outside the repository.
 */
import { dirname, join } from 'node:path';
import { loadTrust } from '../adapters/trust.js';
import type { Finding } from '../core/errors.js';
import type { RepositoryKeys } from './approvals.js';
import type { PullFile } from './github.js';
import type { Settings } from './settings.js';
import { messageOf } from '../crypto/error-parts.js';

export interface SignatureSetup {
  keys?: RepositoryKeys;
  /** Says how approvals were checked, for the comment and summary. */
  checkedWith: string;
  /** Distinct signed approvals a changed policy needs in a pull request: the trust threshold when known. */
  policyApprovalsNeeded: number;
  /** Set when the trust input could not be used; reported as a warning, never a crash. */
  problem?: string;
}

/** Loads the repository's keys when the `trust` input names them; a bad trust file degrades to "unverified". */
export async function signatureSetup(settings: Settings, now: number): Promise<SignatureSetup> {
  if (!settings.trustPath) return { checkedWith: 'not verified (no `trust` input names the repository keys); approvals are shown as present (unverified)', policyApprovalsNeeded: 1 };
  try {
    // Deliberately without loadTrust's "not inside the repository" guard: these ARE the repository's keys, for information.
    const trust = await loadTrust(join(settings.workspace, settings.trustPath));
    const keys: RepositoryKeys = { trust, repository: settings.repositoryName, now };
    return { keys, checkedWith: `the repository's keys in ${settings.trustPath} (informational)`, policyApprovalsNeeded: trust.threshold };
  } catch (e) {
    const problem = `the trust file ${settings.trustPath} cannot be used for the informational signature check: ${messageOf(e)}`;
    return { checkedWith: `not verified (${problem}); approvals are shown as present (unverified)`, policyApprovalsNeeded: 1, problem };
  }
}

/**
 * A pull request that changes the trust file, or a file beside it (its keys
 * usually are), chooses the keys its own approvals are checked with: say so.
 */
export function trustChangeFindings(files: readonly PullFile[], trustPath: string | undefined): Finding[] {
  if (!trustPath) return [];
  const dir = dirname(trustPath);
  const near = (p: string | undefined) => p !== undefined && (p === trustPath || (dir !== '.' && p.startsWith(`${dir}/`)));
  return files
    .filter((f) => near(f.filename) || near(f.previous_filename))
    .map((f) => ({
      file: f.filename,
      line: 1,
      col: 1,
      code: 'TRUST_CHANGED',
      message: `this pull request changes ${f.filename}, which the informational signature check reads: "verified" in this pull request means verified with keys it supplies. The runner uses only its own trust file`,
      severity: 'warning' as const,
    }));
}
