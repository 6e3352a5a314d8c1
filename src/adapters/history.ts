/**
 * Reads the whole history the audit needs from git, in a handful of
 * processes however long it is: one `git log --first-parent` with raw diffs
 * for the default branch (every file version, including files later deleted
 * or rewritten), two `git rev-list` for reachability, one `git log` over the
 * commits only other refs and reflogs reach (where a rewritten-away session
 * may survive), and one `git cat-file --batch` for all the blobs.
 */
import { BreakglassError } from '../core/errors.js';
import type { AuditHistory, ChainCommit, FileChange, StrayRecord } from '../core/audit-history.js';
import { catBlobs, git, gitText, revParse } from './git.js';

const ZERO = /^0+$/;
const RECORD = /^sessions\/([^/]+)\/record\.yaml$/;

/** One commit of `git log --raw -z`, with its changed regular files. */
interface LoggedCommit extends ChainCommit {
  files: { path: string; oid?: string }[];
}

/**
 * Parses `git log -z --raw --format=%x01%H %ct %P`. Sequential on NUL-separated
 * tokens: the token after a `:meta` token is always a path, whatever bytes it
 * holds, so a file name cannot be mistaken for a commit header.
 */
export function parseRawLog(out: Buffer): LoggedCommit[] {
  const tokens = out.toString('utf8').split('\0');
  const commits: LoggedCommit[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!.replace(/^\n/, '');
    if (t.startsWith('\x01')) {
      const [oid, ct, ...parents] = t.slice(1).trim().split(' ');
      commits.push({ oid: oid!, time: Number(ct) * 1000, parents, files: [] });
    } else if (t.startsWith(':')) {
      const path = tokens[++i] ?? '';
      const [, dstMode, , dstOid, status] = t.slice(1).split(' ');
      // Only regular files are breakglass documents; a symlink or submodule counts as absent.
      const regular = dstMode === '100644' || dstMode === '100755';
      const deleted = status === 'D' || ZERO.test(dstOid ?? '') || !regular;
      commits.at(-1)?.files.push({ path, oid: deleted ? undefined : dstOid });
    }
  }
  return commits;
}

const LOG = ['log', '--raw', '--no-abbrev', '--no-renames', '-z', '--root', '--format=%x01%H %ct %P'];
const wanted = (p: string) => p.startsWith('sessions/') || p.startsWith('policies/');

async function revList(dir: string, args: string[]): Promise<Set<string>> {
  const out = await gitText(dir, ['rev-list', ...args]);
  return new Set(out ? out.split('\n') : []);
}

/** Records in commits outside the branch, with their signatures, blob ids still to be read. */
async function strayRecordRefs(dir: string, tip: string): Promise<{ commit: string; time: number; session: string; oid: string; sigOid?: string }[]> {
  const { stdout } = await git(dir, [...LOG, '--diff-merges=first-parent', '--all', '--reflog', '--not', tip]);
  const out = [];
  for (const c of parseRawLog(stdout)) {
    for (const f of c.files) {
      const m = RECORD.exec(f.path);
      if (!m || !f.oid) continue;
      const sig = c.files.find((x) => x.path === `${f.path}.asc`)?.oid ?? (await blobAt(dir, c.oid, `${f.path}.asc`));
      out.push({ commit: c.oid, time: c.time, session: m[1]!, oid: f.oid, sigOid: sig });
    }
  }
  return out;
}

async function blobAt(dir: string, commit: string, path: string): Promise<string | undefined> {
  const out = await gitText(dir, ['ls-tree', '-z', commit, '--', path]);
  const m = /^100(?:644|755) blob ([0-9a-f]+)\t/.exec(out);
  return m?.[1];
}

/**
 * Reads the history of `branch` in `dir` for the audit. `branch` is any
 * revision naming the default branch's tip (`main`, `origin/main`).
 */
export async function readHistory(dir: string, branch: string): Promise<AuditHistory> {
  const tip = await revParse(dir, branch);
  if (!tip) throw new BreakglassError('GIT_REV', `${branch} is not a branch or commit in ${dir}`);
  const { stdout } = await git(dir, [...LOG, '--first-parent', '--diff-merges=first-parent', '--reverse', tip]);
  const logged = parseRawLog(stdout);
  const pending: { at: number; path: string; oid?: string }[] = [];
  logged.forEach((c, at) => {
    for (const f of c.files) if (wanted(f.path)) pending.push({ at, path: f.path, oid: f.oid });
  });
  const strays = await strayRecordRefs(dir, tip);
  const oids = new Set([...pending.flatMap((p) => (p.oid ? [p.oid] : [])), ...strays.flatMap((s) => (s.sigOid ? [s.oid, s.sigOid] : [s.oid]))]);
  const blobs = await catBlobs(dir, [...oids]);
  const changes: FileChange[] = pending.map((p) => ({ at: p.at, path: p.path, bytes: p.oid ? blobs.get(p.oid) : undefined }));
  const strayRecords: StrayRecord[] = strays.map((s) => ({ commit: s.commit, time: s.time, session: s.session, bytes: blobs.get(s.oid)!, signature: s.sigOid ? blobs.get(s.sigOid) : undefined }));
  return {
    branch,
    chain: logged.map(({ oid, time, parents }) => ({ oid, time, parents })),
    changes,
    reachable: await revList(dir, [tip]),
    elsewhere: await revList(dir, ['--all', '--reflog', '--not', tip]),
    strayRecords,
  };
}

/** The branch HEAD points at (`main`), or `HEAD` when it is detached. */
export async function currentBranch(dir: string): Promise<string> {
  try {
    return await gitText(dir, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
  } catch {
    return 'HEAD';
  }
}
