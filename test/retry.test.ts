/**
 * The one retry loop (adapters/retry.ts) as requestJson uses it for the
 * provider APIs: the same answers as before it was shared, with an injected
 * fetch and delay, so nothing sleeps and no network is used.
 */
import { describe, expect, it } from 'vitest';
import { requestJson } from '../src/adapters/http.js';
import { withRetry } from '../src/adapters/retry.js';

function scripted(answers: (Response | Error)[]): { fetch: typeof fetch; calls: () => number } {
  let n = 0;
  const f = (async () => {
    const a = answers[Math.min(n++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return a.clone();
  }) as unknown as typeof fetch;
  return { fetch: f, calls: () => n };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const req = { method: 'GET', url: 'http://provider.invalid/x', what: 'list devices' };

describe('requestJson retries through the shared loop', () => {
  it('retries a 503 with a doubling backoff, then returns the answer', async () => {
    const delays: number[] = [];
    const s = scripted([json(503, {}), json(503, {}), json(200, { ok: true })]);
    const r = await requestJson(req, { fetch: s.fetch, delay: async (ms) => void delays.push(ms) });
    expect(r).toEqual({ status: 200, body: { ok: true } });
    expect(delays).toEqual([500, 1000]);
  });

  it('gives up after the attempts on network errors: PROVIDER_UNAVAILABLE', async () => {
    const delays: number[] = [];
    const s = scripted([new Error('ECONNREFUSED')]);
    await expect(requestJson(req, { fetch: s.fetch, delay: async (ms) => void delays.push(ms) })).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'list devices failed after 4 attempts: network error: ECONNREFUSED',
    });
    expect(s.calls()).toBe(4);
    expect(delays).toEqual([500, 1000, 2000]);
  });

  it('waits what Retry-After asks, and gives up at once when it asks too long', async () => {
    const delays: number[] = [];
    const ok = scripted([json(429, { message: 'slow down' }, { 'retry-after': '2' }), json(200, [])]);
    await requestJson(req, { fetch: ok.fetch, delay: async (ms) => void delays.push(ms) });
    expect(delays).toEqual([2000]);
    const long = scripted([json(429, { message: 'slow down' }, { 'retry-after': '3600' })]);
    await expect(requestJson(req, { fetch: long.fetch, delay: async () => {} })).rejects.toMatchObject({
      code: 'PROVIDER_UNAVAILABLE',
      message: 'list devices failed after 4 attempts: HTTP 429: slow down',
    });
    expect(long.calls()).toBe(1);
  });

  it('never retries an answer: 403 is PROVIDER_AUTH, 404 PROVIDER_FAILED, a malformed body throws once', async () => {
    const auth = scripted([json(403, { message: 'bad key' })]);
    await expect(requestJson(req, { fetch: auth.fetch, delay: async () => {} })).rejects.toMatchObject({ code: 'PROVIDER_AUTH', message: 'list devices failed: HTTP 403: bad key' });
    expect(auth.calls()).toBe(1);
    const missing = scripted([json(404, {})]);
    await expect(requestJson(req, { fetch: missing.fetch, delay: async () => {} })).rejects.toMatchObject({ code: 'PROVIDER_FAILED' });
    expect(missing.calls()).toBe(1);
    const garbled = scripted([new Response('{not json', { status: 200 })]);
    await expect(requestJson(req, { fetch: garbled.fetch, delay: async () => {} })).rejects.toThrow(SyntaxError);
    expect(garbled.calls()).toBe(1);
  });

  it('accepts the statuses a call names as answers (404 on delete)', async () => {
    const s = scripted([json(404, { message: 'gone' })]);
    expect(await requestJson({ ...req, accept: [404] }, { fetch: s.fetch, delay: async () => {} })).toEqual({ status: 404, body: { message: 'gone' } });
  });
});

describe('withRetry with hooks of its caller', () => {
  /** A failure that is not HTTP-shaped: only the caller's hooks know what it means. */
  class Throttled extends Error {
    readonly waitMs?: number;
    readonly final: boolean;
    constructor(waitMs: number | undefined, final = false) {
      super('throttled');
      this.waitMs = waitMs;
      this.final = final;
    }
  }
  const hooks = {
    retryable: (e: unknown) => e instanceof Throttled && !e.final,
    retryAfter: (e: unknown) => (e instanceof Throttled ? e.waitMs : undefined),
  };
  const failing = (errors: Throttled[]) => {
    let n = 0;
    return {
      fn: async () => {
        const e = errors[n++];
        if (e) throw e;
        return 'sent';
      },
      calls: () => n,
    };
  };

  it('waits what the retryAfter hook reads from the failure, else the doubling backoff', async () => {
    const delays: number[] = [];
    const s = failing([new Throttled(2000), new Throttled(undefined)]);
    expect(await withRetry(s.fn, { attempts: 3, baseMs: 100, maxDelayMs: 60_000, delayFn: async (ms) => void delays.push(ms), ...hooks })).toBe('sent');
    expect(delays).toEqual([2000, 200]);
  });

  it('gives up at once when the asked wait is over giveUpAfterMs, or the retryable hook says no', async () => {
    const long = failing([new Throttled(3_600_000)]);
    await expect(withRetry(long.fn, { attempts: 3, baseMs: 100, maxDelayMs: 60_000, giveUpAfterMs: 10_000, delayFn: async () => {}, ...hooks })).rejects.toBeInstanceOf(Throttled);
    expect(long.calls()).toBe(1);
    const final = failing([new Throttled(1, true)]);
    await expect(withRetry(final.fn, { attempts: 3, baseMs: 100, maxDelayMs: 60_000, delayFn: async () => {}, ...hooks })).rejects.toMatchObject({ final: true });
    expect(final.calls()).toBe(1);
  });

  it('without hooks, a failure that is not HTTP-shaped counts as no answer and is retried', async () => {
    const s = failing([new Throttled(5)]);
    expect(await withRetry(s.fn, { attempts: 2, baseMs: 100, maxDelayMs: 60_000, delayFn: async () => {} })).toBe('sent');
    expect(s.calls()).toBe(2);
  });
});
