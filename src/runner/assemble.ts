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
import { resolveChannels } from '../core/notify-config.js';
import { Notifier } from './notify.js';
import { messageOf } from '../crypto/error-parts.js';

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

/** A positive whole number from the environment (a tuning knob), or `fallback`. */
function knob(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new BreakglassError('CONFIG_INVALID', `${name} must be a whole number of milliseconds`);
  return Number(raw);
}

/**
 * The notifier, with every channel secret read now. A channel that cannot be
 * resolved (preflight has already reported it, and the runner then only ends
 * due sessions) leaves the runner without notifications rather than without
 * teardowns.
 */
function notifierFor(config: ResolvedConfig, o: AssembleOptions): Notifier | undefined {
  if (!config.notify?.length) return undefined;
  let channels: ReturnType<typeof resolveChannels>;
  try {
    channels = resolveChannels(config.notify, o.env);
  } catch (e) {
    o.log(`notify: ${e instanceof BreakglassError ? e.code : 'NOTIFY_CONFIG_INVALID'}: ${messageOf(e)}; no notifications are sent`);
    return undefined;
  }
  return new Notifier({
    stateDir: config.state,
    channels,
    now: o.now,
    log: o.log,
    timeoutMs: knob(o.env, 'BREAKGLASS_NOTIFY_TIMEOUT_MS', 10_000),
    backoffMs: knob(o.env, 'BREAKGLASS_NOTIFY_BACKOFF_MS', 5_000),
    maxRounds: 12,
  });
}

export async function assembleRunner(configFile: string, o: AssembleOptions): Promise<RunnerDeps> {
  const config = await loadRunnerConfig(configFile);
  const notifier = notifierFor(config, o);
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
    notifier,
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
  const gateway = new Gateway({
    listen: g.listen,
    certificate: g.certificate,
    key: g.key,
    targets: d.targets,
    signingKey: d.signingKey,
    seal: (pt) => sealToKeys(auditors, pt),
    now: d.now,
    log: d.log,
  });
  await gateway.start();
  return gateway;
}
