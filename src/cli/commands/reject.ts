import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadDocument } from '../../core/document.js';
import { formatTime } from '../../core/duration.js';
import { InvalidDocumentError } from '../../core/errors.js';
import { API_VERSION } from '../../core/schemas.js';
import { repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { loadSessionView } from '../session-view.js';
import { actor, commitPaths } from '../signing.js';
import { toYaml } from './request.js';

interface RejectOpts {
  reason: string;
  by?: string;
  repo?: string;
  commit?: boolean;
}

export function registerReject(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('reject')
    .argument('<id>', 'session id')
    .description('reject a request with a reason: writes sessions/<id>/rejection.yaml')
    .requiredOption('--reason <text>', 'why, shown to the vendor on the pull request')
    .option('--by <who>', 'who rejects (default: git config user.email)')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--commit', 'commit rejection.yaml (and nothing else)')
    .action(async (id: string, opts: RejectOpts) => {
      const dir = await repoDir(io, opts.repo);
      const sv = await loadSessionView(dir, id, io.now());
      const req = sv.request;
      const doc = { apiVersion: API_VERSION, kind: 'Rejection', session: id, request: req.digest, by: await actor(dir, opts.by), at: formatTime(io.now()), reason: opts.reason };
      const rel = `sessions/${id}/rejection.yaml`;
      const bytes = Buffer.from(toYaml(doc));
      const loaded = loadDocument(rel, bytes, 'Rejection');
      if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
      await writeFile(join(dir, rel), bytes);
      io.out(`wrote ${rel}`);
      if (opts.commit) io.out(`committed ${(await commitPaths(dir, [rel], `Reject ${id}`)).slice(0, 12)}`);
      done(0);
    });
}
