/**
 * Builds the runner's dependencies from its config file: the composition
 * root's work, kept out of the CLI file so benchmarks can assemble the same
 * runner in-process. The environment is passed in, never read here.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { loadAuditors, loadTrust } from '../adapters/trust.js';
import { readPrivateKey } from '../crypto/openpgp.js';
import { loadRunnerConfig, type ResolvedConfig } from './config.js';
import { directoryChannel, githubChannel, type Channel } from './channels.js';
import { BreakglassError } from '../core/errors.js';
import { claimStoreFor } from './claims.js';
import { buildTargets, type RunnerDeps } from './context.js';
import { RepoMirror } from './repo.js';
import { sealToKeys } from '../crypto/recording-seal.js';
import { Gateway } from './gateway/server.js';

export interface AssembleOptions {
  env: NodeJS.ProcessEnv;
  now: () => number;
  log: (line: string) => void;
  afterStep?: (step: string) => Promise<void>;
}

function channelFor(config: ResolvedConfig, mirror: RepoMirror, env: NodeJS.ProcessEnv): Channel {
  if ('directory' in config.delivery) return directoryChannel(config.delivery.directory);
  const { tokenEnv, apiUrl } = config.delivery.github;
  const token = env[tokenEnv];
  if (!token) throw new BreakglassError('CONFIG_INVALID', `delivery.github.tokenEnv names ${tokenEnv}, which is not set in the runner's environment`);
  return githubChannel({ token, apiUrl, repository: config.repository.name, mirror });
}

export async function assembleRunner(configFile: string, o: AssembleOptions): Promise<RunnerDeps> {
  const config = await loadRunnerConfig(configFile);
  await mkdir(config.state, { recursive: true, mode: 0o700 });
  if ('directory' in config.delivery) await mkdir(config.delivery.directory, { recursive: true, mode: 0o700 });
  const signingKey = await readPrivateKey(await readFile(config.signingKey, 'utf8'), o.env.BREAKGLASS_SIGNING_PASSPHRASE);
  const mirror = new RepoMirror(join(config.state, 'repo.git'), config.repository.url, config.repository.branch);
  await mirror.ensure();
  return {
    config,
    trust: await loadTrust(config.trust),
    auditors: (await loadAuditors(config.trust)).flatMap((a) => a.keys),
    signingKey,
    publicKey: signingKey.toPublic().armor(),
    fingerprint: signingKey.getFingerprint().toUpperCase(),
    // In a pod this is the pod name (deploy/runner.yaml); two replicas never share it.
    runnerId: o.env.BREAKGLASS_RUNNER_ID || hostname(),
    targets: await buildTargets(config),
    mirror,
    channel: channelFor(config, mirror, o.env),
    env: o.env,
    now: o.now,
    delay: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: o.log,
    afterStep: o.afterStep ?? (async () => {}),
    revocationAttempts: Number(o.env.BREAKGLASS_REVOCATION_ATTEMPTS ?? 90),
    staleActivationMs: 2 * 60 * 1000,
    preflightFailures: new Map(),
    claims: claimStoreFor(config),
  };
}

/**
 * The session gateway for a long-running runner whose config has `gateway:`
 * (issue 12). Started here, not in `assembleRunner`: `--once` and `--dry-run`
 * serve no gateway, so they never activate a recorded session.
 */
export async function startGateway(d: RunnerDeps): Promise<Gateway | undefined> {
  const g = d.config.gateway;
  if (!g) return undefined;
  const auditors = d.auditors;
  const gateway = new Gateway({ listen: g.listen, certificate: g.certificate, key: g.key, targets: d.targets, signingKey: d.signingKey, seal: (pt) => sealToKeys(auditors, pt), now: d.now, log: d.log });
  await gateway.start();
  return gateway;
}
