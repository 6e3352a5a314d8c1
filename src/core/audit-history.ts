/**
 * The git history as the audit reads it: plain data, handed in by the
 * history adapter, and an index over it that answers "what were these bytes
 * at that commit of the default branch". Pure: no git, no clock.
 */
import type { FileSource, Refusal } from './repository.js';

/** One commit of the default branch's first-parent chain. */
export interface ChainCommit {
  oid: string;
  /** Committer time, epoch ms: when the commit was made on (or merged into) the branch. */
  time: number;
  parents: string[];
}

/** A file as it changed at one chain commit (against its first parent); `bytes` undefined means deleted. */
export interface FileChange {
  /** Index into `chain`. */
  at: number;
  path: string;
  bytes?: Uint8Array;
}

/** A runner record found in a commit the default branch does not reach (a pre-rewrite tip, another ref, a reflog). */
export interface StrayRecord {
  commit: string;
  time: number;
  session: string;
  bytes: Uint8Array;
  signature?: Uint8Array;
}

/** Everything the audit knows about the repository. */
export interface AuditHistory {
  branch: string;
  /** First-parent chain of the default branch, oldest first. */
  chain: ChainCommit[];
  /** Changes to `sessions/` and `policies/` along the chain, in chain order. */
  changes: FileChange[];
  /** Every commit reachable from the default branch through any parent. */
  reachable: ReadonlySet<string>;
  /** Commits reachable only from other refs or reflogs: unmerged branches, tips from before a rewrite. */
  elsewhere: ReadonlySet<string>;
  strayRecords: StrayRecord[];
}

interface Version {
  at: number;
  bytes?: Uint8Array;
}

/** Answers point-in-time questions about the chain by replaying its changes. */
export class HistoryIndex {
  readonly history: AuditHistory;
  private readonly versions = new Map<string, Version[]>();
  private readonly positions = new Map<string, number>();
  /** Paths ever seen under each top-level group: `sessions/<id>` or `policies`. */
  private readonly groups = new Map<string, Set<string>>();

  constructor(history: AuditHistory) {
    this.history = history;
    history.chain.forEach((c, i) => {
      this.positions.set(c.oid, i);
    });
    for (const ch of history.changes) {
      const list = this.versions.get(ch.path) ?? [];
      list.push({ at: ch.at, bytes: ch.bytes });
      this.versions.set(ch.path, list);
      const group = groupOf(ch.path);
      if (group) (this.groups.get(group) ?? this.groups.set(group, new Set()).get(group)!).add(ch.path);
    }
  }

  /** The index of a commit on the first-parent chain, or undefined when it is not on it. */
  position(oid: string): number | undefined {
    return this.positions.get(oid);
  }

  commit(at: number): ChainCommit {
    return this.history.chain[at]!;
  }

  /** Every session id that ever had a file on the chain. */
  sessionIds(): string[] {
    return [...this.groups.keys()]
      .filter((g) => g.startsWith('sessions/'))
      .map((g) => g.slice('sessions/'.length))
      .sort();
  }

  /** Every path ever seen in a group (`sessions/<id>` or `policies`). */
  paths(group: string): string[] {
    return [...(this.groups.get(group) ?? [])].sort();
  }

  /** Every version of a path, oldest first (deletions included). */
  versionsOf(path: string): readonly Version[] {
    return this.versions.get(path) ?? [];
  }

  /** The bytes of `path` at chain index `at`, or undefined when absent there. */
  fileAt(path: string, at: number): Uint8Array | undefined {
    let found: Uint8Array | undefined;
    for (const v of this.versionsOf(path)) {
      if (v.at > at) break;
      found = v.bytes;
    }
    return found;
  }

  /** The first chain index at which `path` exists, or undefined. */
  firstPresent(path: string): number | undefined {
    return this.versionsOf(path).find((v) => v.bytes)?.at;
  }

  /** The files of the given groups as they were at chain index `at`, for `loadRepository`. */
  source(at: number, groups: readonly string[]): FileSource {
    const files = new Map<string, Uint8Array>();
    for (const g of groups) {
      for (const p of this.paths(g)) {
        const b = this.fileAt(p, at);
        if (b) files.set(p, b);
      }
    }
    return new SnapshotSource(`${this.history.branch}@${this.commit(at).oid.slice(0, 12)}`, files);
  }
}

function groupOf(path: string): string | undefined {
  const m = /^sessions\/([^/]+)\//.exec(path);
  if (m) return `sessions/${m[1]}`;
  return path.startsWith('policies/') ? 'policies' : undefined;
}

/** Files held in memory: one commit's snapshot of a few groups. */
class SnapshotSource implements FileSource {
  readonly label: string;
  private readonly files: Map<string, Uint8Array>;
  constructor(label: string, files: Map<string, Uint8Array>) {
    this.label = label;
    this.files = files;
  }
  async list(roots: readonly string[]): Promise<string[]> {
    return [...this.files.keys()].filter((p) => roots.some((r) => p.startsWith(`${r}/`))).sort();
  }
  async read(path: string): Promise<Uint8Array | undefined> {
    return this.files.get(path);
  }
  async readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
    return new Map(paths.flatMap((p) => (this.files.has(p) ? [[p, this.files.get(p)!] as const] : [])));
  }
  /** Only blobs were taken into the snapshot; nothing here is refused. */
  async refused(): Promise<Refusal[]> {
    return [];
  }
}
