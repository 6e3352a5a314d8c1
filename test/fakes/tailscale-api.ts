/**
 * A local Tailscale API v2 that behaves the way production does, from its
 * public documentation and its own code:
 *
 * - Auth: an API access token as Bearer (or Basic, token as user name), or an
 *   OAuth client-credentials exchange at /api/v2/oauth/token answering
 *   `access_token`, `expires_in` and the granted `scope` (space separated).
 * - Scopes (the OAuth scope list of the API reference): `auth_keys` for
 *   /tailnet/{t}/keys, `devices:core` for devices, `devices:routes` for
 *   /device/{id}/routes; `<scope>:read` allows GET only. A call outside the
 *   granted scopes answers 403 `{"message":"calling actor does not have enough
 *   permissions to perform this function"}` — the body Tailscale returns.
 * - Keys: capabilities.devices.create {reusable, ephemeral, preauthorized,
 *   tags}; tags must pass tailcfg.CheckTag (`tag:` then a letter, then letters,
 *   digits, dashes) and be owned by the credential (tagOwners), otherwise 400
 *   `requested tags [...] are invalid or not permitted`.
 * - Devices carry advertisedRoutes / enabledRoutes and connectedToControl.
 *   Routes a router advertises pass no traffic until enabled: through
 *   `POST /api/v2/device/{id}/routes {"routes": [...]}` (replaces the enabled
 *   set; the answer, like GET, is {advertisedRoutes, enabledRoutes}, and only
 *   advertised routes end up enabled), or by an `autoApprovers` entry in the
 *   tailnet policy naming a tag the device carries.
 * - Errors are JSON `{ "message": ... }` with 400/401/403/404, 429 with Retry-After.
 *
 * `register`, `disconnect` and `reconnect` play the tailscale node (containerboot).
 */
import { randomBytes } from 'node:crypto';
import { HttpFake } from './http-fake.js';

export interface FakeKey {
  id: string;
  key: string;
  created: string;
  expires: string;
  capabilities: { devices: { create: { reusable: boolean; ephemeral: boolean; preauthorized: boolean; tags: string[] } } };
  description?: string;
  uses: number;
  revoked?: string;
}

export interface FakeDevice {
  id: string;
  nodeId: string;
  hostname: string;
  name: string;
  tags: string[];
  advertisedRoutes: string[];
  enabledRoutes: string[];
  connectedToControl: boolean;
  lastSeen: string;
  /** The node's key: what the router keeps in its state Secret and presents again after a restart. */
  nodeKey: string;
}

export const FORBIDDEN = { message: 'calling actor does not have enough permissions to perform this function' };
export const ALL_SCOPES = ['auth_keys', 'devices:core', 'devices:routes'];

/** tailcfg.CheckTag, as the control server applies it. */
export function tagValid(tag: string): boolean {
  return /^tag:[A-Za-z][A-Za-z0-9-]*$/.test(tag);
}

type Answer = { status: number; body?: unknown };

export class TailscaleFake extends HttpFake {
  readonly keys = new Map<string, FakeKey>();
  readonly devices = new Map<string, FakeDevice>();
  readonly apiKey = `tskey-api-${randomBytes(8).toString('hex')}`;
  /** The OAuth client; `scopes` is what it was granted in the admin console. */
  readonly oauth = { id: `k${randomBytes(4).toString('hex')}CNTRL`, secret: `tskey-client-${randomBytes(8).toString('hex')}`, scopes: [...ALL_SCOPES] };
  /** Tags the credential may put on keys (tagOwners in the tailnet policy). */
  tagOwners = new Set(['tag:breakglass']);
  /** The tailnet policy's autoApprovers.routes: CIDR -> tags whose devices get it enabled on advertising. */
  autoApprovers: Record<string, string[]> = {};
  /** 'refuse': POST routes answers 200 but enables nothing (a tailnet that will not enable them). */
  routeMode: 'normal' | 'refuse' = 'normal';
  private readonly bearerTokens = new Map<string, string[]>();

  readonly tailnet: string;

  constructor(tailnet = 'example.com') {
    super((req, url) => this.route(req.method, url, req.headers.authorization, req.body));
    this.tailnet = tailnet;
  }

