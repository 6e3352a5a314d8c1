/**
 * A local Twingate Admin API, following its public documentation and the
 * clients Twingate publishes (terraform/pulumi providers, helm chart):
 *
 * - One GraphQL endpoint (/api/graphql/), the X-API-KEY header; 401 for a bad key.
 * - Mutations answer HTTP 200 with `{ ok, error, ... }`: success only when ok.
 * - API keys carry one permission level: Read, Read & Write, or Read, Write &
 *   Provision. Creating/deleting a connector needs Write; connectorGenerateTokens
 *   needs Provision. A key without it gets the GraphQL errors shape
 *   (`{ data: { field: null }, errors: [{ message, path }] }`); the exact
 *   wording is not published, so it is modelled, not copied.
 * - `Connector.state` is the ConnectorState enum: ALIVE, DEAD_NO_HEARTBEAT,
 *   DEAD_HEARTBEAT_TOO_OLD, DEAD_NO_RELAYS. A new connector reports
 *   DEAD_NO_HEARTBEAT until its first heartbeat (`heartbeat`), and goes back to
 *   DEAD_* when it stops (`setState`).
 * - Queries `connector(id)`, `connectors(filter: { name: { eq } })` and
 *   `remoteNetwork(id)`; 429 with Retry-After through injected faults.
 * It reads the operation's top-level field from the query text and takes
 * arguments from `variables`, which is how the real client sends them.
 */
import { randomBytes } from 'node:crypto';
import { HttpFake } from './http-fake.js';

export type ConnectorState = 'ALIVE' | 'DEAD_NO_HEARTBEAT' | 'DEAD_HEARTBEAT_TOO_OLD' | 'DEAD_NO_RELAYS';

export interface FakeConnector {
  id: string;
  name: string;
  remoteNetworkId: string;
  state: ConnectorState;
  lastHeartbeatAt: string | null;
  tokens?: { accessToken: string; refreshToken: string };
}

type Permission = 'read' | 'readWrite' | 'provision';
const RANK: Record<Permission, number> = { read: 0, readWrite: 1, provision: 2 };
const NEEDS: Record<string, Permission> = { connectorCreate: 'readWrite', connectorDelete: 'readWrite', connectorGenerateTokens: 'provision' };

export class TwingateFake extends HttpFake {
  readonly connectors = new Map<string, FakeConnector>();
  readonly apiKey = randomBytes(16).toString('hex');
  readonly remoteNetworks = new Set([`UmVtb3RlTmV0d29yazo${randomBytes(3).toString('hex')}`]);
  /** The API key's permission level, as chosen when it was generated. */
  permission: Permission = 'provision';

  constructor() {
    super((req, url) => this.route(req.method, url, req.headers['x-api-key'] as string | undefined, req.body));
  }

  get remoteNetworkId(): string {
    return [...this.remoteNetworks][0]!;
  }

  /** The connector process reached Twingate. */
  heartbeat(id: string): void {
    const c = this.connectors.get(id);
    if (c) Object.assign(c, { state: 'ALIVE', lastHeartbeatAt: new Date().toISOString() });
  }

  setState(id: string, state: ConnectorState): void {
    const c = this.connectors.get(id);
    if (c) c.state = state;
  }

  connectorNamed(name: string): FakeConnector | undefined {
    return [...this.connectors.values()].find((c) => c.name === name);
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
    const field = /\{\s*([A-Za-z]+)\s*\(/.exec(q.query)?.[1] ?? '';
    const need = NEEDS[field];
    if (need && RANK[this.permission] < RANK[need]) {
      return { status: 200, body: { data: { [field]: null }, errors: [{ message: 'Permission denied: this API key cannot perform this operation', path: [field] }] } };
    }
    return { status: 200, body: this.operation(field, q.variables ?? {}) };
  }

  private operation(field: string, v: Record<string, unknown>): unknown {
    switch (field) {
      case 'connectorCreate': {
        const rn = String(v.remoteNetworkId ?? '');
        if (!this.remoteNetworks.has(rn)) return { data: { connectorCreate: { ok: false, error: 'Remote network not found', entity: null } } };
        const c: FakeConnector = { id: `Q29ubmVjdG9yOj${randomBytes(4).toString('hex')}`, name: String(v.name ?? `auto-${randomBytes(3).toString('hex')}`), remoteNetworkId: rn, state: 'DEAD_NO_HEARTBEAT', lastHeartbeatAt: null };
        this.connectors.set(c.id, c);
        return { data: { connectorCreate: { ok: true, error: null, entity: { id: c.id, name: c.name } } } };
      }
      case 'connectorGenerateTokens': {
        const c = this.connectors.get(String(v.connectorId));
        if (!c) return { data: { connectorGenerateTokens: { ok: false, error: 'Connector not found', connectorTokens: null } } };
        c.tokens = { accessToken: `at-${randomBytes(16).toString('hex')}`, refreshToken: `rt-${randomBytes(16).toString('hex')}` };
        return { data: { connectorGenerateTokens: { ok: true, error: null, connectorTokens: c.tokens } } };
      }
      case 'connectorDelete': {
        const ok = this.connectors.delete(String(v.id));
        return { data: { connectorDelete: { ok, error: ok ? null : 'Connector not found' } } };
      }
      case 'connector': {
        const c = this.connectors.get(String(v.id));
        return { data: { connector: c ? { id: c.id, name: c.name, state: c.state, lastHeartbeatAt: c.lastHeartbeatAt, remoteNetwork: { id: c.remoteNetworkId } } : null } };
      }
      case 'connectors': {
        const name = String(v.name ?? '');
        const edges = [...this.connectors.values()].filter((c) => c.name === name).map((c) => ({ node: { id: c.id, name: c.name, state: c.state } }));
        return { data: { connectors: { edges, pageInfo: { hasNextPage: false, endCursor: null } } } };
      }
      case 'remoteNetwork': {
        const id = String(v.id ?? '');
        return { data: { remoteNetwork: this.remoteNetworks.has(id) ? { id, name: 'prod' } : null } };
      }
      default:
        return { errors: [{ message: `Cannot query field "${field}" on type "Query".` }] };
    }
  }
}
