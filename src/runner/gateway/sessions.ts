/**
 * Who a gateway credential belongs to, decided from the cluster, not from
 * this process: the credential names its session, the session's marker (in
 * the resource's namespace, the same object every replica reads) holds the
 * SHA-256 of the credential that was delivered, the phase and the expiry, and
 * the ServiceAccount token sealed to the runner's key. So any replica serves
 * any session, and a restart loses nothing.
 *
 * The gateway reads the markers as one directory: each resource's open
 * markers, listed at most once every `ttlMs` (default 500 ms) however many
 * requests arrive, and one list at a time (concurrent requests share it). A
 * session ended by another replica is refused here within that time; one this
 * process ends is refused at once (`end`). A credential naming a session that
 * is not in the directory costs no API call of its own, so a stream of
 * made-up credentials cannot turn the gateway into an amplifier against the
 * API server.
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

interface Open {
  state: MarkerState;
  target: Target;
}

interface Directory {
  at: number;
  sessions: Map<string, Open>;
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
  private directory: Directory | undefined;
  private listing: Promise<Directory> | undefined;
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
    for (const [k, v] of this.tokens) if (v.startsWith(`${session}\n`)) this.tokens.delete(k);
  }

  isEnded(session: string): boolean {
    return this.ended.has(session);
  }

  /** The open markers of every resource, at most `ttlMs` old; one list in flight at a time. */
  private async open(): Promise<Map<string, Open>> {
    if (this.directory && this.now() - this.directory.at < this.ttlMs) return this.directory.sessions;
    this.listing ??= this.list().finally(() => {
      this.listing = undefined;
    });
    return (await this.listing).sessions;
  }

  private async list(): Promise<Directory> {
    const at = this.now();
    const sessions = new Map<string, Open>();
    for (const target of this.targets.values()) {
      // An unreadable marker (MARKER_INVALID) opens nothing here: the loop reports it, the gateway refuses its credential.
      for (const m of (await target.markers.listOpen()).markers) if (!sessions.has(m.state.session)) sessions.set(m.state.session, { state: m.state, target });
    }
    this.directory = { at, sessions };
    return this.directory;
  }

  private async marker(session: string): Promise<Open | undefined> {
    return (await this.open()).get(session);
  }

  /** Why `session` may not be served now, or undefined when it may (marker re-read at most every ttlMs). */
  async closed(session: string): Promise<string | undefined> {
    if (this.ended.has(session)) return 'the session was ended';
    const state = (await this.marker(session))?.state;
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
    const open = await this.marker(session);
    const gateway = open?.state.gateway;
    if (!open || !gateway) return refused(`session ${session}: no recorded session by that id`);
    const { state, target } = open;
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
