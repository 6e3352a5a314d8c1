import type { Command } from 'commander';
import { BreakglassError } from '../../core/errors.js';
import { runnerLog, type LogFormat } from '../../runner/log.js';
import { requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

export interface RunnerOptions {
  config: string;
  once?: boolean;
  check?: boolean;
  dryRun?: boolean;
  logFormat: string;
}

function logFormat(value: string): LogFormat {
  if (value === 'text' || value === 'json') return value;
  throw new BreakglassError('USAGE', `--log-format ${JSON.stringify(value)}: use text or json`);
}

export function registerRunner(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('runner')
    .description('run the in-account runner: poll the repository, activate approved sessions, tear down, record')
    .requiredOption('--config <file>', 'RunnerConfig file (paths inside are relative to it)')
    .option('--once', 'reconcile once and exit')
    .option('--check', 'check the config against the world (keys, remote, namespaces, RBAC, provider credentials) and exit: 0 ok, 2 with one line per problem')
    .option('--dry-run', 'verify and print the plan of each approved session as JSON on stdout; create nothing')
    .option('--log-format <format>', 'text (readable lines) or json (one object per line)', 'text')
    .action(async (opts: RunnerOptions) => {
      const log = runnerLog(logFormat(opts.logFormat), io.err, io.now);
      const configFile = await requireFile(io, '--config', opts.config);
      // The runner's modules pull in the Kubernetes client (a second of CPU to load): only once the file is there,
      // so a mistyped --config is refused at once.
      const { startRunner } = await import('./runner-start.js');
      await startRunner(configFile, opts, io, log, done);
    });
}
