/**
 * Temporary git repositories for tests, made without a `git` process each.
 *
 * A test suite makes hundreds of repositories and thousands of commits, and
 * every `git` process costs tens of milliseconds of CPU. So the layout of a
 * `git init -b main` is taken once per worker from the real git and written
 * out for each new repository, with the test identity and no signing in its
 * own config, and with git's automatic maintenance off: without it every
 * `git commit` starts a `git maintenance run --auto`, which never finds work
 * in a repository of a few commits. HEAD is read from the files git writes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Entry = { path: string; content?: Buffer };

let layout: Entry[] | undefined;

/** What `git init -q -b main` writes (its directories and files, relative to .git), read once. */
function initLayout(): Entry[] {
  if (layout) return layout;
  const scratch = mkdtempSync(join(tmpdir(), 'bg-git-layout-'));
  try {
    execFileSync('git', ['init', '-q', '-b', 'main', scratch]);
    const entries: Entry[] = [];
    const walk = (rel: string) => {
      for (const d of readdirSync(join(scratch, '.git', rel), { withFileTypes: true })) {
        const path = join(rel, d.name);
        if (d.isDirectory()) {
          entries.push({ path });
          walk(path);
        } else entries.push({ path, content: readFileSync(join(scratch, '.git', path)) });
      }
    };
    walk('');
    layout = entries;
    return entries;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Options for `initRepo`: the identity commits are made with, and an origin remote. */
export interface InitOptions {
  name?: string;
  email?: string;
  origin?: string;
}

/** Makes `dir` (which must exist) a git repository on branch main, as `git init -b main` plus `git config` would. */
export function initRepo(dir: string, opts: InitOptions = {}): void {
  const git = join(dir, '.git');
  mkdirSync(git);
  for (const e of initLayout()) {
    if (e.content) writeFileSync(join(git, e.path), e.content);
    else mkdirSync(join(git, e.path));
  }
  const config = [
    `[user]\n\tname = ${opts.name ?? 'test'}\n\temail = ${opts.email ?? 'test@example.invalid'}`,
    '[commit]\n\tgpgsign = false',
    '[maintenance]\n\tauto = false',
    '[gc]\n\tauto = 0',
    ...(opts.origin ? [`[remote "origin"]\n\turl = ${opts.origin}\n\tfetch = +refs/heads/*:refs/remotes/origin/*`] : []),
  ];
  writeFileSync(join(git, 'config'), `${readFileSync(join(git, 'config'), 'utf8')}${config.join('\n')}\n`);
}

/** The commit HEAD points to, read from .git; asks git only when the ref is not a loose file (packed, detached by git itself). */
export function headOf(dir: string): string {
  const head = readFileSync(join(dir, '.git', 'HEAD'), 'utf8').trim();
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref: (refs\/\S+)$/.exec(head)?.[1];
  const loose = ref ? join(dir, '.git', ref) : undefined;
  if (loose && existsSync(loose)) return readFileSync(loose, 'utf8').trim();
  return execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
}

/** The branch HEAD is on, as `git rev-parse --abbrev-ref HEAD` prints it (`HEAD` when detached). */
export function branchOf(dir: string): string {
  const head = readFileSync(join(dir, '.git', 'HEAD'), 'utf8').trim();
  return /^ref: refs\/heads\/(\S+)$/.exec(head)?.[1] ?? 'HEAD';
}
