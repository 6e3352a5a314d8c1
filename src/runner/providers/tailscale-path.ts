/**
 * Whether a Tailscale path carries traffic, judged through the Tailscale API:
 * the router's device is registered and online, and exactly the approved
 * subnet routes are enabled. Advertised routes pass nothing until the tailnet
 * enables them (POST /api/v2/device/{id}/routes, or an autoApprovers entry in
 * the tailnet policy), so "the pod is ready" proves nothing on its own.
 */
import type { Delay } from '../../adapters/http.js';
import { REQUIRED_SCOPES, type DeviceRoutes, type TailscaleClient, type TailscaleDevice } from '../../adapters/tailscale.js';
import { BreakglassError } from '../../core/errors.js';
import type { TailscaleConfig } from '../../core/schemas.js';
import { failureCode } from '../failure-code.js';
import { routerHostname } from './tailscale-router.js';
import type { PathProblem, PreflightCheck } from './types.js';
import { waitFor } from './workload.js';
import { messageOf } from '../../crypto/error-parts.js';

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
const extra = (enabled: readonly string[], approved: readonly string[]) => enabled.filter((r) => !approved.includes(r));

/** The session's router device, when exactly one carries its hostname and the configured tags. */
async function routerDevice(api: TailscaleClient, session: string, config: TailscaleConfig): Promise<TailscaleDevice | undefined> {
  const found = (await api.listDevices()).filter((d) => d.hostname === routerHostname(session));
  // Two devices under the session's name: one is not ours. Fail closed rather than enable routes on the wrong one.
  if (found.length > 1) throw new BreakglassError('TAILSCALE_DEVICE_AMBIGUOUS', `${found.length} devices are named ${routerHostname(session)}; refusing to pick one`);
  const d = found[0];
  if (d && !sameSet(d.tags ?? [], config.tags))
    throw new BreakglassError('TAILSCALE_DEVICE_AMBIGUOUS', `device ${routerHostname(session)} carries tags [${(d.tags ?? []).join(', ')}], not the configured [${config.tags.join(', ')}]`);
  return d;
}

/** Waits until the router's device is registered and connected to the control server. */
export function waitOnline(api: TailscaleClient, session: string, config: TailscaleConfig, deadline: number, delay: Delay): Promise<TailscaleDevice> {
  return waitFor<TailscaleDevice>(
    deadline,
    delay,
    async () => {
      const d = await routerDevice(api, session, config);
      if (!d) return { seen: 'no device registered' };
      return d.connectedToControl ? { done: d } : { seen: 'device registered but offline' };
    },
    (seen) => new BreakglassError('TAILSCALE_DEVICE_OFFLINE', `the router ${routerHostname(session)} was not online in the tailnet before the readiness deadline (${seen})`),
  );
}

/**
 * Makes the device's enabled routes exactly the configured ones and reads
 * them back. `api`: waits for the router to advertise them, enables them,
 * reads back. `autoApprove`: sets nothing; waits for the tailnet policy to
 * enable them. Either way, an enabled route the policy did not approve
 * refuses the path, and so does a tailnet that will not enable them.
 */
