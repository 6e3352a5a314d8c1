/**
 * What the GitHub Action does in one step, given the runner as an `ActionIo`
 * (main.ts, the bundle's entry, hands in the real one; tests a recording one).
 * Settings are read once; `runStep` holds the only try/catch, the only place
 * an error becomes the step's failing conclusion.
 *
 * Records are never judged on a pull request as anything but an error: the
 * runner writes them by pushing to the default branch, so a `push` event is
 * how the Action meets them, and on a push it validates every session as it
 * is (no file rules, no comment).
 */
import { messageOf } from '../crypto/error-parts.js';
import { BreakglassError, formatError, hasErrors, type Finding } from '../core/errors.js';
import { parseTime } from '../core/duration.js';
import { findOwnComment } from './comment.js';
import { checkListingComplete, toChanges } from './file-rules.js';
import { createGitHub, type GitHub } from './github.js';
import { notifyPull, readState, withState } from './notify.js';
import { headAvailable, scanPulls } from './scan.js';
import { judgeAll, judgePullRequest, type JudgeContext, type Judgement } from './judge.js';
import { toCanonical, toRepoPath, type Layout } from './layout.js';
import { publishComment, type PublishResult } from './publish.js';
import { renderComment, renderSummary } from './render.js';
import type { ActionIo } from './io.js';
import { annotate, setOutputs, writeSummary } from './report.js';
import { readSettings, type Settings } from './settings.js';
import { signatureSetup, trustChangeFindings } from './signatures.js';

type PullRequest = Extract<Settings['event'], { kind: 'pull_request' }>;

/**
 * Says what became of the comment; returns the notice for the summary when it
 * was not posted. A read-only token is expected on forks (a warning); any
 * other failure is an outage the step must not hide.
 */
function reportPublished(io: ActionIo, p: PublishResult): string | undefined {
  if (p.ok) {
    io.info(`approval view ${p.outcome.action}: ${p.outcome.url}`);
    return undefined;
  }
  if (p.readOnly) io.warning(p.notice);
  else io.setFailed(p.notice);
  return p.notice;
}

/**
 * Notifications for this pull request (issue 13): reads what was already sent
 * from the Action's own comment, sends what is new, and returns the comment
 * body carrying the updated memory. Without `notify`, the body as it was.
 */
async function notified(io: ActionIo, settings: Settings, github: GitHub, ev: PullRequest, j: Judgement, body: string, now: number): Promise<string> {
  if (!settings.notify) return body;
  const existing = findOwnComment(await github.listComments(ev.number), await github.authenticatedLogin());
  const { state, problem } = readState(existing?.body);
  if (problem) io.warning(problem);
  const url = `${settings.serverUrl}/${settings.owner}/${settings.repo}/pull/${ev.number}`;
  const openedAt = ev.createdAt ? parseTime(ev.createdAt) : undefined;
  const next = await notifyPull(j, state, settings.notify, {
    url,
    openedAt,
    now,
    repositoryName: settings.repositoryName,
    timeoutMs: 10_000,
    log: { info: (m) => io.info(m), warn: (m) => io.warning(m) },
  });
  return withState(body, next);
}

function gitHubFor(io: ActionIo, settings: Settings): GitHub {
  return createGitHub({ token: settings.token, baseUrl: settings.apiUrl, owner: settings.owner, repo: settings.repo, log: { debug: (m) => io.debug(m), warn: (m) => io.warning(m) } });
}

async function runPullRequest(io: ActionIo, settings: Settings, ev: PullRequest, ctx: JudgeContext, layout: Layout, summary = true): Promise<Judgement> {
  const sig = await signatureSetup(settings, ctx.now);
  const github = gitHubFor(io, settings);
  const files = await github.listPullFiles(ev.number);
  const changes = toChanges(files, (p) => toCanonical(layout, p));
  const judged = await judgePullRequest({ ...ctx, keys: sig.keys }, ev.headSha, changes, sig.policyApprovalsNeeded);
  const extra = [...checkListingComplete(files.length, ev.changedFiles), ...trustChangeFindings(files, settings.trustPath)];
  const j = { ...judged, findings: [...extra, ...judged.findings] };
  const where = (f: Finding) => toRepoPath(layout, f.file);
  const notices = sig.problem ? [sig.problem] : [];
  if (settings.notifySkipped) io.notice(settings.notifySkipped);
  if (settings.comment) {
    const body = await notified(io, settings, github, ev, j, renderComment(j, where, ev.headSha, sig.checkedWith), ctx.now);
    const notice = reportPublished(io, await publishComment(github, ev.number, body, ev.fork));
    if (notice) notices.push(notice);
  }
  if (settings.stepSummary && summary) await writeSummary(io, renderSummary(j, where, `pull request #${ev.number}`, sig.checkedWith, true), notices);
  if (sig.problem) io.warning(sig.problem);
  return j;
}

