/**
 * The session gateway: one HTTPS listener for every recorded session of this
 * runner (docs/security/recording.md, "Gateway"). For each request, in order:
 *   1. the credential: resolved from the cluster (sessions.ts); 401 if the
 *      session is unknown, ended, expired, or the credential is not the one delivered;
 *   2. the path, read as the API server reads it; refused if ambiguous (400);
 *   3. the guardrails: impersonation headers (`Impersonate-*`, `X-Remote-*`),
 *      the runner's own namespace, then the policy's deny rules (403 with a
 *      Status body), recorded as denied;
 *   4. the recording must be writable (a session whose chunks cannot be
 *      stored gets 503 rather than unrecorded access);
 *   5. forwarded as the session's ServiceAccount and recorded (proxy.ts).
 * Ending is instant here: `end(session)` refuses the credential at once and
 * cuts every open stream; a tick re-checks open streams against the markers,
 * so an end processed by another replica reaches them within a second.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, type Server } from 'node:https';
import type { Duplex } from 'node:stream';
import { loadKubeConfig } from '../../adapters/kubernetes.js';
import { classify, gatewayRefusal, impersonationRefusal, statusBody, type GatewayRefusal, type KubeRequestInfo } from '../../core/gateway-request.js';
import type { EventInput, Sealer } from '../../core/recording.js';
import type { PrivateKey } from '../../crypto/openpgp.js';
import type { Target } from '../context.js';
import { ChunkStore } from './chunks.js';
import { forward, forwardUpgrade, requestEvent, requestId, writeRaw, type Upstream } from './proxy.js';
import { SessionRecorder } from './recorder.js';
import { SessionResolver, type LiveSession } from './sessions.js';
import { messageOf } from '../../crypto/error-parts.js';

/** What the gateway is built from (the runner's composition root passes these). */
export interface GatewayOptions {
  listen: string;
  certificate: string;
  key: string;
  targets: Map<string, Target>;
  signingKey: PrivateKey;
  /** Seals a chunk to the trust file's auditors. */
  seal: Sealer;
  now: () => number;
  log: (line: string) => void;
  /** Plaintext bytes per chunk (default 256 KiB) and the longest an event waits in memory before its chunk is cut (default 5 s). */
  chunkBytes?: number;
  flushMs?: number;
}

type Destroyable = { destroy(): void };

/** The running gateway. */
export class Gateway {
  readonly resolver: SessionResolver;
  private readonly o: GatewayOptions;
  private server?: Server;
  private tick?: NodeJS.Timeout;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly recorders = new Map<string, SessionRecorder>();
  private readonly open = new Map<string, Set<Destroyable>>();
  private lastFlush = 0;
  /** Why the listener is not serving, when it is not. */
  problem: string | undefined = 'not started';

  constructor(o: GatewayOptions) {
    this.o = o;
    this.resolver = new SessionResolver({ targets: o.targets, key: o.signingKey, now: o.now });
  }

  get listening(): boolean {
    return this.server?.listening === true;
  }

