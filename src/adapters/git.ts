/**
 * The git binary, called directly. Every call passes argv (never a shell) and
 * returns bytes, so digests are computed over exactly what git stores.
 */
import { execFile, spawn } from 'node:child_process';
import { BreakglassError } from '../core/errors.js';

export interface GitResult {
  stdout: Buffer;
  stderr: string;
}

/** Runs `git -C dir ...args`; throws GIT_FAILED with git's own message. */
export function git(dir: string, args: readonly string[], opts: { input?: Uint8Array; env?: NodeJS.ProcessEnv } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      ['-C', dir, ...args],
      { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...opts.env } },
      (err, stdout, stderr) => {
        const errText = Buffer.from(stderr).toString('utf8').trim();
        if (err) reject(new BreakglassError('GIT_FAILED', `git ${args[0] ?? ''} failed: ${errText || err.message}`, { cause: err }));
        else resolve({ stdout: Buffer.from(stdout), stderr: errText });
      },
    );
    if (opts.input) child.stdin?.end(opts.input);
  });
}

/** `git ... ` returning trimmed UTF-8 stdout. */
export async function gitText(dir: string, args: readonly string[], opts?: { input?: Uint8Array; env?: NodeJS.ProcessEnv }): Promise<string> {
  return (await git(dir, args, opts)).stdout.toString('utf8').trim();
}

/** Resolves a revision to a full object id, or undefined when it does not exist. */
export async function revParse(dir: string, rev: string): Promise<string | undefined> {
  try {
    return await gitText(dir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  } catch {
    return undefined;
  }
}

/** One entry of `git ls-tree -r -l`. */
export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  path: string;
  /** Size in bytes of a blob; undefined for a gitlink (a submodule commit has no size here). */
  size?: number;
}

/**
 * Lists every entry under `paths` at `commit` (NUL-separated, so any file name
 * is safe), with blob sizes (`-l`), so a huge blob can be refused before it is
 * read. Gitlinks (submodules, mode 160000) are listed too: callers refuse them.
 */
export async function lsTree(dir: string, commit: string, paths: readonly string[]): Promise<TreeEntry[]> {
  const { stdout } = await git(dir, ['ls-tree', '-r', '-l', '-z', '--full-tree', commit, '--', ...paths]);
  const out: TreeEntry[] = [];
  for (const rec of stdout.toString('utf8').split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const [mode, type, oid, size] = rec.slice(0, tab).split(/ +/);
    out.push({ mode: mode!, type: type!, oid: oid!, path: rec.slice(tab + 1), size: size === '-' || size === undefined ? undefined : Number(size) });
  }
  return out;
}

/**
 * Reads many blobs through one `git cat-file --batch` process: one process
 * for a thousand files instead of a thousand processes.
 */
export function catBlobs(dir: string, oids: readonly string[]): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const result = new Map<string, Buffer>();
    if (oids.length === 0) return resolve(result);
    const child = spawn('git', ['-C', dir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e) => reject(new BreakglassError('GIT_FAILED', `git cat-file failed: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code !== 0) return reject(new BreakglassError('GIT_FAILED', `git cat-file failed: ${err.trim()}`));
      const buf = Buffer.concat(chunks);
      let pos = 0;
      for (const oid of oids) {
        const nl = buf.indexOf(0x0a, pos);
        const header = buf.subarray(pos, nl).toString('utf8');
        const parts = header.split(' ');
        if (parts[1] === 'missing' || parts.length < 3) return reject(new BreakglassError('GIT_FAILED', `git object ${oid} is missing`));
        const size = Number(parts[2]);
        result.set(oid, buf.subarray(nl + 1, nl + 1 + size));
        pos = nl + 1 + size + 1;
      }
      resolve(result);
    });
    child.stdin.end(oids.map((o) => `${o}\n`).join(''));
  });
}

/** The `origin` remote as `host/owner/name`, the repository name approvals bind. */
export async function originName(dir: string): Promise<string | undefined> {
  let url: string;
  try {
    url = await gitText(dir, ['remote', 'get-url', 'origin']);
  } catch {
    return undefined;
  }
  return repositoryNameFromUrl(url);
}

/** `git@github.com:o/n.git`, `https://github.com/o/n`, `ssh://git@host:22/o/n.git` -> `github.com/o/n`. */
export function repositoryNameFromUrl(url: string): string | undefined {
  const scp = /^[^@/]+@([^:/]+):(?!\/)(.+?)(?:\.git)?\/?$/.exec(url);
  if (scp) return `${scp[1]!.toLowerCase()}/${scp[2]}`;
  try {
    const u = new URL(url);
    if (u.protocol === 'file:') return undefined;
    const path = u.pathname
      .replace(/^\/+/, '')
      .replace(/\.git\/?$/, '')
      .replace(/\/$/, '');
    return path ? `${u.hostname.toLowerCase()}/${path}` : undefined;
  } catch {
    return undefined;
  }
}
