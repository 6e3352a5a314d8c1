/**
 * The runner's view of the repository: a bare mirror in the state directory,
 * fetched (outbound only) from the default branch. Incremental: the runner
 * remembers the last commit it processed and asks git which session folders
 * changed since, so an idle poll costs one fetch whatever the history's size.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git, gitText, revParse } from '../adapters/git.js';
import { CommitSource } from '../adapters/source.js';
import { z } from 'zod';
import { BreakglassError } from '../core/errors.js';
import { SessionId } from '../core/schemas.js';
import { readJson } from '../core/json.js';

/** Only folder names that are session ids are ever turned into paths to read. */
const isSessionId = (id: string) => SessionId.safeParse(id).success;

/** What changed between two commits. */
export interface Changes {
  sessions: Set<string>;
  policies: boolean;
  /** True when `from` was unknown (first run, rewritten history): everything must be examined. */
  full: boolean;
}

/** A bare mirror of one branch of one remote. */
export class RepoMirror {
  readonly dir: string;
  readonly url: string;
  readonly branch: string;
  constructor(dir: string, url: string, branch: string) {
    this.dir = dir;
    this.url = url;
    this.branch = branch;
  }

  get trackingRef(): string {
    return `refs/remotes/origin/${this.branch}`;
  }

  async ensure(): Promise<void> {
    if (!(await stat(join(this.dir, 'HEAD')).catch(() => undefined))) {
      await mkdir(this.dir, { recursive: true });
      await git(this.dir, ['init', '--bare', '--quiet']);
      await git(this.dir, ['remote', 'add', 'origin', this.url]);
    } else {
      await git(this.dir, ['remote', 'set-url', 'origin', this.url]);
    }
  }

  /** Fetches the branch; throws GIT_FAILED when the remote cannot be reached. */
  async fetch(): Promise<string> {
    // Forced refspec: a rewritten branch is followed; the markers, not git, guard "once".
    await git(this.dir, ['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${this.branch}:${this.trackingRef}`]);
    const head = await this.head();
    if (!head) throw new BreakglassError('GIT_FAILED', `fetched ${this.url}, but ${this.trackingRef} names no commit (is ${this.branch} the branch?)`);
    return head;
  }

  async head(): Promise<string | undefined> {
    return revParse(this.dir, this.trackingRef);
  }

  /** Session ids and policy changes between `from` and `to`. */
  async changes(from: string | undefined, to: string): Promise<Changes> {
    if (!from || !(await revParse(this.dir, from))) return { sessions: new Set(await this.allSessions(to)), policies: true, full: true };
    if (from === to) return { sessions: new Set(), policies: false, full: false };
    const { stdout } = await git(this.dir, ['diff', '--name-only', '-z', '--no-renames', from, to, '--', 'sessions', 'policies']);
    const sessions = new Set<string>();
    let policies = false;
    for (const p of stdout.toString('utf8').split('\0')) {
      const [, id] = /^sessions\/([^/]+)\//.exec(p) ?? [];
      if (id && isSessionId(id)) sessions.add(id);
      else if (p.startsWith('policies/')) policies = true;
    }
    return { sessions, policies, full: false };
  }

  async allSessions(commit: string): Promise<string[]> {
    const out = await gitText(this.dir, ['ls-tree', '-z', '--name-only', commit, 'sessions/']);
    return out
      .split('\0')
      .filter(Boolean)
      .map((p) => p.replace(/^sessions\//, ''))
      .filter(isSessionId);
  }

  /**
   * Which of `ids` have a `sessions/<id>/end.yaml` entry at `commit`, in any
   * form (even a symlink or an invalid file: ending only takes access away).
   * One `ls-tree` over exact paths: nothing a vendor wrote is read or parsed,
   * so no content elsewhere in the repository can stop a session ending.
   */
  async endsAt(commit: string, ids: readonly string[]): Promise<Set<string>> {
    const wanted = ids.filter(isSessionId);
    if (wanted.length === 0) return new Set();
    const out = await gitText(this.dir, ['ls-tree', '-z', '--name-only', '--full-tree', commit, '--', ...wanted.map((id) => `sessions/${id}/end.yaml`)]);
    const found = new Set<string>();
    for (const p of out.split('\0')) {
      const [, id] = /^sessions\/([^/]+)\/end\.yaml$/.exec(p) ?? [];
      if (id) found.add(id);
    }
    return found;
  }

  /** A file source over only the named sessions and the policies: reading is proportional to the work. */
  async source(commit: string, sessions: readonly string[]): Promise<CommitSource> {
    return CommitSource.open(this.dir, commit, [...sessions.map((id) => `sessions/${id}`), 'policies']);
  }
}

const SessionProblemSchema = z.object({ code: z.string(), message: z.string() });
/** Why one session could not be processed: a stable code and a message naming no secret. */
export type SessionProblem = z.infer<typeof SessionProblemSchema>;

const LoopStateSchema = z.object({
  lastCommit: z.string().optional(),
  /** Sessions seen but not activated, re-examined when policies change. */
  pending: z.array(z.string()),
  /** Sessions whose end.yaml was seen while active: remembered until their teardown completes. */
  ends: z.array(z.string()).optional(),
  /** Sessions whose last examination threw (code and message, no secret): retried every loop, each on its own. */
  failures: z.record(z.string(), SessionProblemSchema).optional(),
  /** Sessions refused for what their folder holds (SESSION_UNREADABLE, a planted record): re-examined when it changes. */
  refused: z.record(z.string(), SessionProblemSchema).optional(),
});
/** The little the runner persists besides markers: no secrets, only progress. */
export type LoopState = z.infer<typeof LoopStateSchema>;

/**
 * Reads loop.json. Absent, or unreadable (reported to `log` as STATE_INVALID),
 * it is an empty state, which is safe: every changed session is examined
 * again, and markers and claims still decide "once"; ends are found in git
 * again (only one seen while git is unreachable waits for git).
 */
export async function readLoopState(stateDir: string, log?: (line: string) => void): Promise<LoopState> {
  const file = join(stateDir, 'loop.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { pending: [] };
  }
  const r = readJson(LoopStateSchema, text);
  if (r.ok) return r.value;
  log?.(`STATE_INVALID: ${file} is not the runner's loop state; starting from an empty one (every changed session is examined again; markers and claims still decide "once")`);
  return { pending: [] };
}

/** Written atomically (rename), so a crash never leaves half a file. */
export async function writeLoopState(stateDir: string, state: LoopState): Promise<void> {
  const tmp = join(stateDir, `loop.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(state));
  await rename(tmp, join(stateDir, 'loop.json'));
}
