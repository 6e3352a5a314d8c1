import type { Command } from 'commander';
import { INTERRUPTED, runDemo } from '../../dev/demo.js';
import type { CliIo, ExitCode } from '../io.js';

export function registerDemo(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('demo')
    .description('run the whole signed lifecycle end to end on this machine (real git, keys, kube-apiserver), narrated')
    .option('--keep', 'keep the demo directory (repositories, keys, audit report) instead of removing it')
    .action(async (opts: { keep?: boolean }) => {
      // Ctrl-C (or SIGTERM) aborts the current step; runDemo then stops etcd and
      // the API server and removes the keys and temporary directories before exiting.
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const code = await runDemo({ out: io.out, keep: !!opts.keep, signal: ac.signal });
        done(code === 0 ? 0 : code === INTERRUPTED ? 2 : 1);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
