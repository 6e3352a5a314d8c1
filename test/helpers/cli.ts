/** Runs the CLI in-process (with an injected clock) or as the real binary under Node 24. */
import { resolve } from 'node:path';
import { run } from '../../src/cli/main.js';
import { childEnv, type CliResult } from '../../src/dev/exec.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export { BIN, binary, NODE, type CliResult } from '../../src/dev/exec.js';

interface InProcess {
  cwd: string;
  now?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * In-process: the same `run(argv, io)` the binary calls, with `now` fixed by
 * the test and the environment `binary()` gives its child (the test process's
 * environment, CI=1, then `env`), so commands that hand io.env to git or gpg
 * find PATH, HOME and GNUPGHOME as the binary would. Lines are joined with
 * newlines, without the last one. Start the binary only where the process
 * itself is the point: exit status, streams, stdin, the launcher.
 */
export function cli(args: readonly string[], opts: InProcess): Promise<CliResult> {
  return inProcessWith(args, opts, (lines) => lines.join('\n'));
}

/**
 * `binary()` without the process: the same arguments and output, every line
 * ending in a newline as on the process's streams, so a test written against
 * the binary's exact text asks the same of the code it runs.
 */
export function inProcess(args: readonly string[], opts: InProcess): Promise<CliResult> {
  return inProcessWith(args, opts, (lines) => lines.map((l) => `${l}\n`).join(''));
}

async function inProcessWith(args: readonly string[], opts: InProcess, text: (lines: string[]) => string): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    now: () => opts.now ?? Date.now(),
    env: childEnv(opts.env),
    cwd: opts.cwd,
    interactive: false,
  });
  return { code, stdout: text(out), stderr: text(err) };
}
