/**
 * Where repository files are read from: the working tree (for a person
 * editing), or a git commit (for anything that digests or verifies — the
 * bytes git stores, not what a checkout's filters made of them).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BreakglassError } from '../core/errors.js';
import { catBlobs, lsTree, revParse } from './git.js';
import type { FileSource } from '../core/repository.js';

export type { FileSource };

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    // Symlinks are listed (so they can be refused by name) but never followed.
    if (e.isDirectory()) await walk(root, full, out);
    else out.push(relative(root, full).split(sep).join('/'));
  }
}

/** Files as they are in a directory on disk. Symlinks are refused on read. */
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
  async read(path: string): Promise<Uint8Array | undefined> {
    const full = join(this.dir, path);
    try {
      const st = await lstat(full);
      if (st.isSymbolicLink()) throw new BreakglassError('SYMLINK', `${path} is a symbolic link; breakglass reads regular files only`);
      return await readFile(full);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
  async readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    for (const p of paths) {
      const b = await this.read(p);
      if (b) out.set(p, b);
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
  private entries?: Map<string, { oid: string; mode: string }>;
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
  private async index(): Promise<Map<string, { oid: string; mode: string }>> {
    if (!this.entries) {
      this.entries = new Map();
      for (const e of await lsTree(this.dir, this.commit, this.roots)) this.entries.set(e.path, { oid: e.oid, mode: e.mode });
    }
    return this.entries;
  }
  async list(roots: readonly string[]): Promise<string[]> {
    const idx = await this.index();
    return [...idx.keys()].filter((p) => roots.some((r) => p.startsWith(`${r}/`))).sort();
  }
  async read(path: string): Promise<Uint8Array | undefined> {
    return (await this.readMany([path])).get(path);
  }
  async readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
    const idx = await this.index();
    const wanted = paths.flatMap((p) => {
      const e = idx.get(p);
      if (e?.mode === '120000') throw new BreakglassError('SYMLINK', `${p} is a symbolic link in ${this.label}; breakglass reads regular files only`);
      return e ? [[p, e.oid] as const] : [];
    });
    const blobs = await catBlobs(this.dir, wanted.map(([, oid]) => oid));
    return new Map(wanted.map(([p, oid]) => [p, blobs.get(oid)!]));
  }
}
