/**
 * The one place an Octokit client is built, for the Action (pull-request
 * checks and comments) and the runner (the GitHub delivery channel). Base URL
 * and token come from the caller; every request gets a hard timeout, so a
 * hung API cannot stall a check or a reconcile pass; retries, when asked for,
 * go through the one retry loop (retry.ts), each page of a paginated list on
 * its own.
 */
import { Octokit } from '@octokit/rest';
import { withRetry, type RetryOptions } from './retry.js';

/** What the client is built from; callers read these from their own inputs. */
export interface GitHubClientOptions {
  /** Empty or undefined: anonymous (a fork's pull request may have no token). */
  token?: string;
  /** GITHUB_API_URL or the runner's `apiUrl`; undefined is api.github.com. */
  baseUrl?: string;
  /** Names the caller to GitHub, e.g. `breakglass-action`. */
  userAgent: string;
  /**
   * Bounded retries of 5xx, 429 and network failures, or `false`. The runner
   * passes `false`: a retried comment POST whose first answer was lost would
   * post the credential twice, and the marker, not the API, keeps "once".
   */
  retry: RetryOptions | false;
  /** Longest one request may take, connection to last byte (default 30 s). */
  timeoutMs?: number;
  log?: { debug: (s: string) => void; warn: (s: string) => void };
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Builds the client; the timeout and retries are hooks around every request. */
export function createOctokit(o: GitHubClientOptions): Octokit {
  const debug = o.log?.debug ?? (() => {});
  const octokit = new Octokit({
    auth: o.token || undefined,
    baseUrl: o.baseUrl,
    userAgent: o.userAgent,
    log: { debug, info: debug, warn: o.log?.warn ?? debug, error: debug },
  });
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A fresh signal per attempt: a retry must not inherit an already spent
  // timeout. The hook's `request` is bound to this very `options` object (a
  // new one per call), so the signal is set on it rather than passed along;
  // its `request` member may be the client's shared defaults, hence the copy.
  // No caller passes a signal of its own.
  type Wrapper = Parameters<typeof octokit.hook.wrap<'request'>>[1];
  const withTimeout = (options: Parameters<Wrapper>[1]): void => {
    options.request = { ...options.request, signal: AbortSignal.timeout(timeoutMs) };
  };
  const { retry } = o;
  // Without retries, one attempt: the same loop, so both callers time out alike.
  const policy = (options: Parameters<Wrapper>[1]): RetryOptions =>
    retry === false
      ? { attempts: 1, baseMs: 0, maxDelayMs: 0 }
      : {
          ...retry,
          onRetry: (n, e, ms) =>
            o.log?.warn(`GitHub API ${options.method} ${options.url} answered ${(e as { status?: number }).status ?? 'no response'}; retry ${n} of ${retry.attempts - 1} in ${ms} ms`),
        };
  octokit.hook.wrap('request', (request, options) =>
    withRetry(async () => {
      withTimeout(options);
      return request(options);
    }, policy(options)),
  );
  return octokit;
}
