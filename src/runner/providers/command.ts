/**
 * Credential `command`: the policy's argv with validated inputs substituted
 * whole into single arguments, run with no shell; its stdout is the
 * credential. `revoke` runs at teardown.
 *
 * Each run checks, in order and every time:
 *  1. every input passes the baseline rule (no metacharacters, no leading "-",
 *     no NUL) and the policy's whole-value pattern — again, here, because the
 *     runner never trusts what an earlier stage decided;
 *  2. argv[0] resolves INSIDE the runner's commands.path (the directory the
 *     customer controls, never the repository), following symlinks, to a
 *     regular executable file;
 *  3. if the policy pins a SHA-256, the file's bytes match it right now;
 * then runs it with an allow-listed environment, a timeout and an output cap.
 * stderr is never echoed: a failing script may print the secret it was making.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { buildArgv } from '../../core/command.js';
import { BreakglassError } from '../../core/errors.js';
import { unsafeInput, wholeMatch } from '../../core/policy.js';
import type { PolicyCommand } from '../../core/schemas.js';

export interface CommandSettings {
  /** The runner's commands.path: where argv[0] is found. */
  path: string;
  /** Names of runner environment variables passed through. */
  env: readonly string[];
  timeoutMs: number;
  maxOutputBytes: number;
}

export interface CommandRun {
  session: string;
  expires: string;
  def: PolicyCommand;
  inputs: Readonly<Record<string, string>>;
  settings: CommandSettings;
  runnerEnv: NodeJS.ProcessEnv;
}

/** Re-checks inputs against the baseline rule and the policy's patterns; throws COMMAND_INPUT. */
export function checkInputs(def: PolicyCommand, inputs: Readonly<Record<string, string>>): void {
  const want = Object.keys(def.inputs).sort();
  const got = Object.keys(inputs).sort();
  if (want.join('\0') !== got.join('\0')) throw new BreakglassError('COMMAND_INPUT', `command ${def.name} takes inputs [${want.join(', ')}], got [${got.join(', ')}]`);
  for (const [k, v] of Object.entries(inputs)) {
    if (v.includes('\0')) throw new BreakglassError('COMMAND_INPUT', `input ${k} contains NUL`);
    const unsafe = unsafeInput(v);
    if (unsafe) throw new BreakglassError('COMMAND_INPUT', `input ${k} ${unsafe}`);
    if (!wholeMatch(def.inputs[k]!)?.test(v)) throw new BreakglassError('COMMAND_INPUT', `input ${k} does not match ${JSON.stringify(def.inputs[k])}`);
  }
}

/** Resolves argv[0] inside `dir`, refusing anything that escapes it; checks the pin. */
export async function resolveProgram(dir: string, program: string, sha256: string | undefined): Promise<string> {
  if (isAbsolute(program) || program.split('/').includes('..')) throw new BreakglassError('COMMAND_PATH', `program ${JSON.stringify(program)} must be a relative name inside commands.path`);
  let real: string;
  let root: string;
  try {
    root = await realpath(dir);
    real = await realpath(join(root, program));
  } catch {
    throw new BreakglassError('COMMAND_PATH', `program ${program} is not in ${dir}`);
  }
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new BreakglassError('COMMAND_PATH', `program ${program} resolves outside ${dir} (a symlink?); refusing`);
  const st = await stat(real);
  if (!st.isFile() || (st.mode & 0o111) === 0) throw new BreakglassError('COMMAND_PATH', `program ${program} is not an executable file`);
  if (sha256) {
    const actual = createHash('sha256')
      .update(await readFile(real))
      .digest('hex');
    if (actual !== sha256) throw new BreakglassError('COMMAND_PIN', `program ${program} has sha256 ${actual}, but the policy pins ${sha256}; refusing to run it`);
  }
  return real;
}

/** The only environment a command sees. */
export function commandEnv(run: Pick<CommandRun, 'session' | 'expires' | 'settings' | 'runnerEnv'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', BREAKGLASS_SESSION: run.session, BREAKGLASS_EXPIRES: run.expires };
  for (const name of run.settings.env) if (run.runnerEnv[name] !== undefined) env[name] = run.runnerEnv[name];
  return env;
}

/** Runs argv (no shell) and returns stdout; throws COMMAND_FAILED on exit != 0, timeout or oversize output. */
export function execArgv(argv: readonly string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; maxOutputBytes: number; what: string }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (argv.some((a) => a.includes('\0'))) return reject(new BreakglassError('COMMAND_INPUT', `${opts.what}: an argument contains NUL`));
    // Its own process group, so a timeout kills what it started too (a script's
    // `sleep` would otherwise hold stdout open and outlive the kill).
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, shell: false, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out: Buffer[] = [];
    let size = 0;
    let errBytes = 0;
    let failure: string | undefined;
    const kill = (why: string) => {
      failure ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill(`did not finish within ${Math.round(opts.timeoutMs / 1000)} s`), opts.timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      size += c.length;
      if (size > opts.maxOutputBytes) kill(`wrote more than ${opts.maxOutputBytes} bytes`);
      else out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => (errBytes += c.length));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new BreakglassError('COMMAND_FAILED', `${opts.what}: could not start: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      if (failure) return reject(new BreakglassError('COMMAND_FAILED', `${opts.what} ${failure}; killed`));
      if (code !== 0) return reject(new BreakglassError('COMMAND_FAILED', `${opts.what} exited with ${signal ?? `code ${code}`} (stderr: ${errBytes} bytes, not shown: it may hold secrets)`));
      resolve(stdout);
    });
  });
}

async function runTemplate(run: CommandRun, template: readonly string[], pin: string | undefined, what: string): Promise<Buffer> {
  checkInputs(run.def, run.inputs);
  const argv = buildArgv(template, run.inputs);
  const program = await resolveProgram(run.settings.path, argv[0]!, pin);
  return execArgv([program, ...argv.slice(1)], { cwd: run.settings.path, env: commandEnv(run), timeoutMs: run.settings.timeoutMs, maxOutputBytes: run.settings.maxOutputBytes, what });
}

/** Mints: runs `run`, returns stdout as the credential (never empty). */
export async function mintCommand(run: CommandRun): Promise<Buffer> {
  const out = await runTemplate(run, run.def.run, run.def.sha256, `command ${run.def.name}`);
  if (out.length === 0) throw new BreakglassError('COMMAND_FAILED', `command ${run.def.name} produced no output; nothing to deliver`);
  return out;
}

/** Revokes: runs `revoke` if the policy defines one. */
export async function revokeCommand(run: CommandRun): Promise<boolean> {
  if (!run.def.revoke) return false;
  await runTemplate(run, run.def.revoke, run.def.revokeSha256, `revoke ${run.def.name}`);
  return true;
}
