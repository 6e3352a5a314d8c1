/**
 * The in-cluster half of the Tailscale and Twingate providers: a Secret with
 * the provider's one-session credentials and a Deployment that runs the
 * router/connector, both owned (labels + expiry annotation) so the reaper
 * finds them after a crash. Readiness is the Deployment's `readyReplicas`,
 * which counts only pods whose readiness probe (the provider's own health
 * check) passes; the providers then confirm through their APIs.
 */
import { BreakglassError } from '../../core/errors.js';
import type { SessionPlan } from '../../core/plan.js';
import { ownership, PROVIDER_LABEL, SESSION_LABEL, workloadName } from '../../core/plan-objects.js';
import type { RawKube, RawObject } from '../../adapters/kube-raw.js';
import { realDelay, type Delay } from '../../adapters/http.js';
import type { ObjectRef, PathProblem } from './types.js';
import { messageOf } from '../../crypto/error-parts.js';

// Names and labels are the plan's (core/plan-objects.ts): what is created is what was planned.
export { ownership, PROVIDER_LABEL, workloadName };

export interface WorkloadSpec {
  provider: string;
  namespace: string;
  image: string;
  /** Environment from the Secret (values are secrets). */
  secretEnv: Record<string, string>;
  /** Plain environment (not secret). */
  env: Record<string, string>;
  /** The pod's own ServiceAccount; without one, no API token is mounted at all. */
  serviceAccountName?: string;
  /** What "ready" means for this container: the provider's own health check. */
  readinessProbe: Record<string, unknown>;
  /** The user the image runs as when not root (the provider's documented one). */
  runAsUser: number;
  /** emptyDir mounts (path by volume name): the only writable places on a read-only root. */
  scratch: Record<string, string>;
}

/**
 * The container's security context: no privilege escalation, no capability,
 * no root, nothing writable but the scratch volumes, the runtime's seccomp
 * profile. Twingate's own manifests set the same (uid 65532, drop ALL); a
 * userspace Tailscale router needs no capability either.
 */
export function hardenedContext(runAsUser: number): Record<string, unknown> {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser,
    runAsGroup: runAsUser,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function secretRef(spec: WorkloadSpec, name: string): ObjectRef {
  return { kind: 'Secret', apiVersion: 'v1', namespace: spec.namespace, name, provider: spec.provider };
}

export function deploymentRef(spec: WorkloadSpec, name: string): ObjectRef {
  return { kind: 'Deployment', apiVersion: 'apps/v1', namespace: spec.namespace, name, provider: spec.provider };
}

function deployment(plan: SessionPlan, spec: WorkloadSpec, name: string): RawObject {
  const own = ownership(plan.session, plan.expires, spec.provider, spec.namespace);
  const env = [...Object.entries(spec.env).map(([k, value]) => ({ name: k, value })), ...Object.keys(spec.secretEnv).map((k) => ({ name: k, valueFrom: { secretKeyRef: { name, key: k } } }))];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: spec.namespace, ...own },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [SESSION_LABEL]: plan.session, [PROVIDER_LABEL]: spec.provider } },
      template: {
        metadata: { labels: own.labels, annotations: own.annotations },
        spec: {
          // An API token only when the workload has its own ServiceAccount (tailscale's state Secret).
          automountServiceAccountToken: spec.serviceAccountName !== undefined,
          ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
          containers: [
            {
              name: spec.provider,
              image: spec.image,
              env,
              readinessProbe: spec.readinessProbe,
              securityContext: hardenedContext(spec.runAsUser),
              volumeMounts: Object.entries(spec.scratch).map(([vol, mountPath]) => ({ name: vol, mountPath })),
              resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
            },
          ],
          volumes: Object.keys(spec.scratch).map((vol) => ({ name: vol, emptyDir: { sizeLimit: '64Mi' } })),
        },
      },
    },
  };
}

/**
 * Creates the Secret, then `extra` (the workload's own identity and rights),
 * then the Deployment; each reference is pushed to `created` as soon as it exists.
 */
