/** A tiny HTTP server base for fakes of outside APIs: JSON in and out, request log, injected faults. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as is (e.g. Slack's text/plain `ok`) instead of `body` as JSON. */
  text?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (req: LoggedRequest, url: URL) => Fault;

export class HttpFake {
  readonly requests: LoggedRequest[] = [];
  /** Faults served, in order, before the handler sees requests matching `match`. */
  private faults: { match: (r: LoggedRequest) => boolean; fault: Fault }[] = [];
  private server?: Server;
  url = '';
  private readonly handler: Handler;

  constructor(handler: Handler) {
    this.handler = handler;
  }

  /** The next request matching `match` gets `fault` instead of an answer (queue several for several). */
  failNext(match: (r: LoggedRequest) => boolean, fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push({ match, fault });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.serve(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const addr = this.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const logged: LoggedRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      this.requests.push(logged);
      const i = this.faults.findIndex((f) => f.match(logged));
      const answer = i >= 0 ? this.faults.splice(i, 1)[0]!.fault : this.handler(logged, new URL(logged.path, 'http://fake'));
      if (answer.text !== undefined) {
        res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', ...answer.headers });
        res.end(answer.text);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  }
}
