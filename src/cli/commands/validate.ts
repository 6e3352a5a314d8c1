import type { Command } from 'commander';
import { hasErrors } from '../../core/errors.js';
import { loadRepository } from '../../core/repository.js';
import { validateRepository } from '../../core/validate.js';
import { WorkTreeSource } from '../../adapters/source.js';
import { printFindings, repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

export function registerValidate(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('validate')
    .description('check every policy and session file: schema and policy (not signatures; see verify)')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--json', 'print one JSON document on stdout')
    .action(async (opts: { repo?: string; json?: boolean }) => {
      const dir = await repoDir(io, opts.repo);
      const model = await loadRepository(new WorkTreeSource(dir));
      const result = validateRepository(model, io.now());
      const ok = !hasErrors(result.findings);
      if (opts.json) {
        const sessions = result.sessions.map(({ evaluation, ...s }) => ({
          ...s,
          policy: evaluation?.governing?.policy.metadata.name,
          violations: evaluation?.violations.map((v) => v.code) ?? [],
        }));
        io.out(JSON.stringify({ ok, findings: result.findings, sessions, policies: result.usablePolicies.map((p) => p.metadata.name) }, null, 2));
      } else {
        printFindings(io, result.findings);
        io.out(ok ? `ok: ${model.policies.length} polic${model.policies.length === 1 ? 'y' : 'ies'}, ${result.sessions.length} session${result.sessions.length === 1 ? '' : 's'}` : 'validation failed');
      }
      done(ok ? 0 : 1);
    });
}
