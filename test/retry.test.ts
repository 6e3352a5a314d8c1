/**
 * The one retry loop (adapters/retry.ts) as requestJson uses it for the
 * provider APIs: the same answers as before it was shared, with an injected
 * fetch and delay, so nothing sleeps and no network is used.
 */
import { describe, expect, it } from 'vitest';
import { requestJson } from '../src/adapters/http.js';

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
