import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadTrust } from '../../adapters/trust.js';
import { readPrivateKey } from '../../crypto/openpgp.js';
import { loadRunnerConfig } from '../../runner/config.js';
import { buildTargets, type RunnerDeps } from '../../runner/context.js';
import { reconcileOnce, runLoop } from '../../runner/loop.js';
import { RepoMirror } from '../../runner/repo.js';
import type { CliIo, ExitCode } from '../io.js';

/** Assembles the runner from its config file; the only place that reads the runner's environment. */
async function buildDeps(io: CliIo, configFile: string): Promise<RunnerDeps> {
  const config = await loadRunnerConfig(join(io.cwd, configFile).startsWith('/') ? configFile : join(io.cwd, configFile));
  await mkdir(config.state, { recursive: true, mode: 0o700 });
  if ('directory' in config.delivery) await mkdir(config.delivery.directory, { recursive: true, mode: 0o700 });
  const signingKey = await readPrivateKey(await readFile(config.signingKey, 'utf8'), io.env.BREAKGLASS_SIGNING_PASSPHRASE);
  const mirror = new RepoMirror(join(config.state, 'repo.git'), config.repository.url, config.repository.branch);
  await mirror.ensure();
  const killAfter = io.env.BREAKGLASS_FAULT_KILL_AFTER;
  return {
    config,
    trust: await loadTrust(config.trust),
    signingKey,
    publicKey: signingKey.toPublic().armor(),
    fingerprint: signingKey.getFingerprint().toUpperCase(),
    runnerId: io.env.BREAKGLASS_RUNNER_ID || hostname(),
    targets: await buildTargets(config),
    mirror,
    now: io.now,
    delay: (ms) => new Promise((r) => setTimeout(r, ms)),
    log: (line) => io.err(`${new Date(io.now()).toISOString()} ${line}`),
    // Fault injection for tests: die without cleanup right after the named step.
    afterStep: async (step) => {
      if (killAfter === step) process.kill(process.pid, 'SIGKILL');
    },
    revocationAttempts: Number(io.env.BREAKGLASS_REVOCATION_ATTEMPTS ?? 90),
    staleActivationMs: 2 * 60 * 1000,
  };
}

export function registerRunner(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('runner')
    .description('run the in-account runner: poll the repository, activate approved sessions, tear down, record')
    .requiredOption('--config <file>', 'RunnerConfig file (paths inside are relative to it)')
    .option('--once', 'reconcile once and exit')
    .action(async (opts: { config: string; once?: boolean }) => {
      const deps = await buildDeps(io, opts.config);
      deps.log(`runner ${deps.runnerId} (key ${deps.fingerprint}) watching ${deps.config.repository.name} ${deps.config.repository.branch}`);
      if (opts.once) {
        await reconcileOnce(deps);
      } else {
        const stop = new AbortController();
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
        await runLoop(deps, stop.signal);
      }
      done(0);
    });
}
