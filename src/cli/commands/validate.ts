import type { Command } from 'commander';
import { BreakglassError, hasErrors } from '../../core/errors.js';
import { loadRepository } from '../../core/repository.js';
import { validateRepository } from '../../core/validate.js';
import { WorkTreeSource } from '../../adapters/source.js';
import { printFindings, repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { approvalFilesFor, unapprovedNote } from '../policy-status.js';

export function registerValidate(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('validate')
    .description('check every policy and session file: schema and policy (not signatures; see verify)')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { repo?: string; json?: boolean }) => {
      const dir = await repoDir(io, opts.repo);
      const model = await loadRepository(new WorkTreeSource(dir));
      // An empty directory is not a valid access repository: most likely the wrong --repo.
      if (!model.policies.length && !model.sessions.size && !model.findings.length) {
        throw new BreakglassError(
          'NOTHING_TO_VALIDATE',
          `nothing to validate in ${dir}: no policies/*.yaml and no sessions/; run it in an access repository (or pass --repo), or set one up with breakglass init`,
        );
      }
      const result = validateRepository(model, io.now());
      const ok = !hasErrors(result.findings);
      // validate judges rules, not signatures; but a policy with no approval at all is certain to be refused by the runner.
      const unapproved = result.usablePolicies.map((p) => p.metadata.name).filter((name) => !approvalFilesFor(model, name));
      if (opts.json) {
        const sessions = result.sessions.map(({ evaluation, ...s }) => ({
          ...s,
          policy: evaluation?.governing?.policy.metadata.name,
          violations: evaluation?.violations.map((v) => v.code) ?? [],
        }));
        io.out(JSON.stringify({ ok, findings: result.findings, sessions, policies: result.usablePolicies.map((p) => p.metadata.name), unapprovedPolicies: unapproved }, null, 2));
      } else {
        printFindings(io, result.findings);
        for (const name of unapproved) io.err(`note: ${unapprovedNote(name)}`);
        io.out(
          ok ? `ok: ${model.policies.length} polic${model.policies.length === 1 ? 'y' : 'ies'}, ${result.sessions.length} session${result.sessions.length === 1 ? '' : 's'}` : 'validation failed',
        );
      }
      done(ok ? 0 : 1);
    });
}
