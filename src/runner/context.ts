/**
 * What the reconcile loop works with, assembled once by the entry point:
 * settings, trust, the runner's key, one target per configured resource,
 * the repository mirror, and the injected clock, delay, log and fault hook.
 */
import { readFile } from 'node:fs/promises';
import type { HttpOptions } from '../adapters/http.js';
import { RawKube } from '../adapters/kube-raw.js';
import { join } from 'node:path';
import { Kube, loadKubeConfig, tokenKubeConfig } from '../adapters/kubernetes.js';
import type { SessionPlan } from '../core/plan.js';
import type { TrustMaterial } from '../core/trust.js';
import type { PrivateKey, PublicKey } from '../crypto/openpgp.js';
import type { ResolvedConfig } from './config.js';
import type { Claims } from './claims.js';
import { failureCode } from './failure-code.js';
import { FileMarkerStore } from './file-markers.js';
import { checkedMarkers, MarkerStore, type Markers } from './marker.js';
import type { RepoMirror } from './repo.js';
import type { Channel } from './channels.js';
import type { RunnerLog } from './log.js';
import type { RunnerMetrics } from './metrics.js';
import type { Gateway } from './gateway/server.js';
import type { Notifier } from './notify.js';

/** One configured resource: the cluster where its sessions are assembled and their markers kept. */
export interface Target {
  resource: string;
  /** The resource's runner config entry (tailscale/twingate settings). */
  config: ResolvedConfig['resources'][string];
  kube: Kube;
  /** The same cluster as plain JSON: provider objects are applied exactly as written. */
  raw: RawKube;
  namespace: string;
  markers: Markers;
  /** True for a `markers: file` resource: no cluster is ever touched for it. */
  clusterless: boolean;
  /** What the vendor's kubeconfig points at; '' when not configured (allowed for command and vendor-held resources only). */
  server: string;
  caPem?: string;
  /** Recorded sessions (issue 12): what the vendor's kubeconfig points at instead of `server`, and the gateway's CA. */
  gateway?: { url: string; caPem?: string };
}

export interface RunnerDeps {
  config: ResolvedConfig;
  trust: TrustMaterial;
  signingKey: PrivateKey;
  /** The runner's public key, armored: the token is sealed to it in the marker, for revocation after a restart. */
  publicKey: string;
  fingerprint: string;
  runnerId: string;
  targets: Map<string, Target>;
  mirror: RepoMirror;
  /** Where sealed credentials are delivered (runner config `delivery`). */
  channel: Channel;
  /** The runner's environment: provider API keys and command pass-through variables are read from it by name. */
  env: NodeJS.ProcessEnv;
  /** Retry settings for provider APIs (tests shorten the backoff). */
  http?: HttpOptions;
  now(): number;
  delay(ms: number): Promise<void>;
  log: RunnerLog;
  /** Prometheus metrics; absent in tests and benchmarks that do not look at them. */
  metrics?: RunnerMetrics;
  /** Called after each activation step; tests use it to kill the process there. */
  afterStep(step: string): Promise<void>;
  /** How many TokenReview polls (1 s apart) before revocation is declared unproven. */
  revocationAttempts: number;
  /** Set for a dry run: receives each plan instead of the applier. */
  dryRun?: (plan: SessionPlan) => void;
  /** An activation left "activating" this long by another runner is taken to be dead and rolled back. */
  staleActivationMs: number;
  /** The installation-wide claims of session ids; without it nothing activates (fail closed). */
  claims?: Claims;
  /** Provider preflights that failed, by `<resource>/<network>`: what is missing (never a secret). */
  preflightFailures: Map<string, string>;
  /** The trust file's auditors' keys (issue 12): recordings are sealed to every one of them. */
  auditors: PublicKey[];
  /** The session gateway this process serves (issue 12); absent for `--once`, `--dry-run` and runners without `gateway:`. */
  gateway?: Gateway;
  /** Notifications (runner config `notify`); absent when none are configured. Never awaited by activation or teardown. */
  notifier?: Notifier;
}

/** Builds a target per configured resource. */
export async function buildTargets(config: ResolvedConfig): Promise<Map<string, Target>> {
  const out = new Map<string, Target>();
  for (const [resource, r] of Object.entries(config.resources)) {
    if (r.markers === 'file') {
      // Never used (every cluster step is skipped for it); if one ever were, it fails loudly instead of finding a cluster.
      const none = tokenKubeConfig('https://no-cluster.invalid', undefined, 'none');
      out.set(resource, {
        resource,
        config: r,
        kube: new Kube(none),
        raw: new RawKube(none),
        namespace: r.namespace,
        markers: checkedMarkers(new FileMarkerStore(join(config.state, 'markers', resource))),
        clusterless: true,
        server: '',
      });
      continue;
    }
    const kc = loadKubeConfig(r.kubeconfig);
    const kube = new Kube(kc);
    const caPem = r.certificateAuthority ? await readFile(r.certificateAuthority, 'utf8') : undefined;
    const gateway = r.gateway && { url: r.gateway.url, caPem: r.gateway.certificateAuthority ? await readFile(r.gateway.certificateAuthority, 'utf8') : undefined };
    out.set(resource, {
      resource,
      config: r,
      kube,
      raw: new RawKube(kc),
      namespace: r.namespace,
      markers: checkedMarkers(new MarkerStore(kube, r.namespace)),
      clusterless: false,
      server: r.server ?? '',
      caPem,
      gateway,
    });
  }
  return out;
}

/** Wraps a step so that any error is tagged with the step it happened in (for the failure record). */
export class StepError extends Error {
  readonly step: string;
  readonly code: string;
  constructor(step: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.step = step;
    this.code = failureCode(cause, step);
  }
}
