/**
 * The one retry loop with backoff, for every HTTP API the tool calls (GitHub
 * through Octokit, Tailscale and Twingate through requestJson, notification
 * channels through notify-send's deliver). A 5xx, a 429
 * or a dropped connection is usually momentary; any other 4xx is an answer (a
 * fork's read-only token, a missing pull request) and is never retried. The
 * delay is injected so tests do not sleep, as the Kubernetes JS client does
 * with `delayFn`.
 */

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  /** Delay before the n-th retry is `baseMs * 2^(n-1)`, unless the server sends Retry-After. */
  baseMs: number;
  /** Never wait longer than this for one retry, whatever Retry-After says. */
  maxDelayMs: number;
  /** A wait (Retry-After or backoff) longer than this is an answer, not a pause: give up instead of waiting (default: wait maxDelayMs). */
  giveUpAfterMs?: number;
  delayFn?: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
  /** Whether a failure is worth another attempt (default `isRetryable`: 5xx, 429, no answer). */
  retryable?: (error: unknown) => boolean;
  /** The wait a failure asks for, in ms, e.g. a 429's Retry-After (default: the error's `retry-after` response header). */
  retryAfter?: (error: unknown) => number | undefined;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, baseMs: 250, maxDelayMs: 10_000 };

/** The shape of an HTTP failure as Octokit reports it, and as requestJson throws it between attempts. */
export interface HttpishError {
  status?: number;
  response?: { headers?: Record<string, string | number | undefined> };
}

/** 5xx, 429, and network failures (which octokit reports with status 500 or none) are worth retrying. */
export function isRetryable(error: unknown): boolean {
  const status = (error as HttpishError | undefined)?.status;
  return status === undefined || status === 429 || status >= 500;
}

/** Parses `Retry-After`: seconds, or an HTTP date (then relative to `now`). */
export function retryAfterMs(header: string | number | null | undefined, now: number): number | undefined {
  if (header === undefined || header === null || header === '') return undefined;
  const text = String(header).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The Retry-After header of an HTTP failure shaped as HttpishError. */
const headerRetryAfter = (error: unknown): number | undefined => retryAfterMs((error as HttpishError | undefined)?.response?.headers?.['retry-after'], Date.now());

/** Runs `fn`, retrying what `opts.retryable` accepts, at most `attempts` times in all; rethrows the last error. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = DEFAULT_RETRY): Promise<T> {
  const delay = opts.delayFn ?? sleep;
  const retryable = opts.retryable ?? isRetryable;
  const retryAfter = opts.retryAfter ?? headerRetryAfter;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= opts.attempts || !retryable(e)) throw e;
      const wanted = retryAfter(e) ?? opts.baseMs * 2 ** (attempt - 1);
      if (opts.giveUpAfterMs !== undefined && wanted > opts.giveUpAfterMs) throw e;
      const ms = Math.min(wanted, opts.maxDelayMs);
      opts.onRetry?.(attempt, e, ms);
      await delay(ms);
    }
  }
}
