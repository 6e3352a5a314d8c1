/** A complete marker state, as the runner writes one, for tests of marker storage. */
import type { MarkerState } from '../../src/runner/marker.js';

export function markerState(session: string, phase: MarkerState['phase'], extra: Partial<MarkerState> = {}): MarkerState {
  const open = phase === 'active' || phase === 'ending' || phase === 'ended';
  return {
    session,
    phase,
    runner: 'runner-a',
    started: '2026-11-21T02:00:00Z',
    commit: 'a'.repeat(40),
    repository: 'github.com/customer/access',
    requestDigest: `sha256:${'0'.repeat(64)}`,
    resource: 'db',
    network: 'direct',
    approvals: [{ approver: 'alice', fingerprint: 'F'.repeat(40), file: `sha256:${'1'.repeat(64)}` }],
    policy: { name: 'db', digest: `sha256:${'2'.repeat(64)}` },
    objects: [],
    type: 'vendor-held',
    ...(open ? { activated: '2026-11-21T02:00:05Z', expires: '2026-11-21T03:00:00Z' } : {}),
    ...extra,
  };
}
