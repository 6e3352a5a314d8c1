/**
 * `breakglass review ID --trust FILE [--key FILE]`: the post-incident review
 * in Markdown. The facts come from the audit of the git history (the same
 * verifier as `audit`), the activity from the recording when an auditor key
 * opens it. Without a key the review holds everything but the recording's
 * contents, and says so. Exit 1 when the audit has findings about the session
 * or its recording was refused; the review is written either way.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BreakglassError } from '../../core/errors.js';
import { renderReview } from '../../core/review.js';
import { repoDir, requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { checkSessionId, recordingFor } from '../recording-load.js';
import { auditRepository } from './audit.js';
import { writeSecretFile } from './receive.js';

interface ReviewOptions {
  key?: string;
  trust: string;
  repo?: string;
  repository?: string;
  out?: string;
}

export function registerReview(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('review')
    .argument('<id>', 'session id')
    .description('write the post-incident review of a session (Markdown): who, when, what it did, why it ended, the revocation proof')
    .requiredOption('--trust <file>', 'the trust file (outside the repository): approver keys and the runner key')
    .option('--key <file>', "an auditor's OpenPGP secret key: include what the recording shows (passphrase from BREAKGLASS_PASSPHRASE)")
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--repository <name>', 'repository name approvals bind (default: origin as host/owner/name)')
    .option('--out <file>', 'write the review here (mode 0600) instead of stdout')
    .action(async (id: string, opts: ReviewOptions) => {
      checkSessionId(id);
      const trustFile = await requireFile(io, '--trust', opts.trust);
      const keyFile = opts.key === undefined ? undefined : await requireFile(io, '--key', opts.key, 'KEY_MISSING');
      const dir = await repoDir(io, opts.repo);
      const report = await auditRepository(io, dir, trustFile, { repository: opts.repository, pollSeconds: 5, toleranceSeconds: 15 });
      const session = report.sessions.find((s) => s.id === id);
      if (!session) throw new BreakglassError('SESSION_MISSING', `no session ${id} in the history of ${report.branch} in ${dir}`);
      const { record, recording } = await recordingFor(io, dir, id, trustFile, keyFile);
      const text = renderReview({ session, record, recording, repository: report.repository, at: new Date(io.now()).toISOString() });
      // With a key the review quotes the recording: it is as confidential as the recording itself.
      if (opts.out) {
        await writeSecretFile(resolve(io.cwd, opts.out), text);
        io.err(`wrote the review of ${id} to ${opts.out}${recording.state === 'no-key' ? " (without the recording's contents: no --key)" : ''}`);
      } else io.out(text);
      done(session.findings.length || recording.state === 'refused' ? 1 : 0);
    });
}