  /** What a tailscale node does with the key: register one device (the key is single-use unless reusable). */
  register(authKey: string, hostname: string, routes: string[]): FakeDevice {
    const k = [...this.keys.values()].find((x) => x.key === authKey);
    if (!k || k.revoked || Date.parse(k.expires) < Date.now()) throw new Error('invalid key');
    if (!k.capabilities.devices.create.reusable && k.uses > 0) throw new Error('key already used');
    k.uses++;
    const id = String(Math.floor(Math.random() * 1e12));
    const tags = k.capabilities.devices.create.tags;
    const enabled = routes.filter((r) => (this.autoApprovers[r] ?? []).some((t) => tags.includes(t)));
    const dev: FakeDevice = {
      id,
      nodeId: `n${randomBytes(5).toString('hex')}CNTRL`,
      hostname,
      name: `${hostname}.tail-fake.ts.net`,
      tags,
      advertisedRoutes: routes,
      enabledRoutes: enabled,
      connectedToControl: true,
      lastSeen: new Date().toISOString(),
      nodeKey: `nodekey:${randomBytes(16).toString('hex')}`,
    };
    this.devices.set(dev.nodeId, dev);
    return dev;
  }

  /** The node went away (pod killed): the device stays, offline. */
  disconnect(nodeId: string): void {
    const d = this.devices.get(nodeId);
    if (d) d.connectedToControl = false;
  }

  /** A node that kept its state comes back as the same device; one without it has nothing to present. */
  reconnect(nodeKey: string): FakeDevice {
    const d = [...this.devices.values()].find((x) => x.nodeKey === nodeKey);
    if (!d) throw new Error('unknown node key: the node must log in again');
    d.connectedToControl = true;
    d.lastSeen = new Date().toISOString();
    return d;
  }

  deviceNamed(hostname: string): FakeDevice | undefined {
    return [...this.devices.values()].find((d) => d.hostname === hostname);
  }

