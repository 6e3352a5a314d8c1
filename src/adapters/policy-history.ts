/**
 * The approved versions of a policy file in git history: every commit that
 * changed the file or its approvals, judged as of that commit's time by the
 * same verifier. The rollback rule compares the current version with these.
 *
 * Commits on merged side branches count too: they can only hold approvals
 * that verify against the trust file, so they can only make the rule stricter.
 */
import { approvedVersionIn, policyStem, type ApprovedVersion, type PolicyVersionLookup } from '../core/policy-versions.js';
import { loadRepository } from '../core/repository.js';
import type { TrustMaterial } from '../core/trust.js';
import { gitText } from './git.js';
import { CommitSource } from './source.js';

async function versionsOf(dir: string, commit: string, path: string, repository: string, trust: TrustMaterial): Promise<ApprovedVersion[]> {
  const name = policyStem(path);
  if (!name) return [];
  const log = await gitText(dir, ['log', '--format=%H %ct', commit, '--', path, `policies/approvals/${name}/`]);
  const out: ApprovedVersion[] = [];
  for (const line of log ? log.split('\n') : []) {
    const [oid, ct] = line.split(' ') as [string, string];
    let model;
    try {
      model = await loadRepository(await CommitSource.open(dir, oid, ['policies']));
    } catch {
      // An unreadable commit (a symlink under policies/) holds no approved version anyone could rely on.
      continue;
    }
    const v = await approvedVersionIn(model, path, repository, trust, Number(ct) * 1000, `commit ${oid.slice(0, 12)}`);
    if (v) out.push(v);
  }
  return out;
}

/** Approved versions of each policy path in the history of `commit` in `dir`, read once per path. */
export function gitPolicyVersions(dir: string, commit: string, repository: string, trust: TrustMaterial): PolicyVersionLookup {
  const cache = new Map<string, Promise<ApprovedVersion[]>>();
  return (path) => {
    let p = cache.get(path);
    if (!p) cache.set(path, (p = versionsOf(dir, commit, path, repository, trust)));
    return p;
  };
}
