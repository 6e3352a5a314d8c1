/** Child processes for the demo, drill fixtures and tests: argv only, output collected, never throws on exit status. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../project-root.js';

const DEV_NODE = join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
/**
 * Node 24 from the `node` dev dependency in a checkout, whatever node runs the
 * caller; in an installed package (no dev dependencies) the node running us,
 * which bin/breakglass.js has already checked.
 */
export const NODE = existsSync(DEV_NODE) ? DEV_NODE : process.execPath;
export const BIN = join(PROJECT_ROOT, 'bin', 'breakglass.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment a child gets: this process's, CI=1 so nothing prompts, then `env`. */
export function childEnv(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, CI: '1', ...env };
}

/** Runs `cmd` with `args` (no shell) in `cwd`, with CI=1 so nothing prompts; resolves with its exit code and output. */
export function run(cmd: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, [...args], { cwd: opts.cwd, env: childEnv(opts.env), maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 2) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** The real `breakglass` binary (compiled lib/) under Node 24. */
export function binary(args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<CliResult> {
  return run(NODE, [BIN, ...args], opts);
}
