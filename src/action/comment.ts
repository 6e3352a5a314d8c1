/**
 * One sticky comment per pull request, found by its hidden marker and edited
 * in place, so the conversation holds a single, current approval view rather
 * than one per push.
 */
import type { GitHub, IssueComment } from './github.js';
import { COMMENT_MARKER } from './render.js';

export type CommentOutcome = { action: 'created' | 'updated' | 'unchanged'; id: number; url: string };

/**
 * The comment the Action owns: it starts with the marker and was written by
 * the account the token acts as. `login` is that account when the token can
 * say (a personal access token posts as a User, so matching on Bot alone made
 * a new comment every run); a workflow token cannot, and posts as a bot, so
 * then the author must be a Bot. Someone pasting the marker into their own
 * comment does not get it overwritten either way.
 */
export function findOwnComment(comments: readonly IssueComment[], login?: string): IssueComment | undefined {
  const mine = (c: IssueComment) => (login === undefined ? c.user?.type === 'Bot' : c.user?.login === login);
  return comments.find((c) => mine(c) && (c.body ?? '').startsWith(COMMENT_MARKER));
}

/** Creates the comment, or updates the existing one; skips the write when the body is already current. */
export async function upsertComment(github: GitHub, issueNumber: number, body: string): Promise<CommentOutcome> {
  const existing = findOwnComment(await github.listComments(issueNumber), await github.authenticatedLogin());
  if (!existing) {
    const c = await github.createComment(issueNumber, body);
    return { action: 'created', id: c.id, url: c.html_url };
  }
  if (existing.body === body) return { action: 'unchanged', id: existing.id, url: existing.html_url };
  const c = await github.updateComment(existing.id, body);
  return { action: 'updated', id: c.id, url: c.html_url };
}
