import type { Command } from 'commander';
import { renderText } from '../../core/view.js';
import { printFindings, repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { loadSessionView } from '../session-view.js';
import { loadTrust } from '../../adapters/trust.js';
import { resolve } from 'node:path';

export function registerShow(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('show')
    .argument('<id>', 'session id')
    .description('show the approval view of a session: everything an approver must see')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--repository <name>', 'repository name bound into approvals (default: origin as host/owner/name)')
    .option('--trust <file>', 'verify approvals against this trust file (working-tree files; verify checks what is committed)')
    .action(async (id: string, opts: { repo?: string; repository?: string; trust?: string }) => {
      const dir = await repoDir(io, opts.repo);
      const trust = opts.trust ? await loadTrust(resolve(io.cwd, opts.trust), dir) : undefined;
      const sv = await loadSessionView(dir, id, io.now(), opts.repository, trust);
      printFindings(io, sv.findings);
      const checkedWith = trust ? `the trust file ${opts.trust}` : 'nothing: show does not verify signatures unless given --trust; `breakglass verify --trust` does';
      io.out(renderText(sv.view, checkedWith));
      // With a trust file, show answers what verify and the runner answer: would this session activate?
      done(sv.view.verdict.ok && (sv.runner?.approved ?? true) ? 0 : 1);
    });
}
