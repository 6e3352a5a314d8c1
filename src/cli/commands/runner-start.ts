/**
 * `breakglass runner` once its --config file is known to exist: the checks,
 * then --check, --dry-run, --once or the loop. A module of its own because
 * it pulls in the Kubernetes client, which a refused command line never needs.
 */
import { assembleRunner, startGateway } from '../../runner/assemble.js';
import type { RunnerDeps } from '../../runner/context.js';
import { serveHealth } from '../../runner/health.js';
import type { RunnerLog } from '../../runner/log.js';
import { planOnce, reconcileOnce, runLoop } from '../../runner/loop.js';
import { RunnerMetrics } from '../../runner/metrics.js';
import { formatProblem, preflight, type PreflightProblem } from '../../runner/preflight.js';
import { preflightAll } from '../../runner/provider-preflight.js';
import type { CliIo, ExitCode } from '../io.js';
import type { RunnerOptions } from './runner.js';

/**
 * Each Tailscale/Twingate provider's own checklist against its API (the
 * credentials are accepted and hold every scope a session needs), as
 * `--check` problems. At start the same checklist is logged and a path whose
 * check fails makes its sessions wait (PROVIDER_PREFLIGHT), re-checked every loop.
 */
async function providerProblems(deps: RunnerDeps): Promise<PreflightProblem[]> {
  const out: PreflightProblem[] = [];
  for (const r of await preflightAll(deps))
    for (const c of r.checks.filter((x) => !x.ok))
      out.push({
        code: 'PREFLIGHT_PROVIDER_FAILED',
        message: `resource ${r.resource} (${r.network}): ${c.need}${c.detail ? ` — ${c.detail}` : ''}`,
        fix: `grant it to the ${r.network} credential (docs/guides/operator.md, network paths)`,
      });
  return out;
}

/** The loop with metrics and, when configured, the health and metrics endpoint. */
async function serve(deps: RunnerDeps, io: CliIo, log: RunnerLog): Promise<void> {
  const m = deps.config.metrics;
  const health = m && (await serveHealth({ listen: m.listen, metrics: deps.metrics!, pollSeconds: deps.config.pollSeconds, unreadyAfterPolls: m.unreadyAfterPolls, now: io.now, started: () => true }));
  if (health) log(`metrics: serving ${health.url}/metrics, /healthz, /readyz`, { event: 'metrics-listening' });
  const stop = new AbortController();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop.abort());
  deps.gateway = await startGateway(deps);
  try {
    await runLoop(deps, stop.signal);
  } finally {
    await deps.gateway?.stop();
    await health?.close();
  }
}

/** The runner's dependencies, or why they could not be assembled (never a rejected promise left unobserved). */
function assemble(configFile: string, io: CliIo, log: RunnerLog): Promise<{ deps: RunnerDeps } | { failed: unknown }> {
  const killAfter = io.env.BREAKGLASS_FAULT_KILL_AFTER;
  return assembleRunner(configFile, {
    env: io.env,
    now: io.now,
    log,
    // Fault injection for tests: die without any cleanup right after the named step.
    afterStep: async (step) => {
      if (killAfter === step) process.kill(process.pid, 'SIGKILL');
    },
  }).then(
    (deps) => ({ deps }),
    (failed: unknown) => ({ failed }),
  );
}

/** Runs the runner on an existing config file, as `breakglass runner` was asked to. */
export async function startRunner(configFile: string, opts: RunnerOptions, io: CliIo, log: RunnerLog, done: (code: ExitCode) => void): Promise<void> {
  // Assembly (local files only: state directory, git mirror, keys in memory) overlaps the checks to shorten a start;
  // nothing reaches a cluster or git until the checks have passed.
  const assembling = opts.check ? undefined : assemble(configFile, io, log);
  // The same checks for --check and for every start: nothing is minted on a configuration that could not finish the job.
  const checked = await preflight(configFile, { env: io.env });
  for (const p of checked.problems) log(`preflight: ${formatProblem(p)}`, { event: 'preflight', code: p.code, level: 'error' });
  if (opts.check) {
    // The providers' APIs are asked only once everything they need is present.
    if (checked.problems.length === 0 && checked.config) {
      const deps = await assembleRunner(configFile, { env: io.env, now: io.now, log, afterStep: async () => {} });
      for (const p of await providerProblems(deps)) {
        checked.problems.push(p);
        log(`preflight: ${formatProblem(p)}`, { event: 'preflight', code: p.code, level: 'error' });
      }
    }
    if (checked.problems.length === 0) io.out(`runner --check: ok (${checked.checks} checks passed)`);
    else log(`runner --check: ${checked.problems.length} problem${checked.problems.length === 1 ? '' : 's'} found`, { event: 'preflight-failed', level: 'error' });
    return done(checked.problems.length ? 2 : 0);
  }
  const refused = checked.problems.length > 0;
  if (refused)
    log('runner refuses to start: fix the problems above (`breakglass runner --check` lists them); only ending sessions that are due', {
      event: 'refused-start',
      code: checked.problems[0]!.code,
      level: 'error',
    });
  // A dry run changes nothing, not even a due teardown.
  if (!checked.config || (refused && opts.dryRun)) return done(2);
  const assembled = await assembling!;
  if ('failed' in assembled) {
    if (refused) return done(2);
    throw assembled.failed;
  }
  const deps = assembled.deps;
  deps.metrics = new RunnerMetrics();
  if (refused) {
    // Sessions already open still end on time and their records are pushed; nothing new is examined or minted.
    await reconcileOnce(deps, { activate: false });
    await deps.notifier?.idle();
    return done(2);
  }
  deps.log(`runner ${deps.runnerId} (key ${deps.fingerprint}) watching ${deps.config.repository.name} ${deps.config.repository.branch}`, { event: 'started' });
  // Provider credentials and scopes, checked before anything is asked of them (a dry run creates nothing, so skips it).
  if (!opts.dryRun) await preflightAll(deps);
  if (opts.dryRun) {
    const plans: unknown[] = [];
    deps.dryRun = (plan) => plans.push(plan);
    await planOnce(deps);
    io.out(JSON.stringify(plans, null, 2));
  } else if (opts.once) {
    await reconcileOnce(deps);
    // Sends are bounded by their timeout; the loop's work (teardowns, records) is already done.
    await deps.notifier?.idle();
  } else {
    await serve(deps, io, log);
  }
  done(0);
}
