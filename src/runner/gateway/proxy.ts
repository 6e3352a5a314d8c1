/**
 * Forwarding one request to the API server as the session's ServiceAccount,
 * recording it on the way. Plain requests: the request line, the body the
 * client sent (what it created or changed), the status and the byte count.
 * Streaming responses (watch, `logs -f`): every byte the server sends.
 * Upgraded connections (exec, attach, port-forward over SPDY or websocket, as
 * kubectl's fallback executor tries websocket first, then SPDY on an upgrade
 * failure): the 101 is passed through unchanged (the API server computes the
 * websocket accept key from the client's own key) and both directions are
 * piped and recorded. A non-101 answer to an upgrade is passed back as an
 * ordinary response, so the client's fallback sees the real status.
 *
 * The client's Authorization header never goes upstream and the
 * ServiceAccount token never goes downstream or into the recording.
 */
import { randomInt } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { request, type Agent } from 'node:https';
import type { Duplex } from 'node:stream';
import { isImpersonationHeader, type KubeRequestInfo } from '../../core/gateway-request.js';
import type { EventInput } from '../../core/recording.js';

/** Where and how to reach one resource's API server. */
export interface Upstream {
  url: URL;
  agent: Agent;
}

/** Records one event of the session being served. */
export type Record = (e: EventInput) => void;

// Hop-by-hop (RFC 9110 7.6.1) plus what the gateway replaces: the client's credential, and Host.
const DROP = new Set(['authorization', 'connection', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
/** The most of a plain request's body kept in the recording (the byte count is always exact). */
const MAX_BODY = 1024 * 1024;

let counter = 0;
/** A request id unique across replicas in practice: random prefix, process counter. */
export function requestId(): string {
  counter = (counter + 1) % 1_000_000;
  return `r${randomInt(1, 1_000_000_000)}${String(counter).padStart(6, '0')}`;
}

function upstreamHeaders(h: IncomingHttpHeaders, token: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  // Impersonation headers are refused before forwarding (server.ts); dropped here too, should a path ever skip that check.
  for (const [k, v] of Object.entries(h)) if (!DROP.has(k) && !isImpersonationHeader(k) && v !== undefined) out[k] = v;
  out.authorization = `Bearer ${token}`;
  return out;
}

function responseHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!DROP.has(k) && v !== undefined) out[k] = v;
  return out;
}

/** The recording's request event for `info`. */
export function requestEvent(id: string, method: string, url: string, info: KubeRequestInfo): EventInput {
  const q = url.indexOf('?');
  const resource = info.resourceRequest
    ? {
        group: info.apiGroup,
        version: info.apiVersion,
        resource: info.resource,
        ...(info.namespace ? { namespace: info.namespace } : {}),
        ...(info.name ? { name: info.name } : {}),
        ...(info.subresource ? { subresource: info.subresource } : {}),
      }
    : undefined;
  return { type: 'request', id, method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), verb: info.verb, resource, ...(info.argv ? { argv: info.argv } : {}) };
}

/** True when the response is a stream the recording keeps byte for byte. */
function streaming(info: KubeRequestInfo, url: string): boolean {
  const query = new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
  return info.verb === 'watch' || (info.subresource === 'log' && ['1', 'true', 'True', 'TRUE', 't', 'T'].includes(query.get('follow') ?? ''));
}

/** Forwards a plain (non-upgrade) request; `track` registers what to destroy if the session ends meanwhile. */
export function forward(up: Upstream, token: string, info: KubeRequestInfo, req: IncomingMessage, res: ServerResponse, record: Record, id: string, track: (d: { destroy(): void }) => void): void {
  const stream = streaming(info, req.url ?? '/');
  let bytesIn = 0;
  let kept = 0;
  const out = request(new URL(req.url ?? '/', up.url), { method: req.method, headers: upstreamHeaders(req.headers, token), agent: up.agent }, (upRes) => {
    res.writeHead(upRes.statusCode ?? 502, responseHeaders(upRes.headers));
    let bytes = 0;
    if (stream) record({ type: 'response', id, status: upRes.statusCode ?? 502, bytes: 0 });
    // pipe() keeps backpressure (a slow client never makes the gateway buffer a whole response); the listener only counts and records.
    upRes.on('data', (c: Buffer) => {
      bytes += c.length;
      if (stream) record({ type: 'stream', id, direction: 'server', data: c.toString('base64') });
    });
    upRes.on('end', () => record(stream ? { type: 'close', id, bytesIn, bytesOut: bytes } : { type: 'response', id, status: upRes.statusCode ?? 502, bytes }));
    upRes.pipe(res);
    upRes.on('error', () => res.destroy());
  });
  track(out);
  track(res);
  req.on('data', (c: Buffer) => {
    bytesIn += c.length;
    if (kept < MAX_BODY) {
      const part = c.subarray(0, MAX_BODY - kept);
      kept += part.length;
      record({ type: 'stream', id, direction: 'client', data: part.toString('base64') });
    }
  });
  req.pipe(out);
  out.on('error', (e) => {
    record({ type: 'response', id, status: 502, bytes: 0 });
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `breakglass gateway: the API server could not be reached: ${e.message}`,
        reason: 'ServiceUnavailable',
        code: 502,
      }),
    );
  });
}

