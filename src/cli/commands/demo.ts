import type { Command } from 'commander';
import { runDemo } from '../../dev/demo.js';
import type { CliIo, ExitCode } from '../io.js';

export function registerDemo(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('demo')
    .description('run the whole signed lifecycle end to end on this machine (real git, keys, kube-apiserver), narrated')
    .option('--keep', 'keep the demo directory (repositories, keys, audit report) instead of removing it')
    .action(async (opts: { keep?: boolean }) => {
      done((await runDemo({ out: io.out, keep: !!opts.keep })) === 0 ? 0 : 1);
    });
}