export async function enableRoutes(api: TailscaleClient, deviceId: string, config: TailscaleConfig, deadline: number, delay: Delay): Promise<DeviceRoutes> {
  const want = config.routes;
  const excess = (r: DeviceRoutes) => {
    const more = extra(r.enabledRoutes, want);
    if (more.length) throw new BreakglassError('TAILSCALE_ROUTES_EXCESS', `routes [${more.join(', ')}] are enabled on the router but not approved (approved: [${want.join(', ')}])`);
  };
  const advertised = await waitFor<DeviceRoutes>(
    deadline,
    delay,
    async () => {
      const r = await api.deviceRoutes(deviceId);
      excess(r);
      const missing = want.filter((x) => !r.advertisedRoutes.includes(x));
      return missing.length ? { seen: `not advertised: ${missing.join(', ')}` } : { done: r };
    },
    (seen) => new BreakglassError('TAILSCALE_ROUTES_NOT_ENABLED', `the router did not advertise its routes before the readiness deadline (${seen})`),
  );
  if (config.routeApproval === 'api') {
    const set = await api.setDeviceRoutes(deviceId, want);
    excess(set);
    const back = await api.deviceRoutes(deviceId);
    excess(back);
    if (!sameSet(back.enabledRoutes, want))
      throw new BreakglassError('TAILSCALE_ROUTES_REFUSED', `the tailnet did not enable [${extra(want, back.enabledRoutes).join(', ')}] (enabled: [${back.enabledRoutes.join(', ')}])`);
    return back;
  }
  if (sameSet(advertised.enabledRoutes, want)) return advertised;
  return waitFor<DeviceRoutes>(
    deadline,
    delay,
    async () => {
      const r = await api.deviceRoutes(deviceId);
      excess(r);
      return sameSet(r.enabledRoutes, want) ? { done: r } : { seen: `enabled: [${r.enabledRoutes.join(', ')}]` };
    },
    (seen) => new BreakglassError('TAILSCALE_ROUTES_NOT_ENABLED', `the tailnet's autoApprovers did not enable [${want.join(', ')}] before the readiness deadline (${seen})`),
  );
}

/** Undefined while the device is online with exactly the approved routes enabled. */
export async function pathHealth(api: TailscaleClient, session: string, config: TailscaleConfig): Promise<PathProblem | undefined> {
  const d = await routerDevice(api, session, config).catch((e: BreakglassError) => e);
  if (d instanceof Error) return { code: d.code, message: d.message };
  if (!d) return { code: 'TAILSCALE_DEVICE_OFFLINE', message: `the router ${routerHostname(session)} is no longer in the tailnet` };
  if (!d.connectedToControl) return { code: 'TAILSCALE_DEVICE_OFFLINE', message: `the router ${routerHostname(session)} is offline` };
  const r = await api.deviceRoutes(d.nodeId ?? d.id);
  if (!sameSet(r.enabledRoutes, config.routes)) return { code: 'TAILSCALE_ROUTES_WITHDRAWN', message: `enabled routes are [${r.enabledRoutes.join(', ')}], approved [${config.routes.join(', ')}]` };
  return undefined;
}

const check = (need: string, ok: boolean, detail?: string): PreflightCheck => (ok ? { need, ok } : { need, ok, detail });

/** Runs `probe`; a refusal (401/403) becomes a failed line naming what was refused, never the credential. */
async function probe(need: string, fn: () => Promise<unknown>): Promise<PreflightCheck> {
  try {
    await fn();
    return check(need, true);
  } catch (e) {
    return check(need, false, `${failureCode(e, 'network')}: ${messageOf(e)}`);
  }
}

/**
 * What a Tailscale path needs, checked without opening one: the credential
 * works; an OAuth client holds auth_keys, devices:core and devices:routes;
 * keys and devices can be listed; the tags may be put on a key (tag
 * ownership), by minting a key that cannot register anything (not
 * pre-authorized, one minute) and revoking it at once.
 */
export async function preflight(api: TailscaleClient, config: TailscaleConfig): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  let scopes: string[] | undefined;
  try {
    scopes = await api.grantedScopes();
  } catch (e) {
    return [check('Tailscale credential accepted', false, messageOf(e))];
  }
  for (const s of scopes ? REQUIRED_SCOPES : []) checks.push(check(`OAuth scope ${s}`, scopes!.includes(s) || scopes!.includes('all'), `granted: ${scopes!.join(' ') || 'none'}`));
  checks.push(await probe('list auth keys (auth_keys)', () => api.listAuthKeys()));
  checks.push(await probe('list devices (devices:core)', () => api.listDevices()));
  checks.push(
    await probe(`tag ownership of ${config.tags.join(', ')}`, async () => {
      const k = await api.createAuthKey({ tags: config.tags, expirySeconds: 60, description: 'breakglass preflight', preauthorized: false });
      await api.deleteAuthKey(k.id);
    }),
  );
  return checks;
}
