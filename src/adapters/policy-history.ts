/**
 * The approved versions of a policy file in git history: every commit that
 * changed the file or its approvals, judged as of that commit's time by the
 * same verifier. The rollback rule compares the current version with these.
 *
 * Commits on merged side branches count too: they can only hold approvals
 * that verify against the trust file, so they can only make the rule stricter.
 */
import { approvedVersionIn, policyStem, type ApprovedVersion, type PolicyVersionLookup } from '../core/policy-versions.js';
import { loadRepository, type RepositoryModel } from '../core/repository.js';
import type { TrustMaterial } from '../core/trust.js';
import { gitText } from './git.js';
import { CommitSource } from './source.js';

/**
 * What one commit says about one policy path. A commit's bytes and time never
 * change, so for a given trust file the answer never does either: it is kept
 * for the life of the trust material (the runner's), and each loop only judges
 * the commits that are new since the last one.
 */
const judgedCommits = new WeakMap<TrustMaterial, Map<string, Promise<ApprovedVersion | undefined>>>();

async function versionAt(dir: string, oid: string, ct: string, path: string, repository: string, trust: TrustMaterial): Promise<ApprovedVersion | undefined> {
  let model: RepositoryModel;
  try {
    model = await loadRepository(await CommitSource.open(dir, oid, ['policies']));
  } catch {
    // An unreadable commit (a symlink under policies/) holds no approved version anyone could rely on.
    return undefined;
  }
  return approvedVersionIn(model, path, repository, trust, Number(ct) * 1000, `commit ${oid.slice(0, 12)}`);
}

async function versionsOf(dir: string, commit: string, path: string, repository: string, trust: TrustMaterial): Promise<ApprovedVersion[]> {
  const name = policyStem(path);
  if (!name) return [];
  const log = await gitText(dir, ['log', '--format=%H %ct', commit, '--', path, `policies/approvals/${name}/`]);
  let judged = judgedCommits.get(trust);
  if (!judged) judgedCommits.set(trust, (judged = new Map()));
  const out: ApprovedVersion[] = [];
  for (const line of log ? log.split('\n') : []) {
    const [oid, ct] = line.split(' ') as [string, string];
    const key = `${repository}\0${path}\0${oid}`;
    let v = judged.get(key);
    if (!v) {
      judged.set(key, (v = versionAt(dir, oid, ct, path, repository, trust)));
      // Only answers are kept: a failure is judged again next time.
      v.catch(() => judged.delete(key));
    }
    const version = await v;
    if (version) out.push(version);
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
