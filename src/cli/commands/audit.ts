import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { auditHistory, type AuditReport } from '../../core/audit.js';
import { parseDuration } from '../../core/duration.js';
import { BreakglassError } from '../../core/errors.js';
import { repositoriesInSignedRecords } from '../../core/audit-repository.js';
import type { AuditHistory } from '../../core/audit-history.js';
import type { AuditTrust } from '../../core/audit-types.js';
import { originName } from '../../adapters/git.js';
import { currentBranch, readHistory } from '../../adapters/history.js';
import { loadRunnerKeys, loadTrust } from '../../adapters/trust.js';
import { renderAuditHtml } from '../audit-html.js';
import { makeDirectory, repoDir, requireFile } from '../common.js';
import { recordingFor } from '../recording-load.js';
import { renderReview } from '../../core/review.js';
import { SessionId } from '../../core/schemas.js';
import type { CliIo, ExitCode } from '../io.js';

interface AuditOpts {
  trust: string;
  repo?: string;
  repository?: string;
  branch?: string;
  json?: boolean;
  html?: string;
  pollInterval: string;
  tolerance: string;
}

function seconds(flag: string, value: string): number {
  const s = parseDuration(value);
  if (s === undefined) throw new BreakglassError('USAGE', `${flag} ${JSON.stringify(value)} is not a duration such as 5s, 30s or 1m`);
  return s;
}

/** `--repository`, else the origin remote, else the one name the runner signed into its records. */
async function auditedRepository(dir: string, flag: string | undefined, history: AuditHistory, trust: AuditTrust): Promise<string> {
  const named = flag ?? (await originName(dir));
  if (named) return named;
  const signed = await repositoriesInSignedRecords(history, trust);
  if (signed.length === 1) return signed[0]!;
  const how = 'pass --repository host/owner/name';
  if (signed.length > 1)
    throw new BreakglassError('REPOSITORY_AMBIGUOUS', `there is no origin remote in ${dir}, and runner-signed records name ${signed.length} repositories (${signed.join(', ')}); ${how}`);
  throw new BreakglassError('REPOSITORY_UNKNOWN', `cannot tell which repository this is: there is no origin remote in ${dir} and no runner-signed record to learn it from; ${how}`);
}

/** Runs the audit of the repository at `dir` with the trust file's approvers and runner key (also used by `review`). */
export async function auditRepository(io: CliIo, dir: string, trustFile: string, o: { repository?: string; branch?: string; pollSeconds: number; toleranceSeconds: number }): Promise<AuditReport> {
  const approvals = await loadTrust(trustFile, dir);
  const runner = await loadRunnerKeys(trustFile, dir);
  if (runner.length === 0) throw new BreakglassError('TRUST_NO_RUNNER', `${trustFile} names no runner key (runner: keys/runner.asc); the audit needs it to verify records`);
  const history = await readHistory(dir, o.branch ?? (await currentBranch(dir)));
  const repository = await auditedRepository(dir, o.repository, history, { approvals, runner });
  return auditHistory(history, { approvals, runner }, { repository, now: io.now(), pollSeconds: o.pollSeconds, toleranceSeconds: o.toleranceSeconds });
}

/**
 * The HTML report, and beside it `reviews/<id>.md`: each session's
 * post-incident review without the recording's contents (the audit holds no
 * auditor key), which the report links.
 */
async function writeHtml(io: CliIo, dir: string, trustFile: string, report: AuditReport, html: string): Promise<void> {
  const reviews = join(dirname(html), 'reviews');
  const linked = new Set<string>();
  for (const session of report.sessions) {
    // Ids come from paths in the repository: only a valid session id becomes a file name.
    if (!SessionId.safeParse(session.id).success) continue;
    if (!linked.size) await makeDirectory(reviews);
    const { record, recording } = await recordingFor(io, dir, session.id, trustFile, undefined);
    await writeFile(join(reviews, `${session.id}.md`), renderReview({ session, record, recording, repository: report.repository, at: report.at }));
    linked.add(session.id);
  }
  await writeFile(html, renderAuditHtml(report, { review: (id) => (linked.has(id) ? `reviews/${id}.md` : undefined) }));
}

function printText(io: CliIo, r: AuditReport): void {
  const all = [...r.findings, ...r.sessions.flatMap((s) => s.findings)];
  io.out(`audit of ${r.repository} (${r.branch} at ${r.head?.slice(0, 12) ?? 'no commits'}, ${r.commits} commits): ${r.sessions.length} session(s), ${all.length} finding(s)`);
  for (const s of r.sessions) io.out(`  ${s.findings.length ? 'FAIL' : 'ok  '} ${s.id} (${s.status})`);
  for (const f of all) io.out(`${f.code}${f.session ? ` session ${f.session}` : ''}${f.commit ? ` commit ${f.commit.slice(0, 12)}` : ''}: ${f.message}`);
  io.out(r.clean ? 'clean: every session was approved, bounded and torn down' : 'NOT clean: see the findings above');
}

export function registerAudit(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('audit')
    .description('verify every session in the git history end to end: approvals, activation, bounds, teardown, records')
    .requiredOption('--trust <file>', 'the trust file (kept outside the repository); must name the runner key (runner:)')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--repository <name>', 'repository name approvals bind (default: origin as host/owner/name)')
    .option('--branch <rev>', 'the default branch (default: the branch checked out)')
    .option('--json', 'print one JSON document on stdout')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--poll-interval <d>', "the runner's poll interval: how late an end or expiry may be noticed", '5s')
    .option('--tolerance <d>', 'extra slack for teardown and the revocation proof', '15s')
    .action(async (opts: AuditOpts) => {
      const pollSeconds = seconds('--poll-interval', opts.pollInterval);
      const toleranceSeconds = seconds('--tolerance', opts.tolerance);
      const dir = await repoDir(io, opts.repo);
      // Inputs first (the trust file), the repository name last: it may come from the history itself.
      const trustFile = await requireFile(io, '--trust', opts.trust);
      const report = await auditRepository(io, dir, trustFile, { repository: opts.repository, branch: opts.branch, pollSeconds, toleranceSeconds });
      if (opts.html) await writeHtml(io, dir, trustFile, report, resolve(io.cwd, opts.html));
      if (opts.json) io.out(JSON.stringify(report, null, 2));
      else printText(io, report);
      done(report.clean ? 0 : 1);
    });
}