  /** The scopes the request's credential holds; undefined when it is not authenticated. */
  private scopesOf(header: string | undefined): string[] | undefined {
    if (!header) return undefined;
    if (header.startsWith('Bearer ')) {
      const t = header.slice(7);
      return t === this.apiKey ? ALL_SCOPES : this.bearerTokens.get(t);
    }
    if (header.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString().split(':')[0] === this.apiKey ? ALL_SCOPES : undefined;
    return undefined;
  }

  private token(body: string): Answer {
    const form = new URLSearchParams(body);
    if (form.get('client_id') !== this.oauth.id || form.get('client_secret') !== this.oauth.secret) return { status: 401, body: { message: 'invalid client credentials' } };
    const token = `tskey-oauth-${randomBytes(8).toString('hex')}`;
    this.bearerTokens.set(token, [...this.oauth.scopes]);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 3600, scope: this.oauth.scopes.join(' ') } };
  }

  private route(method: string, url: URL, auth: string | undefined, body: string): Answer {
    const p = url.pathname;
    if (method === 'POST' && p === '/api/v2/oauth/token') return this.token(body);
    const scopes = this.scopesOf(auth);
    if (!scopes) return { status: 401, body: { message: 'API token invalid' } };
    const may = (scope: string) => scopes.includes(scope) || (method === 'GET' && scopes.includes(`${scope}:read`));
    const tn = `/api/v2/tailnet/${encodeURIComponent(this.tailnet)}`;
    const alias = '/api/v2/tailnet/-';
    const rest = p.startsWith(tn) ? p.slice(tn.length) : p.startsWith(alias) ? p.slice(alias.length) : undefined;
    if (rest === '/keys' || rest?.startsWith('/keys/')) return may('auth_keys') ? this.keyRoute(method, rest, body) : { status: 403, body: FORBIDDEN };
    if (rest === '/devices' && method === 'GET') return may('devices:core') ? { status: 200, body: { devices: [...this.devices.values()].map(publicDevice) } } : { status: 403, body: FORBIDDEN };
    const m = p.match(/^\/api\/v2\/device\/([^/]+)(\/routes)?$/);
    if (m) {
      const scope = m[2] ? 'devices:routes' : 'devices:core';
      if (!may(scope)) return { status: 403, body: FORBIDDEN };
      const found = [...this.devices.values()].find((d) => d.nodeId === m[1] || d.id === m[1]);
      if (!found) return { status: 404, body: { message: 'device not found' } };
      return m[2] ? this.routesRoute(method, found, body) : this.deviceRoute(method, found);
    }
    return { status: 404, body: { message: `no route ${method} ${p}` } };
  }

  private keyRoute(method: string, rest: string, body: string): Answer {
    if (rest === '/keys' && method === 'POST') return this.createKey(body);
    if (rest === '/keys' && method === 'GET') return { status: 200, body: { keys: [...this.keys.values()].map((k) => ({ id: k.id, description: k.description })) } };
    const keyId = rest.match(/^\/keys\/([^/]+)$/)?.[1] ?? '';
    const k = this.keys.get(keyId);
    if (!k) return { status: 404, body: { message: 'key not found' } };
    if (method === 'GET') return { status: 200, body: { id: k.id, created: k.created, expires: k.expires, capabilities: k.capabilities, revoked: k.revoked, invalid: !!k.revoked || k.uses > 0 } };
    if (method === 'DELETE') return this.keys.delete(keyId), { status: 200 };
    return { status: 404, body: { message: `no route ${method} keys` } };
  }

  private deviceRoute(method: string, d: FakeDevice): Answer {
    if (method === 'GET') return { status: 200, body: publicDevice(d) };
    if (method === 'DELETE') return this.devices.delete(d.nodeId), { status: 200 };
    return { status: 404, body: { message: `no route ${method} device` } };
  }

  private routesRoute(method: string, d: FakeDevice, body: string): Answer {
    if (method === 'POST') {
      let j: { routes?: unknown };
      try {
        j = JSON.parse(body);
      } catch {
        return { status: 400, body: { message: 'invalid JSON' } };
      }
      if (!Array.isArray(j.routes)) return { status: 400, body: { message: 'routes must be an array' } };
      // Only advertised routes take effect; a tailnet that refuses keeps the set as it was.
      if (this.routeMode === 'normal') d.enabledRoutes = (j.routes as string[]).filter((r) => d.advertisedRoutes.includes(r));
    } else if (method !== 'GET') return { status: 404, body: { message: `no route ${method} routes` } };
    return { status: 200, body: { advertisedRoutes: d.advertisedRoutes, enabledRoutes: d.enabledRoutes } };
  }

  private createKey(body: string): Answer {
    let j: { capabilities?: { devices?: { create?: FakeKey['capabilities']['devices']['create'] } }; expirySeconds?: number; description?: string };
    try {
      j = JSON.parse(body);
    } catch {
      return { status: 400, body: { message: 'invalid JSON' } };
    }
    const create = j.capabilities?.devices?.create;
    if (!create) return { status: 400, body: { message: 'exactly one capability scope must be populated' } };
    if (j.description && !/^[A-Za-z0-9 -]{0,50}$/.test(j.description)) return { status: 400, body: { message: 'description contains invalid characters' } };
    const tags = create.tags ?? [];
    const refused = tags.filter((t) => !tagValid(t) || !this.tagOwners.has(t));
    if (refused.length) return { status: 400, body: { message: `requested tags [${refused.join(' ')}] are invalid or not permitted` } };
    const now = Date.now();
    const k: FakeKey = {
      id: `k${randomBytes(5).toString('hex')}CNTRL`,
      key: `tskey-auth-${randomBytes(16).toString('hex')}`,
      created: new Date(now).toISOString(),
      expires: new Date(now + (j.expirySeconds ?? 90 * 86400) * 1000).toISOString(),
      capabilities: { devices: { create: { reusable: !!create.reusable, ephemeral: !!create.ephemeral, preauthorized: !!create.preauthorized, tags } } },
      description: j.description,
      uses: 0,
    };
    this.keys.set(k.id, k);
    return { status: 200, body: { id: k.id, key: k.key, created: k.created, expires: k.expires, capabilities: k.capabilities, description: k.description } };
  }
}

/** The device as the API shows it: the node key is the node's own, never in an API answer. */
function publicDevice(d: FakeDevice): Omit<FakeDevice, 'nodeKey'> {
  const { nodeKey: _k, ...rest } = d;
  return rest;
}
