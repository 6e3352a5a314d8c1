/**
 * Where repository files are read from: the working tree (for a person
 * editing), or a git commit (for anything that digests or verifies — the
 * bytes git stores, not what a checkout's filters made of them).
 */
import type { Stats } from 'node:fs';
import type { Dirent } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BreakglassError } from '../core/errors.js';
import { catBlobs, lsTree, revParse, type TreeEntry } from './git.js';
import { MAX_ENTRY_BYTES, type FileSource, type Refusal } from '../core/repository.js';
import { codeOf } from '../crypto/error-parts.js';

export type { FileSource, Refusal };

const tooLarge = (path: string, size: number): Refusal => ({ path, code: 'FILE_TOO_LARGE', message: `file is ${size} bytes; at most ${MAX_ENTRY_BYTES} bytes are accepted, so it was not read` });

/** Why a file on disk is not read, or undefined when it is a small regular file. */
function diskRefusal(path: string, st: Stats): Refusal | undefined {
  if (st.isSymbolicLink()) return { path, code: 'SYMLINK', message: `${path} is a symbolic link; breakglass reads regular files only and never follows links` };
  if (!st.isFile()) return { path, code: 'FILE_MODE', message: `${path} is not a regular file; breakglass reads regular files only` };
  if (st.size > MAX_ENTRY_BYTES) return tooLarge(path, st.size);
  return undefined;
}

/** Why a git tree entry is not read, or undefined when it is a small regular blob (mode 100644 or 100755). */
function treeRefusal(e: TreeEntry, label: string): Refusal | undefined {
  const path = e.path;
  if (e.mode === '120000') return { path, code: 'SYMLINK', message: `${path} is a symbolic link in ${label}; breakglass reads regular files only and never follows links` };
  if (e.mode === '160000') return { path, code: 'GITLINK', message: `${path} is a gitlink (submodule) in ${label}; breakglass reads regular files only` };
  if (e.type !== 'blob' || (e.mode !== '100644' && e.mode !== '100755')) return { path, code: 'FILE_MODE', message: `${path} has mode ${e.mode} in ${label}; breakglass reads regular files only` };
  if (e.size === undefined || e.size > MAX_ENTRY_BYTES) return tooLarge(path, e.size ?? Number.NaN);
  return undefined;
}

/** Turns a refusal into the error a single-file read throws. */
function refusalError(r: Refusal): BreakglassError {
  return new BreakglassError(r.code, r.message);
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return;
    throw e;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    // Symlinks are listed (so they can be refused by name) but never followed.
    if (e.isDirectory()) await walk(root, full, out);
    else out.push(relative(root, full).split(sep).join('/'));
  }
}

/** Files as they are in a directory on disk. Symlinks and other non-files are refused per entry. */
export class WorkTreeSource implements FileSource {
  readonly label: string;
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    this.label = dir;
  }
  async list(roots: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const r of roots) await walk(this.dir, join(this.dir, r), out);
    return out.sort();
  }
  private async stat(path: string): Promise<Stats | undefined> {
    try {
      return await lstat(join(this.dir, path));
    } catch (e) {
      if (codeOf(e) === 'ENOENT') return undefined;
      throw e;
    }
  }
  async read(path: string): Promise<Uint8Array | undefined> {
    const st = await this.stat(path);
    if (!st) return undefined;
    const refusal = diskRefusal(path, st);
    if (refusal) throw refusalError(refusal);
    return readFile(join(this.dir, path));
  }
  async readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const p of paths) {
      const st = await this.stat(p);
      if (st && !diskRefusal(p, st)) out.set(p, await readFile(join(this.dir, p)));
    }
    return out;
  }
  async refused(paths: readonly string[]): Promise<Refusal[]> {
    const out: Refusal[] = [];
    for (const p of paths) {
      const st = await this.stat(p);
      const r = st && diskRefusal(p, st);
      if (r) out.push(r);
    }
    return out;
  }
}

/** Files exactly as stored in one git commit. */
export class CommitSource implements FileSource {
  readonly label: string;
  readonly dir: string;
  readonly commit: string;
  /** The folders indexed; the Action passes its `sessions`/`policies` inputs when they are elsewhere. */
  readonly roots: readonly string[];
  private entries?: Map<string, TreeEntry>;
  private constructor(dir: string, commit: string, roots: readonly string[]) {
    this.dir = dir;
    this.commit = commit;
    this.roots = roots;
    this.label = `${dir}@${commit.slice(0, 12)}`;
  }
  static async open(dir: string, rev: string, roots: readonly string[] = ['sessions', 'policies']): Promise<CommitSource> {
    const commit = await revParse(dir, rev);
    if (!commit) throw new BreakglassError('GIT_REV', `${rev} is not a commit in ${dir}`);
    return new CommitSource(dir, commit, roots);
  }
  private async index(): Promise<Map<string, TreeEntry>> {
    if (!this.entries) {
      this.entries = new Map();
      for (const e of await lsTree(this.dir, this.commit, this.roots)) this.entries.set(e.path, e);
    }
    return this.entries;
  }
  async list(roots: readonly string[]): Promise<string[]> {
    const idx = await this.index();
    return [...idx.keys()].filter((p) => roots.some((r) => p.startsWith(`${r}/`))).sort();
  }
  async read(path: string): Promise<Uint8Array | undefined> {
    const [refusal] = await this.refused([path]);
    if (refusal) throw refusalError(refusal);
    return (await this.readMany([path])).get(path);
  }
  /** Reads only small regular blobs: a gitlink's commit or a huge blob is never handed to `cat-file`. */
  async readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
    const idx = await this.index();
    const wanted = paths.flatMap((p) => {
      const e = idx.get(p);
      return e && !treeRefusal(e, this.label) ? [[p, e.oid] as const] : [];
    });
    const blobs = await catBlobs(
      this.dir,
      wanted.map(([, oid]) => oid),
    );
    return new Map(wanted.map(([p, oid]) => [p, blobs.get(oid)!]));
  }
  async refused(paths: readonly string[]): Promise<Refusal[]> {
    const idx = await this.index();
    return paths.flatMap((p) => {
      const e = idx.get(p);
      const r = e && treeRefusal(e, this.label);
      return r ? [r] : [];
    });
  }
}
