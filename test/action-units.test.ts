/**
 * The Action's pure pieces, without a process: bounded retries (with an
 * injected delay, so nothing sleeps), layout mapping, and how GitHub's file
 * statuses become additions, changes and removals; inputs read from the
 * step's environment.
 */
import { describe, expect, it } from 'vitest';
import { toChanges } from '../src/action/file-rules.js';
import { input } from '../src/action/io.js';
import { toCanonical, toRepoPath } from '../src/action/layout.js';
import { isRetryable, withRetry } from '../src/adapters/retry.js';

const httpError = (status: number, headers: Record<string, string> = {}) => Object.assign(new Error(`HTTP ${status}`), { status, response: { headers } });

describe('withRetry', () => {
  it('retries 5xx with doubling delays, at most the given attempts, then rethrows the last error', async () => {
    const delays: number[] = [];
    let calls = 0;
    const attempt = withRetry(
      async () => {
        calls++;
        throw httpError(502);
      },
      { attempts: 4, baseMs: 100, maxDelayMs: 10_000, delayFn: async (ms) => void delays.push(ms) },
    );
    await expect(attempt).rejects.toMatchObject({ status: 502 });
    expect(calls).toBe(4);
    expect(delays).toEqual([100, 200, 400]);
  });

  it('never retries a 4xx answer such as a read-only token', async () => {
    let calls = 0;
    await expect(withRetry(async () => (calls++, Promise.reject(httpError(403))), { attempts: 4, baseMs: 1, maxDelayMs: 1, delayFn: async () => {} })).rejects.toMatchObject({ status: 403 });
    expect(calls).toBe(1);
    expect(isRetryable(httpError(404))).toBe(false);
    expect(isRetryable(httpError(429))).toBe(true);
    expect(isRetryable(new Error('socket hang up'))).toBe(true);
  });

  it('honours Retry-After, capped', async () => {
    const delays: number[] = [];
    let calls = 0;
    const v = await withRetry(async () => (++calls < 3 ? Promise.reject(httpError(503, { 'retry-after': calls === 1 ? '2' : '3600' })) : 'ok'), {
      attempts: 4,
      baseMs: 100,
      maxDelayMs: 5_000,
      delayFn: async (ms) => void delays.push(ms),
    });
    expect(v).toBe('ok');
    expect(delays).toEqual([2_000, 5_000]);
  });
});

describe('layout', () => {
  const layout = { sessions: 'access/sessions', policies: 'access/sessions/policies' };
  it('maps repository paths to the canonical layout and back, longest folder first', () => {
    expect(toCanonical(layout, 'access/sessions/x/request.yaml')).toBe('sessions/x/request.yaml');
    expect(toCanonical(layout, 'access/sessions/policies/p.yaml')).toBe('policies/p.yaml');
    expect(toCanonical(layout, 'access/sessionsX/y')).toBeUndefined();
    expect(toCanonical(layout, 'README.md')).toBeUndefined();
    expect(toRepoPath(layout, 'sessions/x/request.yaml')).toBe('access/sessions/x/request.yaml');
    expect(toRepoPath(layout, 'policies/p.yaml')).toBe('access/sessions/policies/p.yaml');
    expect(toRepoPath(layout, '.github/trust.yaml')).toBe('.github/trust.yaml');
  });
});

describe('toChanges', () => {
  const canonical = (p: string) => (p.startsWith('sessions/') || p.startsWith('policies/') ? p : undefined);
  it('splits a rename into a removal and an addition, and drops unjudged files', () => {
    expect(
      toChanges(
        [
          { filename: 'sessions/b/request.yaml', previous_filename: 'sessions/a/request.yaml', status: 'renamed' },
          { filename: 'sessions/c/request.yaml', previous_filename: 'sessions/a/request.yaml', status: 'copied' },
          { filename: 'policies/p.yaml', status: 'changed' },
          { filename: 'sessions/d/end.yaml', status: 'unchanged' },
          { filename: 'README.md', status: 'modified' },
        ],
        canonical,
      ),
    ).toEqual([
      { path: 'sessions/a/request.yaml', kind: 'removed' },
      { path: 'sessions/b/request.yaml', kind: 'added' },
      { path: 'sessions/c/request.yaml', kind: 'added' },
      { path: 'policies/p.yaml', kind: 'modified' },
    ]);
  });
});

describe('input', () => {
  it("reads an input as @actions/core's getInput does: INPUT_ and the name upper-cased, spaces as _, trimmed, empty when unset", () => {
    const env = { 'INPUT_FAIL-ON-FINDINGS': ' false\n', INPUT_TRUST_FILE: 'keys/trust.yaml', INPUT_EMPTY: '' };
    expect(input(env, 'fail-on-findings')).toBe('false');
    expect(input(env, 'Trust file')).toBe('keys/trust.yaml');
    expect(input(env, 'empty')).toBe('');
    expect(input(env, 'absent')).toBe('');
  });
});
