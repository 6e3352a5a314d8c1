import type { Command } from 'commander';
import { formatReport } from '../../drill/report.js';
import { requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

export function registerDrill(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('drill')
    .description('rehearse a whole session against the configured (staging) cluster in a sandbox repository, with the drill key; time each step')
    .requiredOption('--config <file>', 'RunnerConfig file with a drill: section (paths inside are relative to it)')
    .option('--json', 'print one JSON report on stdout')
    .option('--keep', 'keep the sandbox (repository, trust, runner config) instead of removing it')
    .action(async (opts: { config: string; json?: boolean; keep?: boolean }) => {
      const configFile = await requireFile(io, '--config', opts.config);
      // The drill pulls in the runner and the Kubernetes client (a second of CPU to load): only once the file is there,
      // so a mistyped --config is refused at once.
      const { runDrill } = await import('../../drill/run.js');
      const { report, code } = await runDrill({
        configFile,
        env: io.env,
        now: io.now,
        keep: !!opts.keep,
        log: (line) => io.err(`runner: ${line}`),
      });
      if (opts.json) io.out(JSON.stringify(report, null, 2));
      else for (const line of formatReport(report)) io.out(line);
      done(code);
    });
}
