/**
 * Network `tailscale`: a subnet router that exists only for the session.
 *
 * create, in order, under one readiness deadline: a single-use, ephemeral,
 * pre-authorized, tagged auth key (it only has to register the router once);
 * its Secret; the router's state Secret, ServiceAccount, Role (that Secret
 * only) and RoleBinding; the Deployment; then readiness that means the path
 * works — the pod's health probe passes, the device is online in the tailnet,
 * and exactly the approved routes are enabled and read back. Any failure or
 * the deadline rolls everything back. teardown: Deployment, the device(s) it
 * registered (by hostname) through the API, the key, the Secrets, the Role,
 * RoleBinding and ServiceAccount.
 */
import { durationSeconds } from '../../core/duration.js';
import { AUTH_KEY_SECONDS, keyDescription } from '../../core/plan-objects.js';
import type { TailscaleConfig } from '../../core/schemas.js';
import { realDelay, secretFromEnv, type Delay, type HttpOptions } from '../../adapters/http.js';
import type { RawKube } from '../../adapters/kube-raw.js';
import { TailscaleClient, type TailscaleAuth } from '../../adapters/tailscale.js';
import { enableRoutes, pathHealth, preflight, waitOnline } from './tailscale-path.js';
import { PROVIDER, routerHostname, routerObjects, routerRefs, routerSpec } from './tailscale-router.js';
import type { NetworkProvider, ObjectRef } from './types.js';
import { assembleOrRollBack, createWorkload, deleteWorkload, waitReady, workloadGone, workloadHealth, workloadName } from './workload.js';
import { messageOf } from '../../crypto/error-parts.js';

export { routerHostname, stateSecretName } from './tailscale-router.js';
export { keyDescription };

export interface TailscaleDeps {
  raw: RawKube;
  namespace: string;
  env: NodeJS.ProcessEnv;
  http?: HttpOptions;
  delay?: Delay;
}

function auth(config: TailscaleConfig, env: NodeJS.ProcessEnv): TailscaleAuth {
  if (config.oauth) {
    return { oauthClientId: secretFromEnv(env, config.oauth.clientIdEnv, 'Tailscale'), oauthClientSecret: secretFromEnv(env, config.oauth.clientSecretEnv, 'Tailscale') };
  }
  return { apiKey: secretFromEnv(env, config.apiKeyEnv ?? 'TS_API_KEY', 'Tailscale') };
}

/** Deletes the router's identity and state (RoleBinding, Role, ServiceAccount, state Secret); returns what existed. */
async function deleteRouterObjects(raw: RawKube, namespace: string, session: string): Promise<ObjectRef[]> {
  const deleted: ObjectRef[] = [];
  for (const r of routerRefs(session)) if (await raw.delete(r.apiVersion, r.kind, namespace, r.name)) deleted.push({ ...r, namespace, provider: PROVIDER });
  return deleted;
}

export function tailscaleProvider(config: TailscaleConfig, deps: TailscaleDeps): NetworkProvider {
  const client = () => new TailscaleClient({ baseUrl: config.apiUrl, tailnet: config.tailnet, auth: auth(config, deps.env), http: deps.http });
  const delay = deps.delay ?? realDelay;
  const teardown = async (session: string, objects: readonly ObjectRef[]): Promise<ObjectRef[]> => {
    const api = client();
    // Stop the router first so the device cannot re-register, then remove it from the tailnet.
    const deleted = await deleteWorkload(deps.raw, deps.namespace, session, PROVIDER);
    deleted.push(...(await deleteRouterObjects(deps.raw, deps.namespace, session)));
    for (const d of (await api.listDevices()).filter((x) => x.hostname === routerHostname(session))) {
      await api.deleteDevice(d.nodeId ?? d.id);
      deleted.push({ kind: 'TailscaleDevice', name: d.nodeId ?? d.id, provider: PROVIDER });
    }
    // By reference, and by description: a crash between minting and recording leaves no reference.
    const ids = new Set(objects.filter((o) => o.kind === 'TailscaleAuthKey').map((o) => o.name));
    const description = keyDescription(session);
    if (description) for (const k of await api.listAuthKeys()) if (k.description === description) ids.add(k.id);
    for (const id of ids) {
      await api.deleteAuthKey(id);
      deleted.push({ kind: 'TailscaleAuthKey', name: id, provider: PROVIDER });
    }
    return deleted;
  };
  return {
    name: PROVIDER,
    async create(plan) {
      const api = client();
      const created: ObjectRef[] = [];
      const name = workloadName(plan.session, PROVIDER);
      const deadline = Date.now() + durationSeconds(config.readinessTimeout) * 1000;
      return assembleOrRollBack(
        created,
        async () => {
          const key = await api.createAuthKey({ tags: config.tags, expirySeconds: AUTH_KEY_SECONDS, description: keyDescription(plan.session) ?? 'breakglass' });
          created.push({ kind: 'TailscaleAuthKey', name: key.id, provider: PROVIDER });
          await createWorkload(deps.raw, plan, routerSpec(plan, config, deps.namespace, key.key), created, routerObjects(plan, deps.namespace));
          await waitReady(deps.raw, deps.namespace, name, deadline, delay);
          const device = await waitOnline(api, plan.session, config, deadline, delay);
          created.push({ kind: 'TailscaleDevice', name: device.nodeId ?? device.id, provider: PROVIDER });
          await enableRoutes(api, device.nodeId ?? device.id, config, deadline, delay);
        },
        (made) => teardown(plan.session, made),
      );
    },
    teardown: (session, objects) => teardown(session, objects),
    async verifyGone(session) {
      const api = client();
      if (!(await workloadGone(deps.raw, deps.namespace, session, PROVIDER))) return false;
      for (const r of routerRefs(session)) if (await deps.raw.get(r.apiVersion, r.kind, deps.namespace, r.name)) return false;
      return !(await api.listDevices()).some((d) => d.hostname === routerHostname(session));
    },
    async health(session) {
      return (await workloadHealth(deps.raw, deps.namespace, session, PROVIDER)) ?? (await pathHealth(client(), session, config));
    },
    async preflight() {
      let api: TailscaleClient;
      try {
        api = client();
      } catch (e) {
        return [{ need: 'Tailscale credential in the runner environment', ok: false, detail: messageOf(e) }];
      }
      return preflight(api, config);
    },
  };
}
