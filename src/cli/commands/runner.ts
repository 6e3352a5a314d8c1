import type { Command } from 'commander';
import { assembleRunner } from '../../runner/assemble.js';
import { planOnce, reconcileOnce, runLoop } from '../../runner/loop.js';
import { requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

export function registerRunner(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('runner')
    .description('run the in-account runner: poll the repository, activate approved sessions, tear down, record')
    .requiredOption('--config <file>', 'RunnerConfig file (paths inside are relative to it)')
    .option('--once', 'reconcile once and exit')
    .option('--dry-run', 'verify and print the plan of each approved session as JSON on stdout; create nothing')
    .action(async (opts: { config: string; once?: boolean; dryRun?: boolean }) => {
      const killAfter = io.env.BREAKGLASS_FAULT_KILL_AFTER;
      const deps = await assembleRunner(await requireFile(io, '--config', opts.config), {
        env: io.env,
        now: io.now,
        log: (line) => io.err(`${new Date(io.now()).toISOString()} ${line}`),
        // Fault injection for tests: die without any cleanup right after the named step.
        afterStep: async (step) => {
          if (killAfter === step) process.kill(process.pid, 'SIGKILL');
        },
      });
      deps.log(`runner ${deps.runnerId} (key ${deps.fingerprint}) watching ${deps.config.repository.name} ${deps.config.repository.branch}`);
      if (opts.dryRun) {
        const plans: unknown[] = [];
        deps.dryRun = (plan) => plans.push(plan);
        await planOnce(deps);
        io.out(JSON.stringify(plans, null, 2));
      } else if (opts.once) {
        await reconcileOnce(deps);
        // Sends are bounded by their timeout; the loop's work (teardowns, records) is already done.
        await deps.notifier?.idle();
      } else {
        const stop = new AbortController();
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
        await runLoop(deps, stop.signal);
      }
      done(0);
    });
}
