/**
 * Provider preflight: for every resource configured with a Tailscale or
 * Twingate path, check — without opening a path — that the credentials are
 * set, accepted, and hold every scope/permission a session needs, and print
 * the checklist. Run at runner start (and by `runner --check`, issue 15).
 * A path whose preflight fails is refused for new sessions, before any
 * marker exists, with the missing items named (PROVIDER_PREFLIGHT, retried
 * every loop); it is re-checked each time a session asks for it, so fixing
 * the scopes needs no restart. Teardown never
 * depends on preflight: an open session always ends.
 */
import type { Network } from '../core/schemas.js';
import type { RunnerDeps, Target } from './context.js';
import { networkProvider } from './providers/index.js';
import type { PreflightCheck } from './providers/types.js';
import { providerSetup } from './teardown.js';
import { messageOf } from '../crypto/error-parts.js';

/** One provider's checklist for one resource. */
export interface PreflightResult {
  resource: string;
  network: Network;
  checks: PreflightCheck[];
}

const NETWORKS_WITH_CREDENTIALS = ['tailscale', 'twingate'] as const;

/** The networks `t` is configured for that hold outside credentials. */
function configured(t: Target): Network[] {
  return NETWORKS_WITH_CREDENTIALS.filter((n) => t.config[n] !== undefined);
}

/** Runs one provider's preflight; a provider that cannot even be built fails its single line. */
export async function preflightOne(d: RunnerDeps, t: Target, network: Network): Promise<PreflightResult> {
  let checks: PreflightCheck[];
  try {
    const provider = await networkProvider(network, providerSetup(d, t));
    checks = (await provider.preflight?.()) ?? [];
  } catch (e) {
    checks = [{ need: `${network} provider usable`, ok: false, detail: messageOf(e) }];
  }
  const failed = checks.filter((c) => !c.ok);
  const key = `${t.resource}/${network}`;
  if (failed.length) d.preflightFailures.set(key, failed.map((c) => `${c.need}${c.detail ? ` (${c.detail})` : ''}`).join('; '));
  else d.preflightFailures.delete(key);
  return { resource: t.resource, network, checks };
}

/** Every configured provider's checklist, logged line by line: `ok` or `MISSING` and what was seen. */
export async function preflightAll(d: RunnerDeps): Promise<PreflightResult[]> {
  const results: PreflightResult[] = [];
  for (const t of d.targets.values()) {
    for (const network of configured(t)) {
      const r = await preflightOne(d, t, network);
      for (const c of r.checks) d.log(`preflight ${r.resource} ${r.network}: ${c.ok ? 'ok' : 'MISSING'}: ${c.need}${c.ok || !c.detail ? '' : ` — ${c.detail}`}`);
      results.push(r);
    }
  }
  return results;
}

/** Why a new session may not use `network` on `t` (its preflight still fails), or undefined. */
export async function preflightRefusal(d: RunnerDeps, t: Target, network: Network): Promise<string | undefined> {
  if (!d.preflightFailures.has(`${t.resource}/${network}`)) return undefined;
  await preflightOne(d, t, network);
  const still = d.preflightFailures.get(`${t.resource}/${network}`);
  return still && `network ${network} on ${t.resource} is missing: ${still}`;
}
