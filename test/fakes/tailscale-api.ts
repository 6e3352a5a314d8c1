/**
 * A local Tailscale API v2, following its public documentation: Bearer (or
 * Basic, key as user name) auth with an API access token, or an OAuth
 * client-credentials exchange; auth keys under /api/v2/tailnet/{tailnet}/keys
 * (create answers id, key, created, expires, capabilities); devices under
 * /api/v2/tailnet/{tailnet}/devices and /api/v2/device/{id}. Errors are JSON
 * `{ "message": ... }` with 400/401/404, and 429 with Retry-After.
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
}

export class TailscaleFake extends HttpFake {
  readonly keys = new Map<string, FakeKey>();
  readonly devices = new Map<string, FakeDevice>();
  readonly apiKey = `tskey-api-${randomBytes(8).toString('hex')}`;
  readonly oauth = { id: `k${randomBytes(4).toString('hex')}CNTRL`, secret: `tskey-client-${randomBytes(8).toString('hex')}` };
  private readonly bearerTokens = new Set<string>();

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
    const dev = { id, nodeId: `n${randomBytes(5).toString('hex')}CNTRL`, hostname, name: `${hostname}.tail-fake.ts.net`, tags: k.capabilities.devices.create.tags, advertisedRoutes: routes };
    this.devices.set(dev.nodeId, dev);
    return dev;
  }

  private authorized(header: string | undefined): boolean {
    if (!header) return false;
    if (header.startsWith('Bearer ')) {
      const t = header.slice(7);
      return t === this.apiKey || this.bearerTokens.has(t);
    }
    if (header.startsWith('Basic ')) return Buffer.from(header.slice(6), 'base64').toString().split(':')[0] === this.apiKey;
    return false;
  }

  private route(method: string, url: URL, auth: string | undefined, body: string): { status: number; body?: unknown } {
    const p = url.pathname;
    if (method === 'POST' && p === '/api/v2/oauth/token') {
      const form = new URLSearchParams(body);
      if (form.get('client_id') !== this.oauth.id || form.get('client_secret') !== this.oauth.secret) return { status: 401, body: { message: 'invalid client credentials' } };
      const token = `tskey-oauth-${randomBytes(8).toString('hex')}`;
      this.bearerTokens.add(token);
      return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 3600, scope: 'auth_keys devices:core' } };
    }
    if (!this.authorized(auth)) return { status: 401, body: { message: 'API token invalid' } };
    const tn = `/api/v2/tailnet/${encodeURIComponent(this.tailnet)}`;
    const alias = '/api/v2/tailnet/-';
    const rest = p.startsWith(tn) ? p.slice(tn.length) : p.startsWith(alias) ? p.slice(alias.length) : undefined;
    if (rest === '/keys' && method === 'POST') return this.createKey(body);
    const keyId = rest?.match(/^\/keys\/([^/]+)$/)?.[1];
    if (keyId) {
      const k = this.keys.get(keyId);
      if (!k) return { status: 404, body: { message: 'key not found' } };
      if (method === 'GET') return { status: 200, body: { id: k.id, created: k.created, expires: k.expires, capabilities: k.capabilities, revoked: k.revoked, invalid: !!k.revoked || k.uses > 0 } };
      if (method === 'DELETE') return this.keys.delete(keyId), { status: 200 };
    }
    if (rest === '/devices' && method === 'GET') return { status: 200, body: { devices: [...this.devices.values()] } };
    const devId = p.match(/^\/api\/v2\/device\/([^/]+)$/)?.[1];
    if (devId && method === 'DELETE') {
      const found = [...this.devices.values()].find((d) => d.nodeId === devId || d.id === devId);
      if (!found) return { status: 404, body: { message: 'device not found' } };
      this.devices.delete(found.nodeId);
      return { status: 200 };
    }
    return { status: 404, body: { message: `no route ${method} ${p}` } };
  }

  private createKey(body: string): { status: number; body: unknown } {
    let j: { capabilities?: { devices?: { create?: FakeKey['capabilities']['devices']['create'] } }; expirySeconds?: number; description?: string };
    try {
      j = JSON.parse(body);
    } catch {
      return { status: 400, body: { message: 'invalid JSON' } };
    }
    const create = j.capabilities?.devices?.create;
    if (!create) return { status: 400, body: { message: 'exactly one capability scope must be populated' } };
    if (j.description && !/^[A-Za-z0-9 -]{0,50}$/.test(j.description)) return { status: 400, body: { message: 'description contains invalid characters' } };
    const now = Date.now();
    const k: FakeKey = {
      id: `k${randomBytes(5).toString('hex')}CNTRL`,
      key: `tskey-auth-${randomBytes(16).toString('hex')}`,
      created: new Date(now).toISOString(),
      expires: new Date(now + (j.expirySeconds ?? 90 * 86400) * 1000).toISOString(),
      capabilities: { devices: { create: { reusable: !!create.reusable, ephemeral: !!create.ephemeral, preauthorized: !!create.preauthorized, tags: create.tags ?? [] } } },
      description: j.description,
      uses: 0,
    };
    this.keys.set(k.id, k);
    return { status: 200, body: { id: k.id, key: k.key, created: k.created, expires: k.expires, capabilities: k.capabilities, description: k.description } };
  }
}
