/**
 * Which network paths and credentials a runner will assemble, decided before
 * any marker exists: a path it is not configured for is refused with a reason
 * that names what is missing (a variable's name, never a value).
 */
import { describe, expect, it } from 'vitest';
import { planSession } from '../src/core/plan.js';
import { RunnerConfig, type Request } from '../src/core/schemas.js';
import type { Governing } from '../src/core/policy.js';
import type { RunnerDeps, Target } from '../src/runner/context.js';
import { networkRefusal } from '../src/runner/providers/index.js';
import { recordingRefusal } from '../src/runner/recording.js';

const resource = (extra: object = {}) =>
  RunnerConfig.parse({
    apiVersion: 'breakglass.dev/v1',
    kind: 'RunnerConfig',
    repository: { url: 'x', name: 'github.com/customer/access' },
    trust: 't',
    signingKey: 'k',
    state: 's',
    caps: { maxDuration: '1h' },
    delivery: { directory: 'o' },
    resources: { r: { namespace: 'breakglass-system', ...extra } },
  }).resources.r!;
const tailscale = { tags: ['tag:bg'], routes: ['10.0.0.0/8'], apiKeyEnv: 'TS_KEY' };
const twingate = { url: 'https://acme.twingate.com/api/graphql/', network: 'acme', apiKeyEnv: 'TG_KEY', remoteNetworkId: 'rn' };
const pin = { manifest: 'policies/np.yaml', sha256: 'a'.repeat(64) };

describe('when a session asks for a network path', () => {
  it('direct always works', () => {
    expect(networkRefusal('direct', resource(), {}, undefined)).toBeUndefined();
  });

  it('tailscale and twingate need their section and their API key variable', () => {
    expect(networkRefusal('tailscale', resource(), {}, undefined)).toMatch(/no tailscale section/);
    expect(networkRefusal('tailscale', resource({ tailscale }), {}, undefined)).toBe("network tailscale: TS_KEY not set in the runner's environment");
    expect(networkRefusal('tailscale', resource({ tailscale }), { TS_KEY: 'secret-value' }, undefined)).toBeUndefined();
    expect(networkRefusal('twingate', resource(), {}, undefined)).toMatch(/no twingate section/);
    expect(networkRefusal('twingate', resource({ twingate }), { TG_KEY: 'k' }, undefined)).toBeUndefined();
  });

  it('networkpolicy needs a pinned manifest in the approved policy', () => {
    expect(networkRefusal('networkpolicy', resource(), {}, undefined)).toMatch(/pinned manifest/);
    expect(networkRefusal('networkpolicy', resource(), {}, pin)).toBeUndefined();
  });
});

describe('the plan of a non-Kubernetes resource', () => {
  const request = (privilege: string): Request => ({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Request',
    metadata: { id: 'inc-1', requester: 'oncall@vendor.example', created: '2026-11-21T02:17:00Z' },
    spec: { reason: 'INC-1: database access', resource: 'orders-db', privilege, duration: '30m', network: 'direct', recipient: '0123456789ABCDEF0123456789ABCDEF01234567' },
  });
  const plan = (type: 'command' | 'vendor-held' | 'kubernetes') =>
    planSession({ request: request('read-write'), type, approvedDurations: [], policyMaxDuration: '1h', runnerCap: '4h', namespace: 'breakglass-system', now: Date.parse('2026-11-21T02:30:00Z') });

  it('binds nothing in Kubernetes, whatever the free-form privilege is called', () => {
    expect(plan('command')).toMatchObject({ type: 'command', objects: [], effectiveSeconds: 1800 });
    expect(plan('vendor-held').objects).toEqual([]);
    expect(() => plan('kubernetes')).toThrow(expect.objectContaining({ code: 'PLAN_PRIVILEGE' }));
  });
});

describe('watching an open path', async () => {
  const { pathChange } = await import('../src/runner/path-watch.js');
  const at = '2026-11-21T03:00:00Z';
  const down = { code: 'TAILSCALE_DEVICE_OFFLINE', message: 'offline' };

  it('records a path going down once, a different failure again, and its return', () => {
    expect(pathChange(undefined, undefined, at)).toBeUndefined();
    const first = pathChange(undefined, down, at)!;
    expect(first).toEqual({ state: 'down', code: 'TAILSCALE_DEVICE_OFFLINE', message: 'offline', at });
    expect(pathChange(first, down, at)).toBeUndefined();
    expect(pathChange(first, { code: 'TAILSCALE_ROUTES_WITHDRAWN', message: 'x' }, at)).toMatchObject({ state: 'down', code: 'TAILSCALE_ROUTES_WITHDRAWN' });
    expect(pathChange(first, undefined, at)).toMatchObject({ state: 'up', code: 'NETWORK_PATH_RESTORED' });
  });

  it('uses only codes listed in reasons.ts', async () => {
    const { NETWORK_PATH_CODES } = await import('../src/core/reasons.js');
    const { readFileSync, readdirSync } = await import('node:fs');
    const dir = new URL('../src/runner/providers/', import.meta.url);
    const thrown = new Set<string>();
    for (const f of readdirSync(dir)) for (const m of readFileSync(new URL(f, dir), 'utf8').matchAll(/'((?:TAILSCALE|TWINGATE|ROUTER)_[A-Z_]+)'/g)) thrown.add(m[1]!);
    expect([...thrown].filter((c) => !(NETWORK_PATH_CODES as readonly string[]).includes(c))).toEqual([]);
    expect(thrown.size).toBeGreaterThanOrEqual(9);
  });
});

describe('a recorded session in a dry run', () => {
  const governing = { resource: { type: 'kubernetes', recording: 'required' } } as unknown as Governing;
  const target = { resource: 'prod-eu', gateway: { url: 'https://gw.example:8443' } } as unknown as Target;
  const deps = (dryRun: boolean) =>
    ({ config: { gateway: { listen: ':8443' } }, auditors: [{ getKeys: () => [] }], gateway: undefined, dryRun: dryRun ? () => {} : undefined }) as unknown as RunnerDeps;

  it('is planned although a dry run serves no listener; a real run without one holds it back', () => {
    expect(recordingRefusal(deps(true), target, governing, 'F'.repeat(40))).toBeUndefined();
    expect(() => recordingRefusal(deps(false), target, governing, 'F'.repeat(40))).toThrow(expect.objectContaining({ code: 'RECORDING_GATEWAY_DOWN' }));
  });
});
