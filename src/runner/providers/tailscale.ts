/**
 * Network `tailscale`: a subnet router that exists only for the session.
 *
 * create: a single-use, ephemeral, pre-authorized, tagged auth key from the
 * Tailscale API, expiring within minutes (it only has to register the router
 * once); a Secret holding it and a Deployment running the router with the
 * configured routes; then wait for readiness. teardown: Deployment, the
 * device(s) it registered (by hostname) through the API, the key, the Secret.
 */
import { parseDuration } from '../../core/duration.js';
import type { TailscaleConfig } from '../../core/schemas.js';
import { secretFromEnv, type Delay, type HttpOptions } from '../../adapters/http.js';
import type { RawKube } from '../../adapters/kube-raw.js';
import { TailscaleClient, type TailscaleAuth } from '../../adapters/tailscale.js';
import type { NetworkProvider, ObjectRef } from './types.js';
import { assembleOrRollBack, createWorkload, deleteWorkload, waitReady, workloadGone, workloadName } from './workload.js';

/** Auth keys only need to outlive router start-up; a short life limits what a leaked key is worth. */
const AUTH_KEY_SECONDS = 600;
const PROVIDER = 'tailscale';

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

/** The router's Tailscale hostname: how teardown finds the device it registered. */
export function routerHostname(session: string): string {
  return `bg-${session}`.slice(0, 63);
}

export function tailscaleProvider(config: TailscaleConfig, deps: TailscaleDeps): NetworkProvider {
  const client = () => new TailscaleClient({ baseUrl: config.apiUrl, tailnet: config.tailnet, auth: auth(config, deps.env), http: deps.http });
  const teardown = async (session: string, objects: readonly ObjectRef[]): Promise<ObjectRef[]> => {
    const api = client();
    // Stop the router first so the device cannot re-register, then remove it from the tailnet.
    const deleted = await deleteWorkload(deps.raw, deps.namespace, session, PROVIDER);
    for (const d of (await api.listDevices()).filter((x) => x.hostname === routerHostname(session))) {
      await api.deleteDevice(d.nodeId ?? d.id);
      deleted.push({ kind: 'TailscaleDevice', name: d.nodeId ?? d.id, provider: PROVIDER });
    }
    for (const key of objects.filter((o) => o.kind === 'TailscaleAuthKey')) {
      await api.deleteAuthKey(key.name);
      deleted.push(key);
    }
    return deleted;
  };
  return {
    name: PROVIDER,
    async create(plan) {
      const api = client();
      const created: ObjectRef[] = [];
      const name = workloadName(plan.session, PROVIDER);
      return assembleOrRollBack(
        created,
        async () => {
          const key = await api.createAuthKey({ tags: config.tags, expirySeconds: AUTH_KEY_SECONDS, description: `breakglass ${plan.session}` });
          created.push({ kind: 'TailscaleAuthKey', name: key.id, provider: PROVIDER });
          await createWorkload(deps.raw, plan, {
            provider: PROVIDER,
            namespace: deps.namespace,
            image: config.image,
            secretEnv: { TS_AUTHKEY: key.key },
            // Userspace networking, in-memory state: the router needs no privileges and keeps nothing.
            env: { TS_HOSTNAME: routerHostname(plan.session), TS_ROUTES: config.routes.join(','), TS_USERSPACE: 'true', TS_KUBE_SECRET: '', TS_AUTH_ONCE: 'true', TS_ACCEPT_DNS: 'false' },
          }, created);
          await waitReady(deps.raw, deps.namespace, name, parseDuration(config.readinessTimeout)! * 1000, deps.delay);
        },
        (made) => teardown(plan.session, made),
      );
    },
    teardown: (session, objects) => teardown(session, objects),
    async verifyGone(session) {
      const api = client();
      if (!(await workloadGone(deps.raw, deps.namespace, session, PROVIDER))) return false;
      return !(await api.listDevices()).some((d) => d.hostname === routerHostname(session));
    },
  };
}
