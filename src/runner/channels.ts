/**
 * Delivery channels: where the sealed credential is put, once, and removed at
 * teardown. Only ciphertext goes through a channel.
 *  - directory: `<outbox>/<id>.asc`, created with O_EXCL.
 *  - github: a comment on the pull request that added the session's request,
 *    found through the API from the commit that added request.yaml; deleted at
 *    teardown by the comment id the API returned. Comments are never searched
 *    to decide whether to deliver: anyone can write a comment, so a comment
 *    cannot stop a delivery ("once" is the marker's job). Only when a crash
 *    lost the id does teardown look for the exact per-delivery tag, a random
 *    value kept in the marker before the comment was posted.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gitText } from '../adapters/git.js';
import { createOctokit } from '../adapters/github.js';
import { BreakglassError } from '../core/errors.js';
import { deliverToDirectory, withdrawFromDirectory } from './delivery.js';
import type { RepoMirror } from './repo.js';

/** One way of handing the sealed credential to the vendor. */
export interface Channel {
  readonly name: 'directory' | 'github';
  /** Delivers once; `tag` is this delivery's random tag (kept in the marker first). Returns a reference that `withdraw` takes. */
  deliver(session: string, sealed: string, commit: string, tag?: string): Promise<string>;
  /** Removes the delivery (by `ref`, or by its `tag` when a crash lost the ref); already gone is success. */
  withdraw(session: string, commit: string, ref?: string, tag?: string): Promise<void>;
}

export function directoryChannel(outbox: string): Channel {
  return {
    name: 'directory',
    deliver: (session, sealed) => deliverToDirectory(outbox, session, sealed),
    withdraw: (session, _commit, ref) => withdrawFromDirectory(ref ?? join(outbox, `${session}.asc`)),
  };
}

const markerOf = (session: string, tag: string) => `<!-- breakglass-credential:${session}:${tag} -->`;

function commentBody(session: string, sealed: string, tag: string): string {
  return [
    markerOf(session, tag),
    `Credential for session \`${session}\`, sealed to the recipient key of the signed request.`,
    `Save this comment (or just the block) as \`${session}.asc\` and run \`breakglass receive ${session} --key <your secret key> --from <dir>\`.`,
    'It is deleted when the session ends.',
    '',
    '```text',
    sealed.trim(),
    '```',
  ].join('\n');
}

export interface GitHubChannelOptions {
  token: string;
  apiUrl?: string;
  /** `host/owner/name`, as in the runner config. */
  repository: string;
  mirror: RepoMirror;
}

export function githubChannel(o: GitHubChannelOptions): Channel {
  const [, owner, repo] = o.repository.split('/') as [string, string, string];
  const octokit = createOctokit({ token: o.token, baseUrl: o.apiUrl, userAgent: 'breakglass-runner', retry: false });
  const pullOf = async (session: string, commit: string): Promise<number> => {
    const added = await gitText(o.mirror.dir, ['log', '--diff-filter=A', '--format=%H', '-1', commit, '--', `sessions/${session}/request.yaml`]);
    const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: added });
    const pr = data[0]?.number;
    if (!pr) throw new BreakglassError('DELIVERY_NO_PULL_REQUEST', `no pull request is associated with commit ${added}, which added session ${session}`);
    return pr;
  };
  return {
    name: 'github',
    async deliver(session, sealed, commit, tag = randomBytes(16).toString('hex')) {
      const issue_number = await pullOf(session, commit);
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number, body: commentBody(session, sealed, tag) });
      return String(data.id);
    },
    async withdraw(session, commit, ref, tag) {
      let ids = ref ? [Number(ref)] : [];
      if (!ref && tag) {
        const issue_number = await pullOf(session, commit);
        const all = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
        ids = all.filter((c) => c.body?.startsWith(markerOf(session, tag))).map((c) => c.id);
      }
      for (const comment_id of ids) {
        try {
          await octokit.rest.issues.deleteComment({ owner, repo, comment_id });
        } catch (e) {
          if ((e as { status?: number }).status !== 404) throw e;
        }
      }
    },
  };
}
