/** The pure parts of the runner: the session plan and the state machine. */
import { describe, expect, it } from 'vitest';
import { clampExpiry, planSession, TOKEN_MIN_SECONDS } from '../src/core/plan.js';
import { decide } from '../src/core/session-state.js';
import type { Request } from '../src/core/schemas.js';

const NOW = Date.parse('2026-11-21T02:30:00Z');
const request = (privilege: string, duration: string): Request => ({
  apiVersion: 'breakglass.dev/v1',
  kind: 'Request',
  metadata: { id: 'inc-1', requester: 'oncall@vendor.example', created: '2026-11-21T02:17:00Z' },
  spec: { reason: 'INC-1: something broke badly', resource: 'prod-eu', privilege, duration, network: 'direct', recipient: '0123456789ABCDEF0123456789ABCDEF01234567' },
});
const plan = (o: { privilege?: string; duration?: string; approved?: (string | undefined)[]; policy?: string; cap?: string } = {}) =>
  planSession({
    request: request(o.privilege ?? 'cluster-admin', o.duration ?? '1h'),
    approvedDurations: o.approved ?? [undefined],
    policyMaxDuration: o.policy ?? '2h',
    runnerCap: o.cap ?? '4h',
    namespace: 'breakglass-system',
    now: NOW,
  });

describe('the session plan', () => {
  it('takes the shortest of requested, approved, policy max and runner cap', () => {
    expect(plan()).toMatchObject({ effectiveSeconds: 3600, limitedBy: 'requested', expires: '2026-11-21T03:30:00Z' });
    expect(plan({ approved: ['30m', undefined] })).toMatchObject({ effectiveSeconds: 1800, limitedBy: 'approval' });
    expect(plan({ policy: '20m' })).toMatchObject({ effectiveSeconds: 1200, limitedBy: 'policy' });
    expect(plan({ cap: '10m' })).toMatchObject({ effectiveSeconds: 600, limitedBy: 'runner cap' });
  });

  it('asks the API server for at least its minimum token lifetime, but keeps the session expiry', () => {
    const p = plan({ duration: '2m' });
    expect(p.tokenSeconds).toBe(TOKEN_MIN_SECONDS);
    expect(p.expires).toBe('2026-11-21T02:32:00Z');
  });

  it('binds cluster privileges cluster-wide and namespace privileges in their namespace, labelled and annotated', () => {
    const cluster = plan().objects;
    expect(cluster.map((o) => [o.kind, o.namespace, o.roleRef?.name])).toEqual([
      ['ServiceAccount', 'breakglass-system', undefined],
      ['ClusterRoleBinding', undefined, 'cluster-admin'],
    ]);
    const ns = plan({ privilege: 'admin:payments' }).objects[1]!;
    expect(ns).toMatchObject({ kind: 'RoleBinding', namespace: 'payments', roleRef: { name: 'admin' }, subject: { namespace: 'breakglass-system', name: 'bg-inc-1' } });
    for (const o of plan().objects) {
      expect(o.labels).toEqual({ 'app.kubernetes.io/managed-by': 'breakglass', 'breakglass.dev/runner-namespace': 'breakglass-system', 'breakglass.dev/session': 'inc-1' });
      expect(o.annotations['breakglass.dev/expires']).toBe('2026-11-21T03:30:00Z');
    }
  });

  it('refuses a privilege that is not a Kubernetes privilege', () => {
    expect(() => plan({ privilege: 'root' })).toThrow(/not a Kubernetes privilege/);
  });

  it('lets the environment shorten the expiry, never extend it', () => {
    expect(clampExpiry('2026-11-21T03:30:00Z', '2026-11-21T03:00:00Z')).toBe('2026-11-21T03:00:00Z');
    expect(clampExpiry('2026-11-21T03:30:00Z', '2026-11-21T09:00:00Z')).toBe('2026-11-21T03:30:00Z');
    expect(clampExpiry('2026-11-21T03:30:00Z', undefined)).toBe('2026-11-21T03:30:00Z');
  });
});

describe('the session state machine', () => {
  const base = { requestValid: true, rejected: false, endRequested: false, recorded: false };
  it('activates only a verified session with no marker', () => {
    expect(decide({ ...base, verified: { ok: true } }, NOW).action).toBe('activate');
    expect(decide({ ...base, verified: { ok: false, reason: 'THRESHOLD_NOT_MET' } }, NOW)).toMatchObject({ state: 'pending', action: 'none', reason: 'THRESHOLD_NOT_MET' });
    expect(decide({ ...base }, NOW).action).toBe('none');
  });
  it('never activates again once a marker exists, whatever git says', () => {
    for (const phase of ['activating', 'active', 'ending', 'ended', 'failed'] as const) {
      expect(decide({ ...base, verified: { ok: true }, marker: { phase } }, NOW).action).not.toBe('activate');
    }
  });
  it('rolls back an interrupted activation instead of resuming it', () => {
    expect(decide({ ...base, marker: { phase: 'activating' } }, NOW)).toMatchObject({ state: 'failed', action: 'rollback' });
  });
  it('ends an active session on end.yaml or at expiry', () => {
    expect(decide({ ...base, endRequested: true, marker: { phase: 'active', expires: NOW + 1000 } }, NOW)).toMatchObject({ state: 'ending', action: 'teardown', reason: 'end requested' });
    expect(decide({ ...base, marker: { phase: 'active', expires: NOW } }, NOW)).toMatchObject({ state: 'ending', reason: 'expired' });
    expect(decide({ ...base, marker: { phase: 'active', expires: NOW + 1000 } }, NOW).state).toBe('active');
  });
  it('settles rejected, ended and recorded sessions without activating', () => {
    expect(decide({ ...base, rejected: true, verified: { ok: true } }, NOW).action).toBe('none');
    expect(decide({ ...base, endRequested: true, verified: { ok: true } }, NOW).state).toBe('ended');
    expect(decide({ ...base, recorded: true, verified: { ok: true } }, NOW).state).toBe('ended');
  });
});
