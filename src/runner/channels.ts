/**
 * Delivery channels: where the sealed credential is put, once, and removed at
 * teardown. Only ciphertext goes through a channel.
 *  - directory: `<outbox>/<id>.asc`, created with O_EXCL.
 *  - github: a comment on the pull request that added the session's request,
 *    found through the API from the commit that added request.yaml; refused if
 *    a credential comment for the session is already there; deleted at teardown.
 */
import { join } from 'node:path';
import { Octokit } from '@octokit/rest';
import { gitText } from '../adapters/git.js';
import { BreakglassError } from '../core/errors.js';
import { deliverToDirectory, withdrawFromDirectory } from './delivery.js';
import type { RepoMirror } from './repo.js';

/** One way of handing the sealed credential to the vendor. */
export interface Channel {
  readonly name: 'directory' | 'github';
  /** Delivers once; returns a reference that `withdraw` takes. */
  deliver(session: string, sealed: string, commit: string): Promise<string>;
  /** Removes the delivery (by `ref`, or by session when a crash lost the ref); already gone is success. */
  withdraw(session: string, commit: string, ref?: string): Promise<void>;
}

export function directoryChannel(outbox: string): Channel {
  return {
    name: 'directory',
    deliver: (session, sealed) => deliverToDirectory(outbox, session, sealed),
    withdraw: (session, _commit, ref) => withdrawFromDirectory(ref ?? join(outbox, `${session}.asc`)),
  };
}

const markerOf = (session: string) => `<!-- breakglass-credential:${session} -->`;

function commentBody(session: string, sealed: string): string {
  return [
    markerOf(session),
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
  const octokit = new Octokit({ auth: o.token, baseUrl: o.apiUrl, request: { retries: 0 } });
  const pullOf = async (session: string, commit: string): Promise<number> => {
    const added = await gitText(o.mirror.dir, ['log', '--diff-filter=A', '--format=%H', '-1', commit, '--', `sessions/${session}/request.yaml`]);
    const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: added });
    const pr = data[0]?.number;
    if (!pr) throw new BreakglassError('DELIVERY_NO_PULL_REQUEST', `no pull request is associated with commit ${added}, which added session ${session}`);
    return pr;
  };
  return {
    name: 'github',
    async deliver(session, sealed, commit) {
      const issue_number = await pullOf(session, commit);
      const existing = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
      if (existing.some((c) => c.body?.startsWith(markerOf(session)))) throw new BreakglassError('ALREADY_DELIVERED', `pull request #${issue_number} already holds a credential for session ${session}`);
      const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number, body: commentBody(session, sealed) });
      return String(data.id);
    },
    async withdraw(session, commit, ref) {
      let ids = ref ? [Number(ref)] : [];
      if (!ref) {
        const issue_number = await pullOf(session, commit);
        const all = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
        ids = all.filter((c) => c.body?.startsWith(markerOf(session))).map((c) => c.id);
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
