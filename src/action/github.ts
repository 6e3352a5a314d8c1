/**
 * The GitHub REST API, through the Octokit client of adapters/github.ts,
 * reduced to the calls the Action makes. Every request goes through bounded
 * retries (see retry.ts); failures become typed errors naming the request,
 * the HTTP status and the attempts.
 */
import { BreakglassError } from '../core/errors.js';
import { createOctokit } from '../adapters/github.js';
import { DEFAULT_RETRY, isRetryable, type RetryOptions } from '../adapters/retry.js';

/** One entry of `GET /repos/{owner}/{repo}/pulls/{pull_number}/files` (GitHub's "diff-entry"). */
export interface PullFile {
  filename: string;
  status: 'added' | 'removed' | 'modified' | 'renamed' | 'copied' | 'changed' | 'unchanged';
  previous_filename?: string;
}

/** The fields of an issue comment the Action reads. */
export interface IssueComment {
  id: number;
  body?: string;
  html_url: string;
  user: { login: string; type?: string } | null;
}

/** The fields of a pull request (GitHub's "pull-request-simple") the scheduled scan reads. */
export interface PullSummary {
  number: number;
  created_at: string;
  head: { sha: string; repo: { full_name: string } | null };
  base: { sha: string; repo: { full_name: string } };
}

export interface GitHub {
  /** Open pull requests (`GET /repos/{owner}/{repo}/pulls?state=open`), for the scheduled scan. */
  listOpenPulls(): Promise<PullSummary[]>;
  /**
   * The login the token acts as (`GET /user`), or undefined when the token may
   * not ask: a workflow's GITHUB_TOKEN is an installation token, and GitHub
   * answers 403 "Resource not accessible by integration".
   */
  authenticatedLogin(): Promise<string | undefined>;
  listPullFiles(pullNumber: number): Promise<PullFile[]>;
  listComments(issueNumber: number): Promise<IssueComment[]>;
  createComment(issueNumber: number, body: string): Promise<IssueComment>;
  updateComment(commentId: number, body: string): Promise<IssueComment>;
}

/** A failed API call; `status` is the last HTTP status (undefined for a network failure). */
export class GitHubApiError extends BreakglassError {
  readonly status?: number;
  constructor(what: string, status: number | undefined, attempts: number, cause: unknown) {
    const detail = (cause as Error | undefined)?.message ?? String(cause);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    super(status === 403 ? 'GITHUB_FORBIDDEN' : 'GITHUB_API', `GitHub API ${what} failed${status ? ` with HTTP ${status}` : ''}${tries}: ${detail}`, { cause });
    this.name = 'GitHubApiError';
    this.status = status;
  }
}

export interface GitHubOptions {
  token: string;
  baseUrl: string;
  owner: string;
  repo: string;
  retry?: RetryOptions;
  log?: { debug: (s: string) => void; warn: (s: string) => void };
}

/** Builds the client; `baseUrl` is GITHUB_API_URL, so GitHub Enterprise and test servers work alike. */
export function createGitHub(opts: GitHubOptions): GitHub {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const octokit = createOctokit({ token: opts.token, baseUrl: opts.baseUrl, userAgent: 'breakglass-action', retry, log: opts.log });
  const { owner, repo } = opts;
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      const status = (e as { status?: number }).status;
      throw new GitHubApiError(what, status, isRetryable(e) ? retry.attempts : 1, e);
    }
  };
  return {
    authenticatedLogin: async () => {
      try {
        return ((await octokit.request('GET /user')).data as { login?: string }).login;
      } catch (e) {
        const status = (e as { status?: number }).status;
        if (status === 403 || status === 404) return undefined;
        throw new GitHubApiError('GET /user', status, isRetryable(e) ? retry.attempts : 1, e);
      }
    },
    listOpenPulls: () => call(`GET /repos/${owner}/${repo}/pulls`, () => octokit.paginate('GET /repos/{owner}/{repo}/pulls', { owner, repo, state: 'open', per_page: 100 }) as Promise<PullSummary[]>),
    listPullFiles: (n) =>
      call(
        `GET /repos/${owner}/${repo}/pulls/${n}/files`,
        () => octokit.paginate('GET /repos/{owner}/{repo}/pulls/{pull_number}/files', { owner, repo, pull_number: n, per_page: 100 }) as Promise<PullFile[]>,
      ),
    listComments: (n) =>
      call(
        `GET /repos/${owner}/${repo}/issues/${n}/comments`,
        () => octokit.paginate('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: n, per_page: 100 }) as Promise<IssueComment[]>,
      ),
    createComment: (n, body) =>
      call(
        `POST /repos/${owner}/${repo}/issues/${n}/comments`,
        async () => (await octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', { owner, repo, issue_number: n, body })).data as IssueComment,
      ),
    updateComment: (id, body) =>
      call(
        `PATCH /repos/${owner}/${repo}/issues/comments/${id}`,
        async () => (await octokit.request('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', { owner, repo, comment_id: id, body })).data as IssueComment,
      ),
  };
}
