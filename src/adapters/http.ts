/**
 * JSON over HTTP for provider APIs (Tailscale, Twingate) with the behaviour a
 * runner at 2 a.m. needs: bounded retries with exponential backoff on network
 * errors and 5xx, `429` honoured with `Retry-After` (capped), and error
 * messages that never contain request headers or bodies — those carry API keys
 * and minted secrets.
 */
import { BreakglassError } from '../core/errors.js';

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

/** Parses `Retry-After`: seconds, or an HTTP date. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

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

/** Sends a JSON request with bounded retries; throws a BreakglassError with the API's message on failure. */
export async function requestJson<T>(req: JsonRequest, opts: HttpOptions = {}): Promise<JsonResponse<T>> {
  const attempts = opts.attempts ?? 4;
  const delay = opts.delay ?? realDelay;
  const doFetch = opts.fetch ?? fetch;
  let backoff = opts.backoffMs ?? 500;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let res: Response;
    try {
      res = await doFetch(req.url, {
        method: req.method,
        headers: { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      last = `network error: ${(e as Error).message}`;
      if (attempt < attempts) await delay(backoff), (backoff *= 2);
      continue;
    }
    const text = await res.text();
    if (res.ok || req.accept?.includes(res.status)) {
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    }
    last = `HTTP ${res.status}${errorText(text) ? `: ${errorText(text)}` : ''}`;
    if (res.status === 429) {
      const wait = retryAfterMs(res.headers.get('retry-after'), Date.now()) ?? backoff;
      if (wait > (opts.maxRetryAfterMs ?? 60_000) || attempt === attempts) break;
      await delay(wait);
      backoff *= 2;
      continue;
    }
    if (res.status >= 500) {
      if (attempt === attempts) break;
      await delay(backoff);
      backoff *= 2;
      continue;
    }
    throw new BreakglassError(res.status === 401 || res.status === 403 ? 'PROVIDER_AUTH' : 'PROVIDER_FAILED', `${req.what} failed: ${last}`);
  }
  throw new BreakglassError('PROVIDER_UNAVAILABLE', `${req.what} failed after ${attempts} attempts: ${last}`);
}

/** Reads an API key from the runner's environment; the message names the variable, never a value. */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const v = env[name];
  if (!v) throw new BreakglassError('PROVIDER_CONFIG', `${what}: environment variable ${name} is not set`);
  return v;
}