export async function createWorkload(kube: RawKube, plan: SessionPlan, spec: WorkloadSpec, created: ObjectRef[], extra: readonly RawObject[] = []): Promise<void> {
  const name = workloadName(plan.session, spec.provider);
  const own = ownership(plan.session, plan.expires, spec.provider, spec.namespace);
  await kube.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: spec.namespace, ...own },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(spec.secretEnv).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  });
  created.push(secretRef(spec, name));
  for (const o of extra) {
    await kube.create(o);
    created.push({ kind: o.kind, apiVersion: o.apiVersion, namespace: o.metadata.namespace, name: o.metadata.name, provider: spec.provider });
  }
  await kube.create(deployment(plan, spec, name));
  created.push(deploymentRef(spec, name));
}

/**
 * Polls `probe` until it answers, with the injected delay, until `deadline`
 * (epoch ms); then throws what `timedOut` makes of the last thing seen.
 * Every readiness step of a session shares one deadline: the configured
 * `readinessTimeout` bounds the whole wait, not each step.
 */
export async function waitFor<T>(deadline: number, delay: Delay, probe: () => Promise<{ done: T } | { seen: string }>, timedOut: (seen: string) => BreakglassError): Promise<T> {
  for (;;) {
    const r = await probe();
    if ('done' in r) return r.done;
    if (Date.now() >= deadline) throw timedOut(r.seen);
    await delay(Math.min(1000, Math.max(50, deadline - Date.now())));
  }
}

/** Waits until the Deployment reports a ready replica (its readiness probe passes); throws PROVIDER_NOT_READY at the deadline. */
export async function waitReady(kube: RawKube, namespace: string, name: string, deadline: number, delay: Delay = realDelay): Promise<void> {
  await waitFor(
    deadline,
    delay,
    async () => {
      const d = await kube.get('apps/v1', 'Deployment', namespace, name);
      if (!d) throw new BreakglassError('PROVIDER_NOT_READY', `Deployment ${namespace}/${name} disappeared while waiting for it`);
      return readyReplicas(d) >= 1 ? { done: undefined } : { seen: 'no ready replica' };
    },
    (seen) => new BreakglassError('PROVIDER_NOT_READY', `Deployment ${namespace}/${name} was not ready before the readiness deadline (${seen}); its health check never passed`),
  );
}

export function readyReplicas(d: RawObject): number {
  return (d.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0;
}

/** Undefined when the session's Deployment has a ready replica; otherwise why not (ROUTER_NOT_READY). */
export async function workloadHealth(kube: RawKube, namespace: string, session: string, provider: string): Promise<PathProblem | undefined> {
  const name = workloadName(session, provider);
  const d = await kube.get('apps/v1', 'Deployment', namespace, name);
  if (!d) return { code: 'ROUTER_NOT_READY', message: `Deployment ${namespace}/${name} is gone` };
  return readyReplicas(d) >= 1 ? undefined : { code: 'ROUTER_NOT_READY', message: `Deployment ${namespace}/${name} has no ready replica: its health check fails` };
}

/** Deletes the session's Deployment then Secret (404 is success); returns what existed. */
export async function deleteWorkload(kube: RawKube, namespace: string, session: string, provider: string): Promise<ObjectRef[]> {
  const name = workloadName(session, provider);
  const spec = { provider, namespace } as WorkloadSpec;
  const deleted: ObjectRef[] = [];
  if (await kube.delete('apps/v1', 'Deployment', namespace, name)) deleted.push(deploymentRef(spec, name));
  if (await kube.delete('v1', 'Secret', namespace, name)) deleted.push(secretRef(spec, name));
  return deleted;
}

/** True when neither the Deployment nor the Secret remains. */
export async function workloadGone(kube: RawKube, namespace: string, session: string, provider: string): Promise<boolean> {
  const name = workloadName(session, provider);
  return !(await kube.get('apps/v1', 'Deployment', namespace, name)) && !(await kube.get('v1', 'Secret', namespace, name));
}

/**
 * Runs `steps` of a provider's assembly; if one fails, tears down what the
 * earlier steps created (so nothing is left behind) and rethrows the failure.
 */
export async function assembleOrRollBack(created: ObjectRef[], steps: () => Promise<void>, rollback: (created: ObjectRef[]) => Promise<unknown>): Promise<ObjectRef[]> {
  try {
    await steps();
    return created;
  } catch (e) {
    try {
      await rollback(created);
    } catch (r) {
      // The failure that matters is the first; the reaper removes what rollback could not.
      (e as Error & { rollback?: string }).rollback = messageOf(r);
    }
    throw e;
  }
}
