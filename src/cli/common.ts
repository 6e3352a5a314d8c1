import { homedir, userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { mkdir, stat } from 'node:fs/promises';
import { formatFinding, BreakglassError, type Finding } from '../core/errors.js';
import type { CliInputCode } from '../core/reasons.js';
import type { CliIo } from './io.js';

/** Resolves `--repo` (default: the current directory) and checks it exists. */
export async function repoDir(io: CliIo, repo: string | undefined): Promise<string> {
  const dir = resolve(io.cwd, repo ?? '.');
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new BreakglassError('REPO_MISSING', `repository directory ${dir} does not exist`);
  return dir;
}

/**
 * The file a flag names must exist and be a regular file, checked before
 * anything else is read or asked, so the message names the flag and the path
 * rather than surfacing as an ENOENT from deep inside a command.
 */
export async function requireFile(io: CliIo, flag: string, value: string, code: CliInputCode = 'FILE_MISSING'): Promise<string> {
  const path = resolve(io.cwd, value);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new BreakglassError(code, `${flag} ${path}: no such file`);
  if (!st.isFile()) throw new BreakglassError(code, `${flag} ${path}: not a file`);
  return path;
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir loops forever under
 * /proc (mkdir answers ENOENT there, and it retries the parent), so each
 * missing level is created on its own and any refusal is reported, naming it.
 */
export async function makeDirectory(path: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  let at = resolve(path);
  for (;;) {
    const st = await stat(at).catch(() => undefined);
    if (st && !st.isDirectory()) throw new BreakglassError('DIR_UNUSABLE', `cannot create directory ${path}: ${at} exists and is not a directory`);
    if (st) break;
    missing.unshift(at);
    if (dirname(at) === at) break;
    at = dirname(at);
  }
  for (const dir of missing) {
    await mkdir(dir, { mode }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return;
      throw new BreakglassError('DIR_UNUSABLE', `cannot create directory ${dir} (${e.code ?? e.message}); choose a directory you can write to`, { cause: e });
    });
  }
}

/**
 * GnuPG's home as gpg would pick it: GNUPGHOME, else ~/.gnupg, with HOME from
 * io.env and, without one, the account's home as gpg falls back to it (the
 * password database; os.homedir() would read the process's own HOME).
 */
export function gnupgHome(io: CliIo): string {
  return io.env.GNUPGHOME || resolve(io.env.HOME || accountHome(), '.gnupg');
}

/**
 * The account's home from the password database. A container running under a
 * uid with no entry there (an arbitrary uid, as OpenShift assigns) has none:
 * then Node's own answer, rather than failing a command over a default.
 */
function accountHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return homedir();
  }
}

/** Prints findings one per line to stderr, then a count. */
export function printFindings(io: CliIo, findings: readonly Finding[]): void {
  for (const f of findings) io.err(formatFinding(f));
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  if (findings.length) io.err(`${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`);
}

/** Collects repeatable `--input k=v` options. */
export function collectPairs(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new BreakglassError('USAGE', `--input ${JSON.stringify(value)} must be key=value`);
  const key = value.slice(0, eq);
  if (key in previous) throw new BreakglassError('USAGE', `--input ${key} given twice`);
  return { ...previous, [key]: value.slice(eq + 1) };
}
