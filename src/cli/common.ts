import { resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { formatFinding, BreakglassError, type Finding } from '../core/errors.js';
import type { CliIo } from './io.js';

/** Resolves `--repo` (default: the current directory) and checks it exists. */
export async function repoDir(io: CliIo, repo: string | undefined): Promise<string> {
  const dir = resolve(io.cwd, repo ?? '.');
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new BreakglassError('REPO_MISSING', `repository directory ${dir} does not exist`);
  return dir;
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
