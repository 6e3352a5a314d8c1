/**
 * Durations and times are read once, after the schema accepted them: a value
 * that skipped validation is a stable error, never "no limit"; and the
 * request's approval window is one computation for the verdict and the view.
 */
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { durationSeconds, timeMs } from '../src/core/duration.js';
import { evaluatePolicy, requestWindow } from '../src/core/policy.js';
import { Policy, Request } from '../src/core/schemas.js';
import { policyYaml, requestYaml } from './helpers/approvals.js';

describe('a duration or time a schema accepted', () => {
  it('is read as its value', () => {
    expect(durationSeconds('1h30m')).toBe(5400);
    expect(timeMs('2026-11-21T02:17:00Z')).toBe(Date.UTC(2026, 10, 21, 2, 17));
  });

  for (const text of ['1.5h', '90', '', '1d', '-1h']) {
    it(`refuses ${JSON.stringify(text)} as DURATION_INVALID rather than reading it as no limit`, () => {
      expect(() => durationSeconds(text)).toThrow(expect.objectContaining({ code: 'DURATION_INVALID' }));
    });
  }

  for (const text of ['2026-02-31T00:00:00Z', '2026-11-21T02:17:00+01:00', 'tomorrow']) {
    it(`refuses ${JSON.stringify(text)} as TIME_INVALID`, () => {
      expect(() => timeMs(text)).toThrow(expect.objectContaining({ code: 'TIME_INVALID' }));
    });
  }
});

describe("a request's approval window", () => {
  const policy = Policy.parse(parse(policyYaml()));
  const request = Request.parse(parse(requestYaml()));
  const codes = (now: number) => evaluatePolicy(request, [policy], { now, checkStale: true }).violations.map((v) => v.code);

  it('ends requestExpiry after created, and the verdict goes stale exactly past it', () => {
    const w = requestWindow(request, policy);
    expect(w).toEqual({ created: Date.UTC(2026, 10, 21, 2, 17), deadline: Date.UTC(2026, 10, 21, 6, 17) });
    expect(codes(w!.deadline)).not.toContain('REQUEST_STALE');
    expect(codes(w!.deadline + 1)).toContain('REQUEST_STALE');
  });
});
