/**
 * Where sessions and policies live in the repository. The core reads the
 * canonical layout (`sessions/…`, `policies/…`); the Action's `sessions` and
 * `policies` inputs may move them (say, to `access/sessions`). This module
 * translates between the two, so findings point at the files as they are.
 */
import type { FileSource, Refusal } from '../core/repository.js';

export interface Layout {
  sessions: string;
  policies: string;
}

type Root = 'sessions' | 'policies';

function pairs(layout: Layout): [Root, string][] {
  // Longest prefix first, so a policies folder nested inside the sessions folder still resolves to policies.
  return (
    [
      ['sessions', layout.sessions],
      ['policies', layout.policies],
    ] as [Root, string][]
  ).sort((a, b) => b[1].length - a[1].length);
}

/** `access/sessions/x/request.yaml` -> `sessions/x/request.yaml`; undefined for files outside both folders. */
export function toCanonical(layout: Layout, repoPath: string): string | undefined {
  for (const [root, dir] of pairs(layout)) {
    if (repoPath.startsWith(`${dir}/`)) return `${root}/${repoPath.slice(dir.length + 1)}`;
  }
  return undefined;
}

/** `sessions/x/request.yaml` -> where that file is in the repository. */
export function toRepoPath(layout: Layout, canonical: string): string {
  for (const root of ['sessions', 'policies'] as const) {
    if (canonical === root || canonical.startsWith(`${root}/`)) return layout[root] + canonical.slice(root.length);
  }
  return canonical;
}

/** Presents a source laid out per `layout` in the canonical layout the core expects. */
export class LayoutSource implements FileSource {
  readonly label: string;
  private readonly inner: FileSource;
  private readonly layout: Layout;
  constructor(inner: FileSource, layout: Layout) {
    this.inner = inner;
    this.layout = layout;
    this.label = inner.label;
  }
  async list(roots: readonly string[]): Promise<string[]> {
    const listed = await this.inner.list(roots.map((r) => toRepoPath(this.layout, r)));
    return listed.flatMap((p) => {
      const c = toCanonical(this.layout, p);
      return c && roots.some((r) => c.startsWith(`${r}/`)) ? [c] : [];
    });
  }
  read(path: string): Promise<Uint8Array | undefined> {
    return this.inner.read(toRepoPath(this.layout, path));
  }
  async readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
    const got = await this.inner.readMany(paths.map((p) => toRepoPath(this.layout, p)));
    return new Map([...got].map(([p, b]) => [toCanonical(this.layout, p) ?? p, b]));
  }
  async refused(paths: readonly string[]): Promise<Refusal[]> {
    const got = await this.inner.refused(paths.map((p) => toRepoPath(this.layout, p)));
    return got.map((r) => ({ ...r, path: toCanonical(this.layout, r.path) ?? r.path }));
  }
}
