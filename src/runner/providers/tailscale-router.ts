/**
 * The Tailscale router as the cluster runs it (containerboot, the
 * tailscale/tailscale image's entry point):
 *
 * - Node state in a per-session Secret (TS_KUBE_SECRET), so a restarted pod
 *   (OOM, node drain) comes back as the same device: the single-use auth key
 *   is spent and expires in minutes, a router without its state could never
 *   rejoin. containerboot checks get+update on that Secret (and uses patch), so
 *   the router's own ServiceAccount gets exactly those verbs through a Role
 *   limited by `resourceNames` to that one Secret: it can read nothing else,
 *   not even its auth-key Secret (which reaches it as an environment variable).
 * - Readiness: containerboot's `/healthz` (TS_ENABLE_HEALTH_CHECK, on
 *   TS_LOCAL_ADDR_PORT) answers 200 only while the node has a tailnet address.
 *   A readiness probe, never a liveness one: a brief 503 must not restart it.
 * - Userspace networking, non-root, no capability, read-only root with /tmp as
 *   scratch (socket, logs).
 */
import type { RawObject } from '../../adapters/kube-raw.js';
import type { SessionPlan } from '../../core/plan.js';
import { routerHostname, stateSecretName } from '../../core/plan-objects.js';
import type { TailscaleConfig } from '../../core/schemas.js';
import type { WorkloadSpec } from './workload.js';
import { ownership, workloadName } from './workload.js';

export const PROVIDER = 'tailscale';
/** containerboot's default local address for /healthz and /metrics. */
export const HEALTH_PORT = 9002;
const RBAC = 'rbac.authorization.k8s.io/v1';

export { routerHostname, stateSecretName };

/** What `routerObjects` creates, by kind and name: how teardown and verification find them without a reference. */
export function routerRefs(session: string): { apiVersion: string; kind: string; name: string }[] {
  const name = workloadName(session, PROVIDER);
  return [
    { apiVersion: RBAC, kind: 'RoleBinding', name },
    { apiVersion: RBAC, kind: 'Role', name },
    { apiVersion: 'v1', kind: 'ServiceAccount', name },
    { apiVersion: 'v1', kind: 'Secret', name: stateSecretName(session) },
  ];
}

/** The router's own identity, its rights on the state Secret, and the (empty) state Secret. */
export function routerObjects(plan: SessionPlan, namespace: string): RawObject[] {
  const name = workloadName(plan.session, PROVIDER);
  const own = ownership(plan.session, plan.expires, PROVIDER, namespace);
  const meta = (n: string) => ({ name: n, namespace, ...own });
  const state = stateSecretName(plan.session);
  return [
    { apiVersion: 'v1', kind: 'Secret', metadata: meta(state), type: 'Opaque' },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name), automountServiceAccountToken: false },
    {
      apiVersion: RBAC,
      kind: 'Role',
      metadata: meta(name),
      // containerboot's CheckSecretPermissions wants get and update; it writes state with patch.
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [state], verbs: ['get', 'update', 'patch'] }],
    },
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: meta(name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  ];
}

/** The router container: containerboot's settings, its health probe, its security context. */
export function routerSpec(plan: SessionPlan, config: TailscaleConfig, namespace: string, authKey: string): WorkloadSpec {
  return {
    provider: PROVIDER,
    namespace,
    image: config.image,
    secretEnv: { TS_AUTHKEY: authKey },
    env: {
      TS_HOSTNAME: routerHostname(plan.session),
      TS_ROUTES: config.routes.join(','),
      TS_USERSPACE: 'true',
      TS_KUBE_SECRET: stateSecretName(plan.session),
      // First start: `tailscale up --authkey`; after a restart the state is enough.
      TS_AUTH_ONCE: 'true',
      TS_ACCEPT_DNS: 'false',
      TS_ENABLE_HEALTH_CHECK: 'true',
      TS_LOCAL_ADDR_PORT: `[::]:${HEALTH_PORT}`,
      TS_SOCKET: '/tmp/tailscaled.sock',
      HOME: '/tmp',
    },
    serviceAccountName: workloadName(plan.session, PROVIDER),
    readinessProbe: { httpGet: { path: '/healthz', port: HEALTH_PORT }, periodSeconds: 5, failureThreshold: 3 },
    runAsUser: 1000,
    scratch: { tmp: '/tmp' },
  };
}
