/**
 * The `breakglass` command line: the composition root. Only this file reads
 * process.argv/env and turns outcomes into exit codes:
 * 0 ok, 1 a negative verdict, 2 usage or operational error.
 */
import { messageOf } from '../crypto/error-parts.js';
import { Command, CommanderError } from 'commander';
import { BreakglassError, InvalidDocumentError, formatError, formatFinding } from '../core/errors.js';
import type { CliIo, ExitCode } from './io.js';
import { COMMANDS, namedCommand } from './command-table.js';
import { VERSION } from '../version.js';

export type Registrar = (program: Command, io: CliIo, done: (code: ExitCode) => void) => void;

/** Runs the CLI with argv (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = 0;
  const program = new Command('breakglass')
    .description('Consented, time-boxed, signed emergency access, run entirely through git.')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
      // Commander's own refusals (an unknown option, a missing argument) read like every other error.
      outputError: (s) => io.err(formatError('USAGE', `${s.replace(/^error: /, '')} (run with --help for usage)`)),
    });
  // Load only the command the arguments name; without one, list them all from the table.
  const named = namedCommand(argv);
  if (named) (await named.load())(program, io, (c) => (code = c));
  else for (const c of COMMANDS) program.command(`${c.name}${c.args ? ` ${c.args}` : ''}`).description(c.summary);
  program.commands.forEach(function override(c: Command): void {
    c.exitOverride();
    c.commands.forEach(override);
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    return failed(e, io);
  }
}

/**
 * The one place an error becomes output and an exit code: one line
 * `breakglass: CODE: message` on stderr and exit 2, whatever was thrown.
 */
function failed(e: unknown, io: CliIo): ExitCode {
  if (e instanceof CommanderError) {
    // --help and --version exit 0. Help shown because no command was given (bare `breakglass`,
    // `breakglass request`) is a usage error like any other, so scripts do not mistake it for success;
    // commander's other refusals have printed their line already (outputError above).
    if (e.exitCode === 0) return 0;
    if (e.code === 'commander.help') io.err(formatError('USAGE', 'no command given; the commands are listed above'));
    return 2;
  }
  if (e instanceof InvalidDocumentError) {
    // Every finding, in the form editors parse, then the one error line.
    for (const f of e.findings) io.err(formatFinding(f));
    io.err(formatError(e.code, `${e.findings[0]?.file ?? 'a document'} is not valid (${e.findings.length} finding${e.findings.length === 1 ? '' : 's'} above)`));
    return 2;
  }
  // The stable code first, as in findings, so scripts and tests match on it rather than on prose.
  if (e instanceof BreakglassError) {
    io.err(formatError(e.code, e.message));
    return 2;
  }
  // A bug, not an operational error: say what, and the stack only when asked for.
  io.err(formatError('INTERNAL', messageOf(e)));
  if (io.env.BREAKGLASS_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
  return 2;
}

/** The process entry: real streams, clock and environment; sets the exit code. */
export async function main(): Promise<void> {
  const io: CliIo = {
    out: (s) => process.stdout.write(`${s}\n`),
    err: (s) => process.stderr.write(`${s}\n`),
    now: () => Date.now(),
    env: process.env,
    cwd: process.cwd(),
    interactive: !!process.stdin.isTTY && !!process.stdout.isTTY && !process.env.CI,
  };
  process.exitCode = await run(process.argv.slice(2), io);
}
