/** The pure parts of the runner: the session plan (the state machine: session-state.test.ts). */
import { describe, expect, it } from 'vitest';
import { clampExpiry, credentialObjects, planSession, TOKEN_MIN_SECONDS, unplannedObjects } from '../src/core/plan.js';
import type { Request } from '../src/core/schemas.js';

const NOW = Date.parse('2026-11-21T02:30:00Z');
const request = (privilege: string, duration: string): Request => ({
  apiVersion: 'breakglass.dev/v1',
  kind: 'Request',
  metadata: { id: 'inc-1', requester: 'oncall@vendor.example', created: '2026-11-21T02:17:00Z' },
  spec: { reason: 'INC-1: something broke badly', resource: 'prod-eu', privilege, duration, network: 'direct', recipient: '0123456789ABCDEF0123456789ABCDEF01234567' },
});
const plan = (o: { privilege?: string; duration?: string; approved?: (string | undefined)[]; policy?: string; cap?: string; extra?: Partial<Parameters<typeof planSession>[0]> } = {}) =>
  planSession({
    ...o.extra,
    request: o.extra?.request ?? request(o.privilege ?? 'cluster-admin', o.duration ?? '1h'),
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

describe('the whole plan: path, command, recording and state', () => {
  const over = (network: Request['spec']['network'], spec: Partial<Request['spec']> = {}): Request => {
    const r = request('cluster-admin', '1h');
    return { ...r, spec: { ...r.spec, ...spec, network } };
  };
  const tailscale = { tailnet: 'example.com', tags: ['tag:breakglass'], routes: ['10.96.0.0/12'], routeApproval: 'api' as const, image: 'tailscale/tailscale:stable', readinessTimeout: '2m' };

  it('plans a Tailscale router: its Secrets, identity, rights and Deployment, then the credential; the key and device by what finds them', () => {
    const p = plan({ extra: { request: over('tailscale'), path: { tailscale } } });
    expect(p.objects.map((o) => `${o.provider} ${o.kind} ${o.namespace ?? '-'} ${o.name}`)).toEqual([
      'tailscale Secret breakglass-system bg-inc-1-tailscale',
      'tailscale Secret breakglass-system bg-inc-1-tailscale-state',
      'tailscale ServiceAccount breakglass-system bg-inc-1-tailscale',
      'tailscale Role breakglass-system bg-inc-1-tailscale',
      'tailscale RoleBinding breakglass-system bg-inc-1-tailscale',
      'tailscale Deployment breakglass-system bg-inc-1-tailscale',
      'kubernetes-token ServiceAccount breakglass-system bg-inc-1',
      'kubernetes-token ClusterRoleBinding - bg-breakglass-system-inc-1',
    ]);
    expect(p.path.external.map((o) => [o.kind, o.findBy])).toEqual([
      ['TailscaleAuthKey', 'breakglass inc-1'],
      ['TailscaleDevice', 'bg-inc-1'],
    ]);
    expect(p.objects[0]?.labels).toMatchObject({ 'breakglass.dev/provider': 'tailscale', 'breakglass.dev/session': 'inc-1', 'breakglass.dev/runner-namespace': 'breakglass-system' });
    expect(credentialObjects(p).map((o) => o.kind)).toEqual(['ServiceAccount', 'ClusterRoleBinding']);
  });

  it("plans a NetworkPolicy in the approved manifest's namespace, or says why the path cannot open", () => {
    expect(
      plan({ extra: { request: over('networkpolicy'), path: { manifest: { namespace: 'app' } } } })
        .objects.filter((o) => o.provider === 'networkpolicy')
        .map((o) => `${o.kind} ${o.namespace}/${o.name}`),
    ).toEqual(['NetworkPolicy app/bg-inc-1']);
    const refused = plan({ extra: { request: over('networkpolicy'), path: { manifest: { refused: { code: 'NETPOL_DIGEST', message: 'pins' } } } } });
    expect(refused.objects.map((o) => o.provider)).toEqual(['kubernetes-token', 'kubernetes-token']);
    expect(refused.path).toMatchObject({ refused: { code: 'NETPOL_DIGEST' } });
  });

  it("plans a command's exact argv and pins, a recorded session's gateway and chunks, and the claim and marker", () => {
    const command = { name: 'db-password', run: ['mint.sh', '{database}'], inputs: { database: '^orders$' }, revoke: ['revoke.sh', '{database}'], sha256: 'a'.repeat(64) };
    const p = plan({
      extra: {
        request: over('direct', { privilege: 'read-write', command: { name: 'db-password', inputs: { database: 'orders' } } }),
        type: 'command',
        command,
        claims: { kind: 'File', directory: '/state/claims' },
      },
    });
    expect(p.objects).toEqual([]);
    expect(p.command).toEqual({ name: 'db-password', argv: ['mint.sh', 'orders'], sha256: 'a'.repeat(64), revoke: ['revoke.sh', 'orders'], revokeSha256: undefined, timeout: undefined });
    expect(p.state).toEqual({
      claim: { kind: 'File', path: '/state/claims/inc-1.json' },
      marker: expect.objectContaining({ kind: 'ConfigMap', namespace: 'breakglass-system', name: 'bg-marker-inc-1' }),
    });
    const recorded = plan({ extra: { gateway: 'https://gw.example:8443' } }).recording;
    expect(recorded).toMatchObject({ recorded: true, gateway: 'https://gw.example:8443', chunks: { kind: 'Secret', namespace: 'breakglass-system', namePattern: 'bg-rec-inc-1-<index, 6 digits>' } });
    expect(plan().recording).toEqual({ recorded: false });
  });

  it('names what was made outside the plan, and accepts a provider object by its kind (its id is known only once made)', () => {
    const p = plan({ extra: { request: over('tailscale'), path: { tailscale } } });
    expect(
      unplannedObjects(p, [
        { kind: 'Secret', namespace: 'breakglass-system', name: 'bg-inc-1-tailscale-state' },
        { kind: 'TailscaleAuthKey', name: 'k123' },
        { kind: 'ClusterRoleBinding', name: 'bg-breakglass-system-inc-1' },
      ]),
    ).toEqual([]);
    expect(
      unplannedObjects(p, [
        { kind: 'Secret', namespace: 'breakglass-system', name: 'bg-inc-1-extra' },
        { kind: 'TwingateConnector', name: 'c1' },
      ]),
    ).toEqual(['Secret breakglass-system/bg-inc-1-extra', 'TwingateConnector c1']);
  });
});
