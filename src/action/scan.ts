/**
 * The scheduled scan's view of the repository: the open pull requests, as
 * the event a pull request's own run would see, and their head commits made
 * available in the checkout (a `schedule:` run checks out the default branch).
 */
import { git, revParse } from '../adapters/git.js';
import type { GitHub } from './github.js';
import type { EventInfo, Settings } from './settings.js';

type PullRequest = Extract<EventInfo, { kind: 'pull_request' }>;

/** Every open pull request, as a pull_request event. */
export async function scanPulls(github: GitHub, settings: Settings): Promise<PullRequest[]> {
  const full = `${settings.owner}/${settings.repo}`;
  return (await github.listOpenPulls()).map((p) => ({
    kind: 'pull_request',
    number: p.number,
    headSha: p.head.sha,
    baseSha: p.base.sha,
    fork: !!p.head.repo && p.head.repo.full_name !== full,
    createdAt: p.created_at,
  }));
}

/**
 * True when the head commit is in the checkout, fetching `refs/pull/N/head`
 * from origin if it is not. Judging anything else (the default branch the
 * scan checked out) would notify about the wrong files, so a head that cannot
 * be had is skipped.
 */
export async function headAvailable(workspace: string, ev: PullRequest): Promise<boolean> {
  if (await revParse(workspace, ev.headSha)) return true;
  await git(workspace, ['fetch', '--quiet', '--no-tags', 'origin', `+refs/pull/${ev.number}/head:refs/remotes/breakglass/pull/${ev.number}`]).catch(() => undefined);
  return (await revParse(workspace, ev.headSha)) !== undefined;
}
