/** Runs the CLI in-process (with an injected clock) or as the real binary under Node 24. */
import { resolve } from 'node:path';
import { run } from '../../src/cli/main.js';
import type { CliResult } from '../../src/dev/exec.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export { BIN, binary, NODE, type CliResult } from '../../src/dev/exec.js';

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
