/**
 * The `breakglass` command line: the composition root. Only this file reads
 * process.argv/env and turns outcomes into exit codes:
 * 0 ok, 1 a negative verdict, 2 usage or operational error.
 */
import { Command, CommanderError } from 'commander';
import { BreakglassError, InvalidDocumentError, formatFinding } from '../core/errors.js';
import type { CliIo, ExitCode } from './io.js';
import { COMMANDS, namedCommand } from './command-table.js';
import { VERSION } from '../version.js';

export type Registrar = (program: Command, io: CliIo, done: (code: ExitCode) => void) => void;

/** Runs the CLI with argv (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let code: ExitCode = 0;
  const program = new Command('breakglass')
    .description('Consented, time-boxed, signed emergency access, run entirely through git.')
    .showHelpAfterError('(run with --help for usage)')
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s.replace(/\n$/, '')) });
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
    if (e instanceof CommanderError) {
      // --help and --version exit 0; help shown because no command was given (bare `breakglass`,
      // `breakglass request`) is a usage error like any other, so scripts do not mistake it for success.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof InvalidDocumentError) {
      for (const f of e.findings) io.err(formatFinding(f));
      return 2;
    }
    if (e instanceof BreakglassError) {
      // The stable code first, as in findings, so scripts and tests match on it rather than on prose.
      io.err(`breakglass: error ${e.code}: ${e.message}`);
      return 2;
    }
    io.err(`breakglass: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
    if (io.env.BREAKGLASS_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return 2;
  }
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
