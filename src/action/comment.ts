/**
 * One sticky comment per pull request, found by its hidden marker and edited
 * in place, so the conversation holds a single, current approval view rather
 * than one per push.
 */
import type { GitHub, IssueComment } from './github.js';
import { COMMENT_MARKER } from './render.js';

export type CommentOutcome = { action: 'created' | 'updated' | 'unchanged'; id: number; url: string };

/**
 * The comment the Action owns: it starts with the marker and was written by a
 * bot (the workflow token posts as github-actions[bot]). Someone pasting the
 * marker into their own comment does not get it overwritten.
 */
export function findOwnComment(comments: readonly IssueComment[]): IssueComment | undefined {
  return comments.find((c) => c.user?.type === 'Bot' && (c.body ?? '').startsWith(COMMENT_MARKER));
}

/** Creates the comment, or updates the existing one; skips the write when the body is already current. */
export async function upsertComment(github: GitHub, issueNumber: number, body: string): Promise<CommentOutcome> {
  const existing = findOwnComment(await github.listComments(issueNumber));
  if (!existing) {
    const c = await github.createComment(issueNumber, body);
    return { action: 'created', id: c.id, url: c.html_url };
  }
  if (existing.body === body) return { action: 'unchanged', id: existing.id, url: existing.html_url };
  const c = await github.updateComment(existing.id, body);
  return { action: 'updated', id: c.id, url: c.html_url };
}
