/**
 * The runner's only listening port, and only when `metrics.listen` is set:
 * GET /metrics (Prometheus text), /healthz (the process is alive) and
 * /readyz (the preflight passed and the last successful poll of the
 * repository is at most `unreadyAfterPolls` poll intervals old). It serves
 * no session data: counts and durations only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunnerMetrics } from './metrics.js';

export interface HealthOptions {
  listen: string;
  metrics: RunnerMetrics;
  pollSeconds: number;
  unreadyAfterPolls: number;
  now(): number;
  /** False when the runner refused to start (its preflight failed). */
  started(): boolean;
}

/** Why the runner is not ready, or undefined when it is. */
export function unready(o: HealthOptions): string | undefined {
  if (!o.started()) return 'preflight failed: the runner does not activate sessions';
  const last = o.metrics.lastPollMs;
  if (last === undefined) return 'no successful poll of the repository yet';
  const window = o.unreadyAfterPolls * o.pollSeconds * 1000;
  const age = o.now() - last;
  return age > window ? `last successful poll ${Math.round(age / 1000)}s ago (more than ${o.unreadyAfterPolls} poll intervals)` : undefined;
}

/** Starts the server; resolves with its address once listening. */
export async function serveHealth(o: HealthOptions): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    // One request per connection: scrapes are seconds apart, and a kept-alive socket the
    // server closes while a client reuses it would fail that scrape.
    res.setHeader('connection', 'close');
    if (req.method !== 'GET') return void res.writeHead(405).end();
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') {
      const why = unready(o);
      o.metrics.ready.set(why ? 0 : 1);
      return void res.writeHead(why ? 503 : 200, { 'content-type': 'text/plain' }).end(`${why ?? 'ready'}\n`);
    }
    if (path === '/metrics') {
      o.metrics.ready.set(unready(o) ? 0 : 1);
      void o.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': o.metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  const i = o.listen.lastIndexOf(':');
  const host = o.listen.slice(0, i).replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(o.listen.slice(i + 1)), host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
