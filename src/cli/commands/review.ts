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
import { renderReview, type ReviewRecording } from '../../core/review.js';
import type { Record } from '../../core/schemas.js';
import { repoDir, requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { checkSessionId, loadSignedSession, openSessionRecording, readAuditorKey, RecordingRefused } from '../recording-load.js';
import { auditRepository } from './audit.js';
import { writeSecretFile } from './receive.js';

interface ReviewOptions {
  key?: string;
  trust: string;
  repo?: string;
  repository?: string;
  out?: string;
}

/** The record (when the runner wrote one) and what the review may say of the recording. */
async function recordingFor(io: CliIo, dir: string, id: string, trustFile: string, keyFile: string | undefined): Promise<{ record?: Record; recording: ReviewRecording }> {
  let session;
  try {
    session = await loadSignedSession(io, dir, id, trustFile);
  } catch (e) {
    // No record yet, or one the runner did not sign: the audit's findings already say which.
    if (e instanceof RecordingRefused || (e instanceof BreakglassError && e.code === 'RECORDING_NONE')) return { recording: { state: 'not-recorded' } };
    throw e;
  }
  const { record } = session;
  if (!record.recording && session.files.length === 0) return { record, recording: { state: 'not-recorded' } };
  if (!keyFile) return { record, recording: { state: 'no-key' } };
  try {
    const opened = await openSessionRecording(session, id, await readAuditorKey(io, keyFile));
    return { record, recording: opened ? { state: 'opened', events: opened.events } : { state: 'not-recorded' } };
  } catch (e) {
    if (e instanceof RecordingRefused) return { record, recording: { state: 'refused', reasons: e.findings } };
    throw e;
  }
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
