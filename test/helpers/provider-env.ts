/**
 * A RunnerEnv whose approved policy and runner config use every provider:
 * `prod-eu` (kubernetes) over tailscale, twingate or a pinned NetworkPolicy
 * manifest; `bad-pin` (a manifest whose bytes are not the pinned ones);
 * `orders-db` (a command credential with revoke); `vendor-box` (vendor-held,
 * over a NetworkPolicy). The Tailscale and Twingate APIs are the local fakes.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RawKube } from '../../src/adapters/kube-raw.js';
import type { ClusterInfo } from '../../src/dev/local-cluster.js';
import { TailscaleFake } from '../fakes/tailscale-api.js';
import { TwingateFake } from '../fakes/twingate-api.js';
import { RunnerEnv } from './runner-env.js';

export const MANIFEST_PATH = 'policies/networkpolicies/vendor-to-api.yaml';

/** A manifest with `from` and `ports`: the client-node typed model would drop `from`. */
export function manifestText(namespace: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: vendor-to-api
  namespace: ${namespace}
spec:
  podSelector:
    matchLabels: { app: api }
  policyTypes: [Ingress]
  ingress:
    - from:
        - ipBlock: { cidr: 100.64.0.0/10 }
      ports:
        - { protocol: TCP, port: 8443 }
`;
}

const MINT = `#!/bin/sh
# Prints a fresh secret for the database named in $1: the credential.
printf 'pw-%s-%s' "$1" "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \\n')"
`;
const REVOKE = `#!/bin/sh
printf '%s %s\\n' "$1" "$BREAKGLASS_SESSION" >> "$(dirname "$0")/revoked.log"
`;

/**
 * Writes the approved mint and revoke scripts into `dir` and returns the
 * policy's `db-password` command, pinning both by their SHA-256.
 */
export function dbPasswordCommand(dir: string, scripts: { mint: string; revoke: string } = { mint: MINT, revoke: REVOKE }) {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of [
    ['mint.sh', scripts.mint],
    ['revoke.sh', scripts.revoke],
  ] as const) {
    writeFileSync(join(dir, name), body);
    chmodSync(join(dir, name), 0o755);
  }
  const sha = (f: string) =>
    createHash('sha256')
      .update(readFileSync(join(dir, f)))
      .digest('hex');
  return {
    name: 'db-password',
    run: ['mint.sh', '{database}'],
    inputs: { database: '^(orders|billing)$' },
    revoke: ['revoke.sh', '{database}'],
    sha256: sha('mint.sh'),
    revokeSha256: sha('revoke.sh'),
  };
}

export class ProviderEnv extends RunnerEnv {
  readonly tailscale = new TailscaleFake('example.com');
  readonly twingate = new TwingateFake();
  /** Where the allow NetworkPolicy goes: not the runner's namespace, to show it is found cluster-wide. */
  readonly appNamespace = `${this.namespace}-app`;
  readonly commandsDir = join(this.root, 'etc', 'commands');
  readonly raw: RawKube;

  constructor(cluster: ClusterInfo) {
    super(cluster);
    this.raw = new RawKube(this.admin());
  }

  /** The runner's environment: the provider API keys (and the Tailscale OAuth client), by the names the config gives. */
  get providerEnv(): NodeJS.ProcessEnv {
    return { TS_API_KEY: this.tailscale.apiKey, TG_API_KEY: this.twingate.apiKey, TS_OAUTH_ID: this.tailscale.oauth.id, TS_OAUTH_SECRET: this.tailscale.oauth.secret };
  }

  /** Settings merged over prod-eu's tailscale and twingate sections (e.g. a short readinessTimeout). */
  private overrides: { tailscale?: Record<string, unknown>; twingate?: Record<string, unknown> } = {};

  /** Rewrites the runner config with these provider settings (the next `run()` reads them). */
  reconfigure(overrides: { tailscale?: Record<string, unknown>; twingate?: Record<string, unknown> }): void {
    this.overrides = overrides;
    writeFileSync(this.configFile, this.configYaml());
  }

  override async setup(): Promise<this> {
    await this.tailscale.start();
    await this.twingate.start();
    await super.setup();
    const r = await this.raw.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.appNamespace } });
    if (r.status !== 201) throw new Error(`cannot create ${this.appNamespace}: HTTP ${r.status}`);
    return this;
  }

  override async cleanup(): Promise<void> {
    await this.tailscale.stop();
    await this.twingate.stop();
    await this.raw.send('DELETE', `/api/v1/namespaces/${this.appNamespace}`);
    await super.cleanup();
  }

  protected override policyResources(maxDuration: string): unknown[] {
    const bytes = Buffer.from(manifestText(this.appNamespace));
    this.write(MANIFEST_PATH, bytes.toString());
    const pin = { manifest: MANIFEST_PATH, sha256: createHash('sha256').update(bytes).digest('hex') };
    const wrongPin = { manifest: MANIFEST_PATH, sha256: createHash('sha256').update('other bytes').digest('hex') };
    const command = dbPasswordCommand(this.commandsDir);
    return [
      {
        name: 'prod-eu',
        type: 'kubernetes',
        privileges: ['view', 'cluster-admin', `edit:${this.appNamespace}`],
        maxDuration,
        network: ['direct', 'tailscale', 'twingate', 'networkpolicy'],
        networkPolicy: pin,
      },
      { name: 'bad-pin', type: 'kubernetes', privileges: ['view'], maxDuration, network: ['networkpolicy'], networkPolicy: wrongPin },
      { name: 'orders-db', type: 'command', privileges: ['read-write'], maxDuration, network: ['direct'], commands: [command] },
      { name: 'vendor-box', type: 'vendor-held', privileges: ['ssh'], maxDuration, network: ['networkpolicy'], networkPolicy: pin },
    ];
  }

  protected override runnerResources(): { resources: Record<string, unknown>; extra?: Record<string, unknown> } {
    const cluster = { kubeconfig: this.runnerKubeconfig, namespace: this.namespace };
    const kube = { ...cluster, server: this.cluster.server, certificateAuthority: this.cluster.caFile };
    return {
      resources: {
        'prod-eu': {
          ...kube,
          tailscale: {
            tailnet: 'example.com',
            apiUrl: this.tailscale.url,
            apiKeyEnv: 'TS_API_KEY',
            tags: ['tag:breakglass'],
            routes: ['10.96.0.0/12'],
            readinessTimeout: '30s',
            ...this.overrides?.tailscale,
          },
          twingate: {
            url: `${this.twingate.url}/api/graphql/`,
            network: 'acme',
            apiKeyEnv: 'TG_API_KEY',
            remoteNetworkId: this.twingate.remoteNetworkId,
            readinessTimeout: '30s',
            ...this.overrides?.twingate,
          },
        },
        'bad-pin': kube,
        // No server: command and vendor-held resources have no kubeconfig to hand out.
        'orders-db': cluster,
        'vendor-box': cluster,
      },
      extra: { commands: { path: this.commandsDir, timeout: '10s' } },
    };
  }

  /** Everything the runner printed in `reconcile`, for "no secret in the logs". */
  readonly logs: string[] = [];

  /** The runner with the provider API keys in its environment. */
  run(env: NodeJS.ProcessEnv = {}) {
    return this.runner(['--once'], { ...this.providerEnv, ...env });
  }

  /** One `runner --once` that must exit 0; its output is kept in `logs`. */
  async reconcile() {
    const r = await this.run();
    this.logs.push(r.stdout, r.stderr);
    if (r.code !== 0) throw new Error(`runner exited ${r.code}: ${r.stderr}`);
    return r;
  }

  revokedLog(): string {
    try {
      return readFileSync(join(this.commandsDir, 'revoked.log'), 'utf8');
    } catch {
      return '';
    }
  }
}
