import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { auditHistory, type AuditReport } from '../../core/audit.js';
import { parseDuration } from '../../core/duration.js';
import { BreakglassError } from '../../core/errors.js';
import { currentBranch, readHistory } from '../../adapters/history.js';
import { loadRunnerKey, loadTrust } from '../../adapters/trust.js';
import { renderAuditHtml } from '../audit-html.js';
import { repoDir } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { repositoryName } from '../signing.js';

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
      const repository = await repositoryName(dir, opts.repository);
      const trustFile = resolve(io.cwd, opts.trust);
      const approvals = await loadTrust(trustFile, dir);
      const runner = await loadRunnerKey(trustFile, dir);
      if (!runner) throw new BreakglassError('TRUST_NO_RUNNER', `${trustFile} names no runner key (runner: keys/runner.asc); the audit needs it to verify records`);
      const history = await readHistory(dir, opts.branch ?? (await currentBranch(dir)));
      const report = await auditHistory(history, { approvals, runner }, { repository, now: io.now(), pollSeconds, toleranceSeconds });
      if (opts.html) await writeFile(resolve(io.cwd, opts.html), renderAuditHtml(report));
      if (opts.json) io.out(JSON.stringify(report, null, 2));
      else printText(io, report);
      done(report.clean ? 0 : 1);
    });
}
