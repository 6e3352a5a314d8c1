/**
 * The Tailscale API v2, as documented (api.tailscale.com/api/v2): auth keys
 * under /tailnet/{tailnet}/keys, devices under /tailnet/{tailnet}/devices and
 * /device/{id}. Authenticates with an API access token (Bearer) or an OAuth
 * client (client-credentials exchange at /oauth/token). Only what a
 * break-glass session needs: one single-use, ephemeral, pre-authorized,
 * tagged key, the routes of the device it registered (enabled and read back),
 * and cleaning that device up.
 */
import { BreakglassError } from '../core/errors.js';
import { requestJson, type HttpOptions } from './http.js';

export type TailscaleAuth = { apiKey: string } | { oauthClientId: string; oauthClientSecret: string };

export interface TailscaleClientOptions {
  /** Default https://api.tailscale.com; tests point it at a local server. */
  baseUrl?: string;
  /** The tailnet name, or "-" for the credential's own tailnet. */
  tailnet: string;
  auth: TailscaleAuth;
  http?: HttpOptions;
}

/** A created auth key. `key` is a secret: never log or record it. */
export interface TailscaleAuthKey {
  id: string;
  key: string;
  expires: string;
}

export interface TailscaleDevice {
  id: string;
  nodeId?: string;
  hostname: string;
  name?: string;
  tags?: string[];
  /** Whether the node holds a connection to the control server now: "online". */
  connectedToControl?: boolean;
}

/** A device's subnet routes: what it offers, and what the tailnet lets through. */
export interface DeviceRoutes {
  advertisedRoutes: string[];
  enabledRoutes: string[];
}

/** The OAuth scopes a break-glass path needs: keys, devices (find, delete), routes (enable, read back). */
export const REQUIRED_SCOPES = ['auth_keys', 'devices:core', 'devices:routes'] as const;

export class TailscaleClient {
  private readonly base: string;
  private readonly opts: TailscaleClientOptions;
  private bearer?: { token: string; until: number; scopes: string[] };

  constructor(opts: TailscaleClientOptions) {
    this.opts = opts;
    this.base = `${(opts.baseUrl ?? 'https://api.tailscale.com').replace(/\/$/, '')}/api/v2`;
  }

  private tailnetPath(rest: string): string {
    return `${this.base}/tailnet/${encodeURIComponent(this.opts.tailnet)}${rest}`;
  }

  private async authHeader(): Promise<Record<string, string>> {
    const a = this.opts.auth;
    if ('apiKey' in a) return { authorization: `Bearer ${a.apiKey}` };
    if (!this.bearer || this.bearer.until < Date.now() + 60_000) {
      // OAuth client credentials: form-encoded, answered with a short-lived access token.
      const res = await fetch(`${this.base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: a.oauthClientId, client_secret: a.oauthClientSecret, grant_type: 'client_credentials' }),
      });
      if (!res.ok) throw new BreakglassError('PROVIDER_AUTH', `Tailscale OAuth token exchange failed: HTTP ${res.status}`);
      const j = (await res.json()) as { access_token?: string; expires_in?: number; scope?: string };
      if (!j.access_token) throw new BreakglassError('PROVIDER_AUTH', 'Tailscale OAuth token exchange returned no access_token');
      this.bearer = { token: j.access_token, until: Date.now() + (j.expires_in ?? 3600) * 1000, scopes: (j.scope ?? '').split(/\s+/).filter(Boolean) };
    }
    return { authorization: `Bearer ${this.bearer.token}` };
  }

  private async call<T>(method: string, url: string, what: string, body?: unknown, accept?: number[]): Promise<{ status: number; body: T }> {
    return requestJson<T>({ method, url, what, body, accept, headers: await this.authHeader() }, this.opts.http);
  }

  /** A key that registers ONE device, which disappears when it goes offline, needs no approval, and carries `tags`. */
  async createAuthKey(input: { tags: string[]; expirySeconds: number; description: string; preauthorized?: boolean }): Promise<TailscaleAuthKey> {
    if (!input.tags.length) throw new BreakglassError('PROVIDER_CONFIG', 'Tailscale auth keys for break-glass must carry at least one tag');
    const body = {
      capabilities: { devices: { create: { reusable: false, ephemeral: true, preauthorized: input.preauthorized ?? true, tags: input.tags } } },
      expirySeconds: input.expirySeconds,
      description: input.description.slice(0, 50),
    };
    const res = await this.call<{ id?: string; key?: string; expires?: string }>('POST', this.tailnetPath('/keys'), 'create Tailscale auth key', body);
    if (!res.body?.id || !res.body.key) throw new BreakglassError('PROVIDER_FAILED', 'create Tailscale auth key: the answer has no id or key');
    return { id: res.body.id, key: res.body.key, expires: res.body.expires ?? '' };
  }

  /** Revokes a key; one already gone (404) is success. */
  async deleteAuthKey(id: string): Promise<void> {
    await this.call('DELETE', this.tailnetPath(`/keys/${encodeURIComponent(id)}`), 'delete Tailscale auth key', undefined, [404]);
  }

  /** True when the key still exists and is neither revoked nor invalid. */
  async authKeyActive(id: string): Promise<boolean> {
    const res = await this.call<{ revoked?: string; invalid?: boolean }>('GET', this.tailnetPath(`/keys/${encodeURIComponent(id)}`), 'read Tailscale auth key', undefined, [404]);
    return res.status !== 404 && !res.body?.revoked && res.body?.invalid !== true;
  }

  /** The scopes an OAuth client was granted (from its token answer); undefined for an API access token, which has its owner's rights. */
  async grantedScopes(): Promise<string[] | undefined> {
    if ('apiKey' in this.opts.auth) return undefined;
    await this.authHeader();
    return this.bearer?.scopes;
  }

  /** Lists auth keys (id and description): how teardown finds a key a crash forgot to record. */
  async listAuthKeys(): Promise<{ id: string; description?: string }[]> {
    const res = await this.call<{ keys?: { id: string; description?: string }[] }>('GET', this.tailnetPath('/keys'), 'list Tailscale auth keys');
    return res.body?.keys ?? [];
  }

  /** The subnet routes a device advertises and which of them are enabled. */
  async deviceRoutes(id: string): Promise<DeviceRoutes> {
    const res = await this.call<Partial<DeviceRoutes>>('GET', `${this.base}/device/${encodeURIComponent(id)}/routes`, 'read Tailscale device routes');
    return { advertisedRoutes: res.body?.advertisedRoutes ?? [], enabledRoutes: res.body?.enabledRoutes ?? [] };
  }

  /** Replaces the device's enabled routes with `routes`; answers what the tailnet now has. */
  async setDeviceRoutes(id: string, routes: readonly string[]): Promise<DeviceRoutes> {
    const res = await this.call<Partial<DeviceRoutes>>('POST', `${this.base}/device/${encodeURIComponent(id)}/routes`, 'enable Tailscale device routes', { routes });
    return { advertisedRoutes: res.body?.advertisedRoutes ?? [], enabledRoutes: res.body?.enabledRoutes ?? [] };
  }

  async listDevices(): Promise<TailscaleDevice[]> {
    const res = await this.call<{ devices?: TailscaleDevice[] }>('GET', this.tailnetPath('/devices'), 'list Tailscale devices');
    return res.body?.devices ?? [];
  }

  /** Deletes a device; one already gone (404) is success. */
  async deleteDevice(id: string): Promise<void> {
    await this.call('DELETE', `${this.base}/device/${encodeURIComponent(id)}`, 'delete Tailscale device', undefined, [404]);
  }
}