/** Writes a complete HTTP/1.1 response on a raw socket (an upgrade that is refused or not accepted upstream). */
export function writeRaw(socket: Duplex, status: number, statusText: string, headers: [string, string][], body: Buffer): void {
  const lines = [`HTTP/1.1 ${status} ${statusText}`, ...headers.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`, 'Connection: close', '', ''];
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), body]));
}

/** Forwards an upgrade (exec, attach, port-forward) and pipes both directions, recording every byte. */
export function forwardUpgrade(up: Upstream, token: string, req: IncomingMessage, socket: Duplex, head: Buffer, record: Record, id: string, track: (d: { destroy(): void }) => void): void {
  const headers = { ...upstreamHeaders(req.headers, token), connection: 'Upgrade', upgrade: req.headers.upgrade ?? '' };
  // A fresh connection, never the pool: an upgraded socket is the session's alone.
  const out = request(new URL(req.url ?? '/', up.url), {
    method: req.method,
    headers,
    ca: up.agent.options.ca,
    servername: up.agent.options.servername,
    rejectUnauthorized: up.agent.options.rejectUnauthorized,
    agent: false,
  });
  track(socket);
  track(out);
  let bytesIn = 0;
  let bytesOut = 0;
  out.on('upgrade', (upRes, upSocket, upHead) => {
    track(upSocket);
    record({ type: 'response', id, status: 101, bytes: 0 });
    const raw: string[] = [];
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) raw.push(`${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}`);
    socket.write(`HTTP/1.1 101 ${upRes.statusMessage || 'Switching Protocols'}\r\n${raw.join('\r\n')}\r\n\r\n`);
    const pipe = (from: Duplex, to: Duplex, direction: 'client' | 'server') => {
      from.on('data', (c: Buffer) => {
        if (direction === 'client') bytesIn += c.length;
        else bytesOut += c.length;
        record({ type: 'stream', id, direction, data: c.toString('base64') });
      });
      from.pipe(to);
      from.on('error', () => to.destroy());
    };
    if (upHead.length) {
      bytesOut += upHead.length;
      record({ type: 'stream', id, direction: 'server', data: upHead.toString('base64') });
      socket.write(upHead);
    }
    if (head.length) {
      bytesIn += head.length;
      record({ type: 'stream', id, direction: 'client', data: head.toString('base64') });
      upSocket.write(head);
    }
    pipe(upSocket, socket, 'server');
    pipe(socket, upSocket, 'client');
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      record({ type: 'close', id, bytesIn, bytesOut });
      socket.destroy();
      upSocket.destroy();
    };
    socket.on('close', close);
    upSocket.on('close', close);
  });
  out.on('response', (upRes) => {
    const chunks: Buffer[] = [];
    upRes.on('data', (c: Buffer) => chunks.push(c));
    upRes.on('end', () => {
      const body = Buffer.concat(chunks);
      record({ type: 'response', id, status: upRes.statusCode ?? 502, bytes: body.length });
      const keep = Object.entries(responseHeaders(upRes.headers))
        .filter(([k]) => k !== 'content-length')
        .map(([k, v]) => [k, String(v)] as [string, string]);
      writeRaw(socket, upRes.statusCode ?? 502, upRes.statusMessage ?? '', keep, body);
    });
  });
  out.on('error', (e) => {
    record({ type: 'response', id, status: 502, bytes: 0 });
    writeRaw(socket, 502, 'Bad Gateway', [['Content-Type', 'text/plain']], Buffer.from(`breakglass gateway: ${e.message}`));
  });
  out.end();
}
