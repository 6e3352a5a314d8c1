/**
 * The rollback rule and the runner's memory of policy versions, as pure
 * functions and real files: each bad input with its code.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRollback } from '../src/core/policy-versions.js';
import type { PolicyVerdict } from '../src/core/verify-policy.js';
import { readPolicyMemory, remember, writePolicyMemory } from '../src/runner/policy-memory.js';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const at = (day: number) => Date.parse(`2026-11-${String(day).padStart(2, '0')}T00:00:00Z`);
const verdict = (need: number, ...days: number[]): PolicyVerdict => ({
  approved: days.length >= need,
  need,
  approvers: days.map((_, i) => `a${i}`),
  accepted: days.map((d, i) => ({ approver: `a${i}`, keyId: `k${i}`, signed: at(d) })),
  reasons: [],
});
const codes = (v: PolicyVerdict) => v.reasons.map((r) => r.code);

describe('the rollback rule', () => {
  it('a version with no other approved version is judged as it is', () => {
    expect(checkRollback('policies/p.yaml', D1, verdict(1, 1), [{ digest: D1, approvedAt: at(1), where: 'x' }]).approved).toBe(true);
  });

  it("approvals older than another version's approval do not count: POLICY_ROLLBACK", () => {
    const v = checkRollback('policies/p.yaml', D1, verdict(1, 1), [
      { digest: D1, approvedAt: at(1), where: 'x' },
      { digest: D2, approvedAt: at(10), where: 'commit abc' },
    ]);
    expect(v.approved).toBe(false);
    expect(codes(v)).toEqual(['POLICY_ROLLBACK']);
    expect(v.reasons[0]!.message).toContain('older version');
  });

  it('one fresh approval and one stale one do not make a threshold of two: POLICY_ROLLBACK', () => {
    const v = checkRollback('policies/p.yaml', D1, verdict(2, 1, 15), [{ digest: D2, approvedAt: at(10), where: 'x' }]);
    expect(codes(v)).toEqual(['POLICY_ROLLBACK']);
  });

  it('a threshold of approvals signed after the other version counts, and dates the version by them', () => {
    const v = checkRollback('policies/p.yaml', D1, verdict(2, 1, 15, 16), [{ digest: D2, approvedAt: at(10), where: 'x' }]);
    expect(v.approved).toBe(true);
    expect(v.approvedAt).toBe(at(16));
  });

  it("an approval signed in the same second as the other version's is not after it: POLICY_ROLLBACK", () => {
    expect(codes(checkRollback('policies/p.yaml', D1, verdict(1, 10), [{ digest: D2, approvedAt: at(10), where: 'x' }]))).toEqual(['POLICY_ROLLBACK']);
  });
});

describe("the runner's memory of policy versions", () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'bg-memory-'));

  it('is empty when absent, and round-trips', async () => {
    const d = dir();
    const m = await readPolicyMemory(d);
    expect(m.size).toBe(0);
    expect(remember(m, 'policies/p.yaml', D2, at(10))).toBe(true);
    expect(remember(m, 'policies/p.yaml', D1, at(1))).toBe(false);
    await writePolicyMemory(d, m);
    expect([...(await readPolicyMemory(d))]).toEqual([['policies/p.yaml', { digest: D2, approvedAt: at(10) }]]);
  });

  for (const [what, text] of [
    ['not JSON', '{ not json'],
    ['an array', '[]'],
    ['a bad digest', JSON.stringify({ 'policies/p.yaml': { digest: 'sha256:zz', approvedAt: '2026-11-10T00:00:00Z' } })],
    ['a bad time', JSON.stringify({ 'policies/p.yaml': { digest: D1, approvedAt: 'yesterday' } })],
    ['a path outside policies/', JSON.stringify({ 'sessions/x.yaml': { digest: D1, approvedAt: '2026-11-10T00:00:00Z' } })],
  ]) {
    it(`refuses ${what}: STATE_INVALID`, async () => {
      const d = dir();
      writeFileSync(join(d, 'policy-versions.json'), text!);
      await expect(readPolicyMemory(d)).rejects.toMatchObject({ code: 'STATE_INVALID' });
    });
  }
});
