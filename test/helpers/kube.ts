/** Test helpers around the real API server provided by the global setup. */
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { RawKube } from '../../src/adapters/kube-raw.js';
import type { SessionPlan } from '../../src/core/plan.js';
import { planState } from '../../src/core/plan-objects.js';

export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('cluster').kubeconfig);
  return kc;
}

/** A fresh namespace for one test file; returns its name. */
export async function freshNamespace(raw: RawKube, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const r = await raw.send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201) throw new Error(`cannot create namespace ${name}: ${r.status}`);
  return name;
}

export async function deleteNamespace(raw: RawKube, name: string): Promise<void> {
  await raw.send('DELETE', `/api/v1/namespaces/${name}`);
}

/**
 * Plays the part of the Deployment controller (there is none on a bare API
 * server): marks a Deployment ready by patching its status subresource.
 */
export async function markDeploymentReady(raw: RawKube, namespace: string, name: string): Promise<boolean> {
  const r = await raw.send(
    'PATCH',
    `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/status`,
    { status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 } },
    'application/merge-patch+json',
  );
  return r.status === 200;
}

/** Keeps marking `name` ready as soon as it exists, until stopped. */
export function readinessController(raw: RawKube, namespace: string, name: string): { stop(): void } {
  let stopped = false;
  void (async () => {
    while (!stopped) {
      if (await markDeploymentReady(raw, namespace, name).catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { stop: () => (stopped = true) };
}

/** A plan as the runner would compute it, for provider tests (no path objects: each provider test supplies its own settings). */
export function testPlan(session: string, network: SessionPlan['network']): SessionPlan {
  const expires = new Date(Date.now() + 1800_000).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    session,
    resource: 'prod-eu',
    type: 'kubernetes',
    privilege: 'view',
    network,
    recipient: '0123456789ABCDEF0123456789ABCDEF01234567',
    effectiveSeconds: 1800,
    expires,
    tokenSeconds: 1800,
    objects: [],
    path: { network, external: [] },
    recording: { recorded: false },
    state: planState(session, { kind: 'ConfigMap', namespace: 'breakglass-system' }, undefined),
    record: `sessions/${session}/record.yaml`,
    limitedBy: 'requested',
  };
}

/** Delays recorded instead of slept: retries run fast and the waits can be asserted. */
export function recordingDelay(): { delay: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, delay: async (ms) => void waits.push(ms) };
}
