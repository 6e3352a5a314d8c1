import type { Command } from 'commander';
import { parseTime } from '../../core/duration.js';
import { BreakglassError } from '../../core/errors.js';
import { loadRepository } from '../../core/repository.js';
import { SessionId } from '../../core/schemas.js';
import { verifySession, type SessionVerdict } from '../../core/verify-session.js';
import { gitPolicyVersions } from '../../adapters/policy-history.js';
import { CommitSource } from '../../adapters/source.js';
import { loadTrust } from '../../adapters/trust.js';
import { repoDir, requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { repositoryName } from '../signing.js';

interface VerifyOpts {
  trust: string;
  repo?: string;
  repository?: string;
  at?: string;
  json?: boolean;
}

function toJson(v: SessionVerdict, commit: string, repository: string, at: number): unknown {
  return {
    id: v.id,
    approved: v.approved,
    status: v.status,
    commit,
    repository,
    at: new Date(at).toISOString(),
    request: v.requestDigest,
    policy: v.policy ? { name: v.policy.name, digest: v.policy.digest, approved: v.policy.verdict.approved, approvers: v.policy.verdict.approvers } : undefined,
    need: v.approvals?.need,
    accepted: v.approvals?.accepted ?? [],
    reasons: v.reasons,
  };
}

function printText(io: CliIo, v: SessionVerdict, commit: string): void {
  const a = v.approvals;
  const who = a?.accepted.map((x) => `${x.approver} (${x.keyId})`).join(', ');
  if (v.approved) io.out(`approved: ${v.id} at ${commit.slice(0, 12)}: ${v.approvals.accepted.length} of ${v.approvals.need} (${who}); policy ${v.policy.name} approved`);
  else {
    io.out(`NOT approved: ${v.id} at ${commit.slice(0, 12)}${a ? `: ${a.accepted.length} of ${a.need} valid approvals` : ''}`);
    for (const r of v.reasons) io.out(`  ${r.file ? `${r.file}: ` : ''}${r.code}: ${r.message}`);
  }
}

export function registerVerify(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('verify')
    .argument('<id>', 'session id')
    .description("verify a session's approvals against your trust file, as the runner will (files as committed at HEAD)")
    .requiredOption('--trust <file>', 'the trust file (kept outside the repository)')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--repository <name>', 'repository name approvals must bind (default: origin as host/owner/name)')
    .option('--at <time>', 'judge at this RFC 3339 UTC time instead of now')
    .option('--json', 'print one JSON document on stdout')
    .action(async (id: string, opts: VerifyOpts) => {
      if (!SessionId.safeParse(id).success) throw new BreakglassError('ID_INVALID', `${JSON.stringify(id)} is not a valid session id`);
      const at = opts.at === undefined ? io.now() : parseTime(opts.at);
      if (at === undefined) throw new BreakglassError('USAGE', `--at ${JSON.stringify(opts.at)} is not an RFC 3339 UTC time such as 2026-11-21T02:30:00Z`);
      const dir = await repoDir(io, opts.repo);
      // Inputs first, the origin remote last: a missing trust file is named before anything else.
      const trust = await loadTrust(await requireFile(io, '--trust', opts.trust), dir);
      const repository = await repositoryName(dir, opts.repository);
      // Committed bytes only: what the runner will see after merge, and what digests bind.
      const source = await CommitSource.open(dir, 'HEAD');
      const model = await loadRepository(source);
      if (!model.sessions.has(id)) throw new BreakglassError('SESSION_MISSING', `no session ${id} committed at HEAD (${source.commit.slice(0, 12)}) in ${dir}; verify reads committed files only`);
      // The policy's own history: an older approved version restored in git needs fresh approvals.
      const verdict = await verifySession(model, id, trust, repository, at, { policyVersions: gitPolicyVersions(dir, source.commit, repository, trust) });
      if (opts.json) io.out(JSON.stringify(toJson(verdict, source.commit, repository, at), null, 2));
      else printText(io, verdict, source.commit);
      done(verdict.approved ? 0 : 1);
    });
}
