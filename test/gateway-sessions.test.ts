/**
 * The gateway's session directory (src/runner/gateway/sessions.ts), attacked
 * from the network side: whoever reaches the gateway can send any bearer. A
 * stream of made-up credentials must cost the API server nothing per request
 * (no marker read of its own), concurrent requests share one list, and a
 * session ended or expired elsewhere is refused once the directory is re-read.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, readPrivateKey, sealTo, type PrivateKey } from '../src/crypto/openpgp.js';
import type { Target } from '../src/runner/context.js';
import { newGatewayCredential, SessionResolver } from '../src/runner/gateway/sessions.js';
import type { Marker, Markers, MarkerState, OpenMarkers } from '../src/runner/marker.js';

/** Markers held in memory, counting every read the resolver makes. */
class CountingMarkers implements Markers {
  readonly location = { kind: 'ConfigMap', namespace: 'breakglass-system' } as const;
  readonly states = new Map<string, MarkerState>();
  gets = 0;
  lists = 0;
  async create(): Promise<Marker | undefined> {
    throw new Error('the gateway never creates markers');
  }
  async get(session: string): Promise<Marker | undefined> {
    this.gets++;
    const state = this.states.get(session);
    return state ? { state, resourceVersion: '1' } : undefined;
  }
  async update(): Promise<Marker> {
    throw new Error('the gateway never writes markers');
  }
  async listOpen(): Promise<OpenMarkers> {
    this.lists++;
    await new Promise((r) => setTimeout(r, 5));
    const markers = [...this.states.values()].filter((s) => s.phase !== 'ended' && s.phase !== 'failed').map((state) => ({ state, resourceVersion: '1' }));
    return { markers, unreadable: [] };
  }
}

const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

describe('the gateway resolves credentials from one directory of open markers', () => {
  let key: PrivateKey;
  let publicKey: string;
  beforeAll(async () => {
    const pair = await generateKeyPair({ name: 'runner', email: 'runner@example.test' });
    key = await readPrivateKey(pair.privateKey);
    publicKey = pair.publicKey;
  });

  async function setup() {
    let now = Date.parse('2026-12-03T06:00:00Z');
    const markers = new CountingMarkers();
    const target = { resource: 'prod', markers } as unknown as Target;
    const resolver = new SessionResolver({ targets: new Map([['prod', target]]), key, now: () => now, ttlMs: 500 });
    const credential = newGatewayCredential('s-live');
    markers.states.set('s-live', {
      session: 's-live',
      phase: 'active',
      runner: 'runner-0',
      started: '2026-12-03T05:59:00Z',
      commit: '0'.repeat(40),
      repository: 'acme/access',
      requestDigest: `sha256:${'0'.repeat(64)}`,
      resource: 'prod',
      network: 'direct',
      approvals: [],
      policy: { name: 'prod', digest: `sha256:${'0'.repeat(64)}` },
      objects: [],
      expires: '2026-12-03T07:00:00Z',
      credentialSha256: sha(credential),
      sealedToken: await sealTo(publicKey, new TextEncoder().encode('the-service-account-token')),
      gateway: { url: 'https://gw.example.test', deny: [], runnerNamespaces: ['breakglass-system'] },
    });
    return { markers, resolver, credential, advance: (ms: number) => (now += ms) };
  }

  it('answers a flood of made-up credentials with one list and no marker read per request', async () => {
    const { markers, resolver } = await setup();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => resolver.resolve(`Bearer ${newGatewayCredential(`made-up-${i}`)}`)));
    expect(answers.every((a) => 'code' in a && a.code === 'GATEWAY_CREDENTIAL_REFUSED' && a.status === 401)).toBe(true);
    expect(markers.gets).toBe(0);
    expect(markers.lists).toBe(1);
  });

  it('resolves the delivered credential, and refuses a forged one for the same session', async () => {
    const { resolver, credential } = await setup();
    const live = await resolver.resolve(`Bearer ${credential}`);
    expect(live).toMatchObject({ session: 's-live', token: 'the-service-account-token' });
    const forged = await resolver.resolve(`Bearer ${newGatewayCredential('s-live')}`);
    expect(forged).toMatchObject({ status: 401, code: 'GATEWAY_CREDENTIAL_REFUSED' });
  });

  it('refuses a session another replica ended once the directory is re-read, and one this process ended at once', async () => {
    const { markers, resolver, credential, advance } = await setup();
    expect(await resolver.resolve(`Bearer ${credential}`)).toMatchObject({ session: 's-live' });
    const state = markers.states.get('s-live');
    if (!state) throw new Error('no marker');
    markers.states.set('s-live', { ...state, phase: 'ended' });
    advance(500);
    expect(await resolver.resolve(`Bearer ${credential}`)).toMatchObject({ status: 401 });
    markers.states.set('s-live', state);
    advance(500);
    expect(await resolver.resolve(`Bearer ${credential}`)).toMatchObject({ session: 's-live' });
    resolver.end('s-live');
    expect(await resolver.resolve(`Bearer ${credential}`)).toMatchObject({ status: 401 });
  });

  it('refuses an expired session from its marker before any teardown', async () => {
    const { resolver, credential, advance } = await setup();
    advance(3_600_000);
    expect(await resolver.resolve(`Bearer ${credential}`)).toMatchObject({ status: 401, message: expect.stringContaining('expired') });
  });
});
