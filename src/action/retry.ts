/**
 * Bounded retries for the GitHub API. A 5xx or a dropped connection is
 * usually momentary; a 4xx is an answer (a fork's read-only token, a missing
 * pull request) and is never retried. The delay is injected so tests do not
 * sleep, as the Kubernetes JS client does with `delayFn`.
 */

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  /** Delay before the n-th retry is `baseMs * 2^(n-1)`, unless the server sends Retry-After. */
  baseMs: number;
  /** Never wait longer than this for one retry, whatever Retry-After says. */
  maxDelayMs: number;
  delayFn?: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, baseMs: 250, maxDelayMs: 10_000 };

interface HttpishError {
  status?: number;
  response?: { headers?: Record<string, string | number | undefined> };
}

/** 5xx, 429, and network failures (which octokit reports with status 500 or none) are worth retrying. */
export function isRetryable(error: unknown): boolean {
  const status = (error as HttpishError | undefined)?.status;
  return status === undefined || status === 429 || status >= 500;
}

function retryAfterMs(error: unknown): number | undefined {
  const raw = (error as HttpishError | undefined)?.response?.headers?.['retry-after'];
  const secs = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(secs) && secs >= 0 ? secs * 1000 : undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `fn`, retrying what `isRetryable` accepts, at most `attempts` times in all; rethrows the last error. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = DEFAULT_RETRY): Promise<T> {
  const delay = opts.delayFn ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= opts.attempts || !isRetryable(e)) throw e;
      const ms = Math.min(retryAfterMs(e) ?? opts.baseMs * 2 ** (attempt - 1), opts.maxDelayMs);
      opts.onRetry?.(attempt, e, ms);
      await delay(ms);
    }
  }
}
