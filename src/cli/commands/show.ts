import type { Command } from 'commander';
import { renderText } from '../../core/view.js';
import { printFindings, repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { loadSessionView } from '../session-view.js';

export function registerShow(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('show')
    .argument('<id>', 'session id')
    .description('show the approval view of a session: everything an approver must see')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--repository <name>', 'repository name bound into approvals (default: origin as host/owner/name)')
    .action(async (id: string, opts: { repo?: string; repository?: string }) => {
      const dir = await repoDir(io, opts.repo);
      const sv = await loadSessionView(dir, id, io.now(), opts.repository);
      printFindings(io, sv.findings);
      io.out(renderText(sv.view, 'nothing: show does not verify signatures; `breakglass verify --trust` does'));
      done(sv.view.verdict.ok ? 0 : 1);
    });
}
