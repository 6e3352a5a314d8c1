/**
 * Publishing the approval view as the sticky comment, degrading instead of
 * crashing when the token may not write: pull requests from forks run with a
 * read-only GITHUB_TOKEN, and the annotations and job summary still carry
 * everything the comment would have said.
 */
import { upsertComment, type CommentOutcome } from './comment.js';
import { GitHubApiError, type GitHub } from './github.js';

export type PublishResult =
  | { ok: true; outcome: CommentOutcome }
  /** `readOnly`: the token may not comment (a fork); anything else is an API failure worth reporting. */
  | { ok: false; readOnly: boolean; notice: string };

/** Upserts the comment; a 403 (or 404 on a private fork's token) becomes a notice, other API failures a reported error. */
export async function publishComment(github: GitHub, issueNumber: number, body: string, fork: boolean): Promise<PublishResult> {
  try {
    return { ok: true, outcome: await upsertComment(github, issueNumber, body) };
  } catch (e) {
    if (!(e instanceof GitHubApiError)) throw e;
    if (e.status === 403 || (fork && e.status === 404)) {
      return {
        ok: false,
        readOnly: true,
        notice: `The approval view could not be posted as a pull request comment: this workflow's token is read-only (${fork ? 'the pull request comes from a fork' : 'missing pull-requests: write or issues: write permission'}). Everything it would say is in the annotations and in this job summary. (${e.message})`,
      };
    }
    return { ok: false, readOnly: false, notice: `The approval view could not be posted as a pull request comment. ${e.message}` };
  }
}