  /** The bound port (useful when listening on port 0). */
  get port(): number | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : undefined;
  }

  /** Starts listening; on failure, records why and stays down (recorded sessions are then refused, never served unrecorded). */
  async start(): Promise<void> {
    try {
      const [cert, key] = await Promise.all([readFile(this.o.certificate), readFile(this.o.key)]);
      const server = createServer({ cert, key, minVersion: 'TLSv1.2' });
      server.on('request', (req, res) => void this.onRequest(req, res));
      server.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
      server.on('clientError', (_e, socket) => socket.destroy());
      const i = this.o.listen.lastIndexOf(':');
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(this.o.listen.slice(i + 1)), this.o.listen.slice(0, i) || undefined, () => resolve());
      });
      this.server = server;
      this.problem = undefined;
      this.tick = setInterval(() => void this.onTick(), 250);
      this.tick.unref();
      this.o.log(`gateway: listening on ${this.o.listen}`);
    } catch (e) {
      this.problem = messageOf(e);
      this.o.log(`gateway: cannot listen on ${this.o.listen}: ${this.problem}; recorded sessions are refused until it can`);
    }
  }

  /** Ends `session` here and now: its credential is refused, its streams cut, its last events sealed and stored. */
  async end(session: string): Promise<void> {
    this.resolver.end(session);
    for (const d of this.open.get(session) ?? []) d.destroy();
    this.open.delete(session);
    const rec = this.recorders.get(session);
    if (rec) await rec.flush();
    this.recorders.delete(session);
    this.o.log(`gateway: session ${session} refused from now on`);
  }

  async stop(): Promise<void> {
    clearInterval(this.tick);
    for (const set of this.open.values()) for (const d of set) d.destroy();
    await Promise.allSettled([...this.recorders.values()].map((r) => r.flush()));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async onTick(): Promise<void> {
    // Open streams of sessions that ended elsewhere (another replica, expiry) are cut.
    for (const [session, set] of this.open) {
      if (set.size === 0) continue;
      const why = await this.resolver.closed(session).catch(() => undefined);
      if (why) {
        for (const d of set) d.destroy();
        this.open.delete(session);
      }
    }
    if (this.o.now() - this.lastFlush < (this.o.flushMs ?? 5000)) return;
    this.lastFlush = this.o.now();
    for (const r of this.recorders.values()) if (!r.idle) await r.flush().catch((e: Error) => this.o.log(`gateway: ${e.message}`));
  }

  private upstream(t: Target): Upstream {
    let up = this.upstreams.get(t.resource);
    if (!up) {
      const cluster = loadKubeConfig(t.config.kubeconfig).getCurrentCluster()!;
      const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : cluster.caFile ? readFileSync(cluster.caFile) : undefined;
      up = { url: new URL(cluster.server), agent: new Agent({ keepAlive: true, ca, servername: cluster.tlsServerName, rejectUnauthorized: !cluster.skipTLSVerify }) };
      this.upstreams.set(t.resource, up);
    }
    return up;
  }

  private recorder(live: LiveSession): SessionRecorder {
    let r = this.recorders.get(live.session);
    if (!r) {
      r = new SessionRecorder({
        session: live.session,
        store: new ChunkStore(live.target.raw, live.target.namespace),
        seal: this.o.seal,
        secrets: [live.credential, live.token],
        chunkBytes: this.o.chunkBytes ?? 256 * 1024,
      });
      this.recorders.set(live.session, r);
    }
    return r;
  }

  private track(session: string): (d: Destroyable) => void {
    let set = this.open.get(session);
    if (!set) this.open.set(session, (set = new Set()));
    const s = set;
    return (d) => {
      s.add(d);
      (d as unknown as NodeJS.EventEmitter).once?.('close', () => s.delete(d));
    };
  }

  /** Steps 1-4; the refusal to answer, or the session, its reading of the request and its recorder. */
  private async admit(req: IncomingMessage): Promise<{ refusal: GatewayRefusal; info?: KubeRequestInfo } | { live: LiveSession; info: KubeRequestInfo; record: (e: EventInput) => void; id: string }> {
    let live: LiveSession | GatewayRefusal;
    try {
      live = await this.resolver.resolve(req.headers.authorization);
    } catch (e) {
      this.o.log(`gateway: cannot resolve a credential: ${messageOf(e)}`);
      return { refusal: { status: 401, code: 'GATEWAY_CREDENTIAL_REFUSED', message: 'breakglass gateway: the session could not be checked' } };
    }
    if ('status' in live) {
      this.o.log(`gateway: refused ${req.method} ${(req.url ?? '').split('?')[0]}: ${live.message}`);
      return { refusal: { ...live, message: 'Unauthorized' } };
    }
    const rec = this.recorder(live);
    const record = (e: EventInput) => rec.add(e, new Date(this.o.now()));
    const id = requestId();
    const info = classify(req.method ?? 'GET', req.url ?? '/');
    if ('status' in info) {
      record({ type: 'request', id, method: req.method ?? '', path: (req.url ?? '').split('?')[0]!, query: '', verb: '' });
      record({ type: 'denied', id, rule: info.message });
      return { refusal: info };
    }
    const refusal = impersonationRefusal(Object.keys(req.headers)) ?? gatewayRefusal(info, live.deny, live.runnerNamespaces);
    if (refusal) {
      record(requestEvent(id, req.method ?? 'GET', req.url ?? '/', info));
      record({ type: 'denied', id, rule: `${refusal.code}: ${refusal.message}` });
      return { refusal, info };
    }
    if (rec.failure)
      return { refusal: { status: 403, code: 'GATEWAY_DENIED', message: `breakglass gateway: the recording cannot be stored (${rec.failure.message}); nothing is forwarded unrecorded` }, info };
    record(requestEvent(id, req.method ?? 'GET', req.url ?? '/', info));
    return { live, info, record, id };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const a = await this.admit(req);
    if ('refusal' in a) {
      res.writeHead(a.refusal.status, { 'content-type': 'application/json' });
      res.end(statusBody(a.refusal, a.info));
      req.resume();
      return;
    }
    forward(this.upstream(a.live.target), a.live.token, a.info, req, res, a.record, a.id, this.track(a.live.session));
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const a = await this.admit(req);
    if ('refusal' in a) {
      const text = a.refusal.status === 401 ? 'Unauthorized' : a.refusal.status === 403 ? 'Forbidden' : 'Bad Request';
      writeRaw(socket, a.refusal.status, text, [['Content-Type', 'application/json']], Buffer.from(statusBody(a.refusal, a.info)));
      return;
    }
    forwardUpgrade(this.upstream(a.live.target), a.live.token, req, socket, head, a.record, a.id, this.track(a.live.session));
  }
}
