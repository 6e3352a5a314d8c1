/**
 * JSON over HTTP for provider APIs (Tailscale, Twingate) with the behaviour a
 * runner at 2 a.m. needs: bounded retries with exponential backoff on network
 * errors and 5xx, `429` honoured with `Retry-After` (capped), and error
 * messages that never contain request headers or bodies — those carry API keys
 * and minted secrets.
 */
import { BreakglassError } from '../core/errors.js';
import { isRetryable, retryAfterMs, withRetry, type HttpishError } from './retry.js';
import { messageOf } from '../crypto/error-parts.js';

export type Delay = (ms: number) => Promise<void>;
export const realDelay: Delay = (ms) => new Promise((r) => setTimeout(r, ms));

export interface HttpOptions {
  /** Attempts in all, including the first (default 4). */
  attempts?: number;
  /** First backoff in ms, doubled each retry (default 500). */
  backoffMs?: number;
  /** Longest wait a `Retry-After` may ask for before we give up (default 60 s). */
  maxRetryAfterMs?: number;
  delay?: Delay;
  fetch?: typeof fetch;
}

export interface JsonRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Statuses that are answers, not failures (e.g. 404 on delete). */
  accept?: readonly number[];
  /** What this call does, for messages: "create Tailscale auth key". */
  what: string;
}

export interface JsonResponse<T> {
  status: number;
  body: T;
}

export { retryAfterMs };

/** A short, secret-free description of an error body: its `message` field, if any. */
function errorText(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown; error?: unknown; errors?: { message?: unknown }[] };
    const m = j.message ?? j.error ?? j.errors?.[0]?.message;
    if (typeof m === 'string') return m.slice(0, 300);
  } catch {
    /* not JSON */
  }
  return '';
}

/** One failed attempt, in the shape withRetry judges: a status (none for a network error) and the Retry-After header. */
class AttemptFailed extends Error implements HttpishError {
  readonly status?: number;
  readonly response?: { headers: Record<string, string | undefined> };
  constructor(message: string, status?: number, retryAfter?: string | null) {
    super(message);
    this.status = status;
    this.response = { headers: { 'retry-after': retryAfter ?? undefined } };
  }
}

/** Sends a JSON request with bounded retries (adapters/retry.ts); throws a BreakglassError with the API's message on failure. */
export async function requestJson<T>(req: JsonRequest, opts: HttpOptions = {}): Promise<JsonResponse<T>> {
  const attempts = opts.attempts ?? 4;
  const doFetch = opts.fetch ?? fetch;
  const once = async (): Promise<{ status: number; text: string }> => {
    let res: Response;
    try {
      res = await doFetch(req.url, {
        method: req.method,
        headers: { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new AttemptFailed(`network error: ${messageOf(e)}`);
    }
    const text = await res.text();
    if (res.ok || req.accept?.includes(res.status)) {
      return { status: res.status, text };
    }
    throw new AttemptFailed(`HTTP ${res.status}${errorText(text) ? `: ${errorText(text)}` : ''}`, res.status, res.headers.get('retry-after'));
  };
  let answer: { status: number; text: string };
  try {
    // Backoff doubles without a cap; a Retry-After longer than maxRetryAfterMs ends the attempts.
    answer = await withRetry(once, { attempts, baseMs: opts.backoffMs ?? 500, maxDelayMs: Number.POSITIVE_INFINITY, giveUpAfterMs: opts.maxRetryAfterMs ?? 60_000, delayFn: opts.delay ?? realDelay });
  } catch (e) {
    if (!(e instanceof AttemptFailed)) throw e;
    if (!isRetryable(e)) throw new BreakglassError(e.status === 401 || e.status === 403 ? 'PROVIDER_AUTH' : 'PROVIDER_FAILED', `${req.what} failed: ${e.message}`);
    throw new BreakglassError('PROVIDER_UNAVAILABLE', `${req.what} failed after ${attempts} attempts: ${e.message}`);
  }
  // Parsed outside the retries: a malformed answer is not a momentary failure.
  return { status: answer.status, body: (answer.text ? JSON.parse(answer.text) : undefined) as T };
}

/** Reads an API key from the runner's environment; the message names the variable, never a value. */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new BreakglassError('PROVIDER_CONFIG', `${what}: environment variable ${name} is not set`);
  return v;
}
