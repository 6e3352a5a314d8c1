/**
 * Who a gateway credential belongs to, decided from the cluster, not from
 * this process: the credential names its session, the session's marker (in
 * the resource's namespace, the same object every replica reads) holds the
 * SHA-256 of the credential that was delivered, the phase and the expiry, and
 * the ServiceAccount token sealed to the runner's key. So any replica serves
 * any session, and a restart loses nothing.
 *
 * A marker read is reused for at most `ttlMs` (default 500 ms): a session
 * ended by another replica is refused here within that time. One this process
 * ends is refused at once (`end`), before the marker is even re-read.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { GatewayRefusal } from '../../core/gateway-request.js';
import { parseTime } from '../../core/duration.js';
import type { DenyRule } from '../../core/schemas.js';
import { unseal, type PrivateKey } from '../../crypto/openpgp.js';
import type { Target } from '../context.js';
import type { MarkerState } from '../marker.js';

const PREFIX = 'bgw1';
const CREDENTIAL = /^bgw1\.([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{43})$/;

/** A fresh gateway credential for `session`: 256 random bits; only its SHA-256 is ever stored. */
export function newGatewayCredential(session: string): string {
  return `${PREFIX}.${session}.${randomBytes(32).toString('base64url')}`;
}

/** A session the gateway may forward for, with what forwarding needs. */
export interface LiveSession {
  session: string;
  target: Target;
  /** The minted ServiceAccount token: sent upstream, never to the client, never recorded. */
  token: string;
  deny: DenyRule[];
  runnerNamespaces: string[];
  /** The credential the client presented, kept only to redact it from the recording. */
  credential: string;
}

interface Cached {
  at: number;
  state?: MarkerState;
  target?: Target;
}

const refused = (message: string): GatewayRefusal => ({ status: 401, code: 'GATEWAY_CREDENTIAL_REFUSED', message });

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Resolves gateway credentials to live sessions. */
export class SessionResolver {
  private readonly targets: Map<string, Target>;
  private readonly key: PrivateKey;
  private readonly now: () => number;
  private readonly ttlMs: number;
  private readonly cache = new Map<string, Cached>();
  private readonly tokens = new Map<string, string>();
  private readonly ended = new Set<string>();

  constructor(o: { targets: Map<string, Target>; key: PrivateKey; now: () => number; ttlMs?: number }) {
    this.targets = o.targets;
    this.key = o.key;
    this.now = o.now;
    this.ttlMs = o.ttlMs ?? 500;
  }

  /** This process ended `session`: refuse it from now on, whatever the cache says. */
  end(session: string): void {
    this.ended.add(session);
    this.cache.delete(session);
    for (const [k, v] of this.tokens) if (v.startsWith(`${session}\n`)) this.tokens.delete(k);
  }

  isEnded(session: string): boolean {
    return this.ended.has(session);
  }

  private async marker(session: string): Promise<Cached> {
    const hit = this.cache.get(session);
    if (hit && this.now() - hit.at < this.ttlMs) return hit;
    const fresh: Cached = { at: this.now() };
    for (const t of this.targets.values()) {
      const m = await t.markers.get(session);
      if (m) {
        fresh.state = m.state;
        fresh.target = t;
        break;
      }
    }
    // Only sessions that exist are remembered: a stream of made-up ids must not grow this map.
    if (fresh.state) this.cache.set(session, fresh);
    return fresh;
  }

  /** Why `session` may not be served now, or undefined when it may (marker re-read at most every ttlMs). */
  async closed(session: string): Promise<string | undefined> {
    if (this.ended.has(session)) return 'the session was ended';
    const { state } = await this.marker(session);
    if (!state?.gateway) return 'no recorded session by that id';
    if (state.phase !== 'active') return `the session is ${state.phase}`;
    if ((parseTime(state.expires ?? '') ?? 0) <= this.now()) return 'the session has expired';
    return undefined;
  }

  /** The live session a bearer credential opens, or the 401 to answer. */
  async resolve(authorization: string | undefined): Promise<LiveSession | GatewayRefusal> {
    const bearer = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
    const session = bearer ? CREDENTIAL.exec(bearer)?.[1] : undefined;
    if (!bearer || !session) return refused('no breakglass gateway credential');
    const why = await this.closed(session);
    if (why) return refused(`session ${session}: ${why}`);
    // `closed` has just read the marker (cached): a recorded session has its state, target and gateway.
    const { state, target } = await this.marker(session);
    const gateway = state?.gateway;
    if (!state || !target || !gateway) return refused(`session ${session}: no recorded session by that id`);
    const digest = `sha256:${createHash('sha256').update(bearer).digest('hex')}`;
    if (!sameDigest(digest, state.credentialSha256 ?? '')) return refused(`session ${session}: not the credential delivered for it`);
    if (!state.sealedToken) return refused(`session ${session}: no ServiceAccount token in its marker`);
    return { session, target, token: await this.token(session, state.sealedToken), deny: gateway.deny, runnerNamespaces: gateway.runnerNamespaces, credential: bearer };
  }

  private async token(session: string, sealed: string): Promise<string> {
    const hit = this.tokens.get(sealed);
    if (hit) return hit.slice(session.length + 1);
    const token = new TextDecoder().decode(await unseal(this.key, sealed));
    this.tokens.set(sealed, `${session}\n${token}`);
    return token;
  }
}
