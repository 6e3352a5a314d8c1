/**
 * The Twingate Admin API (GraphQL at https://<network>.twingate.com/api/graphql/,
 * header X-API-KEY). Mutations answer HTTP 200 with `{ ok, error }`: a
 * mutation is successful only when `ok` is true, whatever the status.
 */
import { BreakglassError } from '../core/errors.js';
import { requestJson, type HttpOptions } from './http.js';

export interface TwingateClientOptions {
  /** Full GraphQL endpoint URL, e.g. https://acme.twingate.com/api/graphql/ */
  url: string;
  apiKey: string;
  http?: HttpOptions;
}

/** Connector tokens. Both are secrets: never log or record them. */
export interface ConnectorTokens {
  accessToken: string;
  refreshToken: string;
}

/** Twingate's ConnectorState enum: only ALIVE carries traffic. */
export type ConnectorState = 'ALIVE' | 'DEAD_NO_HEARTBEAT' | 'DEAD_HEARTBEAT_TOO_OLD' | 'DEAD_NO_RELAYS';

interface MutationResult {
  ok: boolean;
  error: string | null;
}

export class TwingateClient {
  private readonly opts: TwingateClientOptions;
  constructor(opts: TwingateClientOptions) {
    this.opts = opts;
  }

  private async gql<T>(what: string, query: string, variables: Record<string, unknown>): Promise<T> {
    const res = await requestJson<{ data?: T; errors?: { message: string }[] }>(
      { method: 'POST', url: this.opts.url, what, body: { query, variables }, headers: { 'x-api-key': this.opts.apiKey } },
      this.opts.http,
    );
    const error = res.body?.errors?.[0]?.message;
    // A key without the permission level an operation needs answers with GraphQL errors, HTTP 200.
    if (error !== undefined) throw new BreakglassError(/permission/i.test(error) ? 'PROVIDER_AUTH' : 'PROVIDER_FAILED', `${what} failed: ${error.slice(0, 300)}`);
    if (!res.body?.data) throw new BreakglassError('PROVIDER_FAILED', `${what} failed: the answer has no data`);
    return res.body.data;
  }

  private static check(what: string, r: MutationResult | null | undefined): void {
    if (!r?.ok) throw new BreakglassError('PROVIDER_FAILED', `${what} failed: ${r?.error ?? 'ok was not true'}`);
  }

  async createConnector(remoteNetworkId: string, name: string): Promise<{ id: string; name: string }> {
    const what = 'create Twingate connector';
    const d = await this.gql<{ connectorCreate: MutationResult & { entity: { id: string; name: string } | null } }>(
      what,
      'mutation ConnectorCreate($remoteNetworkId: ID!, $name: String) { connectorCreate(remoteNetworkId: $remoteNetworkId, name: $name) { ok error entity { id name } } }',
      { remoteNetworkId, name },
    );
    TwingateClient.check(what, d.connectorCreate);
    if (!d.connectorCreate.entity) throw new BreakglassError('PROVIDER_FAILED', `${what}: ok but no entity`);
    return d.connectorCreate.entity;
  }

  async generateTokens(connectorId: string): Promise<ConnectorTokens> {
    const what = 'generate Twingate connector tokens';
    const d = await this.gql<{ connectorGenerateTokens: MutationResult & { connectorTokens: ConnectorTokens | null } }>(
      what,
      'mutation ConnectorGenerateTokens($connectorId: ID!) { connectorGenerateTokens(connectorId: $connectorId) { ok error connectorTokens { accessToken refreshToken } } }',
      { connectorId },
    );
    TwingateClient.check(what, d.connectorGenerateTokens);
    const t = d.connectorGenerateTokens.connectorTokens;
    if (!t?.accessToken || !t.refreshToken) throw new BreakglassError('PROVIDER_FAILED', `${what}: ok but no tokens`);
    return t;
  }

  /** Deletes a connector; one that no longer exists counts as deleted. */
  async deleteConnector(id: string): Promise<void> {
    if (!(await this.connectorExists(id))) return;
    const what = 'delete Twingate connector';
    const d = await this.gql<{ connectorDelete: MutationResult }>(what, 'mutation ConnectorDelete($id: ID!) { connectorDelete(id: $id) { ok error } }', { id });
    TwingateClient.check(what, d.connectorDelete);
  }

  /** Connectors whose name is exactly `name` (the filter is exact; we re-check anyway). */
  async connectorsNamed(name: string): Promise<{ id: string; name: string }[]> {
    const d = await this.gql<{ connectors: { edges: { node: { id: string; name: string } }[] } }>(
      'list Twingate connectors',
      'query Connectors($name: String!) { connectors(filter: { name: { eq: $name } }) { edges { node { id name } } } }',
      { name },
    );
    return d.connectors.edges.map((e) => e.node).filter((n) => n.name === name);
  }

  /** The connector's ConnectorState (ALIVE, DEAD_NO_HEARTBEAT, ...), or undefined when it does not exist. */
  async connectorState(id: string): Promise<ConnectorState | undefined> {
    const d = await this.gql<{ connector: { id: string; state: ConnectorState } | null }>('read Twingate connector state', 'query Connector($id: ID!) { connector(id: $id) { id state lastHeartbeatAt } }', { id });
    return d.connector?.state;
  }

  /** True when the remote network exists and this key can read it. */
  async remoteNetworkExists(id: string): Promise<boolean> {
    const d = await this.gql<{ remoteNetwork: { id: string } | null }>('read Twingate remote network', 'query RemoteNetwork($id: ID!) { remoteNetwork(id: $id) { id name } }', { id });
    return d.remoteNetwork !== null;
  }

  async connectorExists(id: string): Promise<boolean> {
    const d = await this.gql<{ connector: { id: string } | null }>('read Twingate connector', 'query Connector($id: ID!) { connector(id: $id) { id } }', { id });
    return d.connector !== null;
  }
}
