/**
 * A local Twingate Admin API, following its public documentation: one GraphQL
 * endpoint (/api/graphql/), the X-API-KEY header, mutations answering HTTP 200
 * with `{ ok, error, ... }`, queries `connector(id)` and
 * `connectors(filter: { name: { eq } })`, 401 for a bad key, 429 with Retry-After.
 * It reads the operation's top-level field from the query text and takes
 * arguments from `variables`, which is how the real client sends them.
 */
import { randomBytes } from 'node:crypto';
import { HttpFake } from './http-fake.js';

export interface FakeConnector {
  id: string;
  name: string;
  remoteNetworkId: string;
  tokens?: { accessToken: string; refreshToken: string };
}

export class TwingateFake extends HttpFake {
  readonly connectors = new Map<string, FakeConnector>();
  readonly apiKey = randomBytes(16).toString('hex');
  readonly remoteNetworks = new Set([`UmVtb3RlTmV0d29yazo${randomBytes(3).toString('hex')}`]);

  constructor() {
    super((req, url) => this.route(req.method, url, req.headers['x-api-key'] as string | undefined, req.body));
  }

  get remoteNetworkId(): string {
    return [...this.remoteNetworks][0]!;
  }

  private route(method: string, url: URL, key: string | undefined, body: string): { status: number; body?: unknown } {
    if (url.pathname !== '/api/graphql/' || method !== 'POST') return { status: 404, body: { message: 'not found' } };
    if (key !== this.apiKey) return { status: 401, body: { message: 'Unauthorized' } };
    let q: { query: string; variables?: Record<string, unknown> };
    try {
      q = JSON.parse(body);
    } catch {
      return { status: 400, body: { errors: [{ message: 'Must provide query string.' }] } };
    }
    const field = /\{\s*([A-Za-z]+)\s*\(/.exec(q.query)?.[1];
    const v = q.variables ?? {};
    switch (field) {
      case 'connectorCreate': {
        const rn = String(v.remoteNetworkId ?? '');
        if (!this.remoteNetworks.has(rn)) return { status: 200, body: { data: { connectorCreate: { ok: false, error: 'Remote network not found', entity: null } } } };
        const c: FakeConnector = { id: `Q29ubmVjdG9yOj${randomBytes(4).toString('hex')}`, name: String(v.name ?? `auto-${randomBytes(3).toString('hex')}`), remoteNetworkId: rn };
        this.connectors.set(c.id, c);
        return { status: 200, body: { data: { connectorCreate: { ok: true, error: null, entity: { id: c.id, name: c.name } } } } };
      }
      case 'connectorGenerateTokens': {
        const c = this.connectors.get(String(v.connectorId));
        if (!c) return { status: 200, body: { data: { connectorGenerateTokens: { ok: false, error: 'Connector not found', connectorTokens: null } } } };
        c.tokens = { accessToken: `at-${randomBytes(16).toString('hex')}`, refreshToken: `rt-${randomBytes(16).toString('hex')}` };
        return { status: 200, body: { data: { connectorGenerateTokens: { ok: true, error: null, connectorTokens: c.tokens } } } };
      }
      case 'connectorDelete': {
        const ok = this.connectors.delete(String(v.id));
        return { status: 200, body: { data: { connectorDelete: { ok, error: ok ? null : 'Connector not found' } } } };
      }
      case 'connector': {
        const c = this.connectors.get(String(v.id));
        return { status: 200, body: { data: { connector: c ? { id: c.id, name: c.name } : null } } };
      }
      case 'connectors': {
        const name = String(v.name ?? '');
        const edges = [...this.connectors.values()].filter((c) => c.name === name).map((c) => ({ node: { id: c.id, name: c.name } }));
        return { status: 200, body: { data: { connectors: { edges, pageInfo: { hasNextPage: false, endCursor: null } } } } };
      }
      default:
        return { status: 200, body: { errors: [{ message: `Cannot query field "${field}" on type "Mutation".` }] } };
    }
  }
}
