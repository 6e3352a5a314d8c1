/** Runs the CLI in-process (with an injected clock) or as the real binary under Node 24. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { run } from '../../src/cli/main.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const NODE = resolve(ROOT, 'node_modules', '.bin', 'node');
export const BIN = resolve(ROOT, 'bin', 'breakglass.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** In-process: same code path as the binary, with `now` fixed by the test. */
export async function cli(args: string[], opts: { cwd: string; now?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    now: () => opts.now ?? Date.now(),
    env: opts.env ?? {},
    cwd: opts.cwd,
    interactive: false,
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The real `breakglass` binary (compiled lib/, so run `npm run build` first — `npm test` does). */
export function binary(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<CliResult> {
  return new Promise((res) => {
    const child = execFile(NODE, [BIN, ...args], { cwd: opts.cwd, env: { ...process.env, CI: '1', ...opts.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? 2 : 0;
      res({ code, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}
