import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadDocument } from '../../core/document.js';
import { formatTime } from '../../core/duration.js';
import { BreakglassError, InvalidDocumentError } from '../../core/errors.js';
import { API_VERSION, SessionId } from '../../core/schemas.js';
import { repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { actor, commitPaths } from '../signing.js';
import { toYaml } from './request.js';

interface EndOpts {
  reason?: string;
  by?: string;
  repo?: string;
  commit?: boolean;
}

export function registerEnd(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('end')
    .argument('<id>', 'session id')
    .description('end a session now: writes sessions/<id>/end.yaml (unsigned: ending only ever takes access away)')
    .option('--reason <text>', 'why it ends')
    .option('--by <who>', 'who ends it (default: git config user.email)')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--commit', 'commit end.yaml (and nothing else)')
    .action(async (id: string, opts: EndOpts) => {
      if (!SessionId.safeParse(id).success) throw new BreakglassError('ID_INVALID', `${JSON.stringify(id)} is not a valid session id`);
      const dir = await repoDir(io, opts.repo);
      // Ending a session that does not exist would leave a stray end.yaml (and hide a typo in the id).
      const request = join(dir, 'sessions', id, 'request.yaml');
      if (
        !(await stat(request).then(
          (s) => s.isFile(),
          () => false,
        ))
      ) {
        throw new BreakglassError('SESSION_MISSING', `no session ${id} in ${dir}: there is no sessions/${id}/request.yaml; nothing written`);
      }
      const doc = { apiVersion: API_VERSION, kind: 'End', session: id, by: await actor(dir, opts.by), at: formatTime(io.now()), ...(opts.reason ? { reason: opts.reason } : {}) };
      const rel = `sessions/${id}/end.yaml`;
      const bytes = Buffer.from(toYaml(doc));
      const loaded = loadDocument(rel, bytes, 'End');
      if (!loaded.ok) throw new InvalidDocumentError(loaded.findings);
      await writeFile(join(dir, rel), bytes);
      io.out(`wrote ${rel}`);
      if (opts.commit) io.out(`committed ${(await commitPaths(dir, [rel], `End ${id}`)).slice(0, 12)}`);
      done(0);
    });
}