async function runAll(io: ActionIo, settings: Settings, sha: string, ctx: JudgeContext, layout: Layout): Promise<Judgement> {
  const sig = await signatureSetup(settings, ctx.now);
  const j = await judgeAll({ ...ctx, keys: sig.keys }, sha);
  const notices = sig.problem ? [sig.problem] : [];
  if (settings.stepSummary)
    await writeSummary(
      io,
      renderSummary(j, (f) => toRepoPath(layout, f.file), `${j.sessions.length} sessions at ${sha.slice(0, 12)}`, sig.checkedWith, false),
      notices,
    );
  if (sig.problem) io.warning(sig.problem);
  return j;
}

/**
 * The scheduled scan (a `schedule:` or `workflow_dispatch` run with `notify`):
 * every open pull request is judged and notified as its own run would, which
 * is how escalations fire while nobody pushes, and how a fork's request gets
 * its `requested` message. Findings are the pull requests' own runs' business.
 */
async function runScan(io: ActionIo, settings: Settings, ctx: JudgeContext, layout: Layout): Promise<void> {
  const github = gitHubFor(io, settings);
  const pulls = await scanPulls(github, settings);
  for (const ev of pulls) {
    if (!(await headAvailable(settings.workspace, ev))) {
      io.warning(`pull request #${ev.number}: its head ${ev.headSha.slice(0, 12)} is not in this checkout and could not be fetched; skipped (check out with fetch-depth: 0)`);
      continue;
    }
    const j = await runPullRequest(io, settings, ev, ctx, layout, false);
    io.info(`breakglass: pull request #${ev.number}: ${j.sessions.map((x) => `${x.id} ${x.status} ${x.approvals.have} of ${x.approvals.need}`).join(', ') || 'no session'}`);
  }
  io.info(`breakglass: scanned ${pulls.length} open pull request(s)`);
}

/** One run of the Action with the given settings and clock. */
async function run(io: ActionIo, settings: Settings, now: number): Promise<void> {
  const layout: Layout = { sessions: settings.sessionsPath, policies: settings.policiesPath };
  const ctx: JudgeContext = { workspace: settings.workspace, layout, repositoryName: settings.repositoryName, now };
  const ev = settings.event;
  if (ev.kind === 'other' && settings.notify && (ev.name === 'schedule' || ev.name === 'workflow_dispatch')) return runScan(io, settings, ctx, layout);
  const j = ev.kind === 'pull_request' ? await runPullRequest(io, settings, ev, ctx, layout) : await runAll(io, settings, ev.sha, ctx, layout);
  annotate(io, j.findings, (f) => toRepoPath(layout, f.file));
  setOutputs(io, j);
  const errors = j.findings.filter((f) => f.severity === 'error').length;
  io.info(`breakglass: ${j.sessions.length} session(s), ${errors} finding(s), read from ${j.source}`);
  if (hasErrors(j.findings) && settings.failOnFindings) io.setFailed(`breakglass found ${errors} problem${errors === 1 ? '' : 's'}; see the annotations and the job summary`);
}

/**
 * One step: the settings from the environment, the clock read once, and the
 * one catch, where an error becomes the step's failing conclusion in the same
 * one line as the command line's: `breakglass: CODE: message`.
 */
export async function runStep(io: ActionIo): Promise<void> {
  try {
    await run(io, readSettings(io.env), io.now());
  } catch (e) {
    io.setFailed(e instanceof BreakglassError ? formatError(e.code, e.message) : formatError('INTERNAL', messageOf(e)));
    if (e instanceof Error && e.stack) io.debug(e.stack);
  }
}
