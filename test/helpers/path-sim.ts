/**
 * Plays the pods a network path runs, on an API server with no kubelet.
 *
 * What this proves: the runner's side — what it creates, what it waits for,
 * what it reads back, and that the router's ServiceAccount can do exactly
 * what containerboot does with its state Secret (the simulated router talks
 * to the real API server with a token of that ServiceAccount, so RBAC
 * decides). What it cannot prove: that the real images start, that their
 * probes pass, that packets flow. Pod readiness is modelled the way the other
 * tests do it — by patching the Deployment's status subresource, which is
 * what the Deployment controller does when the pod's readiness probe passes.
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';
import { RawKube, type RawObject } from '../../src/adapters/kube-raw.js';
import { tokenKubeConfig } from '../../src/adapters/kubernetes.js';
import { routerHostname, stateSecretName } from '../../src/runner/providers/tailscale.js';
import { connectorName } from '../../src/runner/providers/twingate.js';
import { workloadName } from '../../src/runner/providers/workload.js';
import type { FakeDevice, TailscaleFake } from '../fakes/tailscale-api.js';
import type { TwingateFake } from '../fakes/twingate-api.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setReady(raw: RawKube, namespace: string, name: string, ready: boolean): Promise<boolean> {
  const status = ready ? { replicas: 1, readyReplicas: 1, availableReplicas: 1 } : { replicas: 1, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 1 };
  const r = await raw.send('PATCH', `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/status`, { status }, 'application/merge-patch+json');
  return r.status === 200;
}

/** Polls `fn` until it returns something, or `stopped()`. */
async function until<T>(stopped: () => boolean, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  while (!stopped()) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(50);
  }
  return undefined;
}

/** A client acting as the router pod's ServiceAccount: RBAC on the real API server decides what it may do. */
async function podIdentity(admin: RawKube, namespace: string, serviceAccount: string): Promise<RawKube> {
  const cluster = inject('cluster');
  const r = await admin.send('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } });
  const token = (r.body as { status?: { token?: string } }).status?.token;
  if (!token) throw new Error(`no token for ${serviceAccount}: HTTP ${r.status}`);
  return new RawKube(tokenKubeConfig(cluster.server, readFileSync(cluster.caFile, 'utf8'), token));
}

export interface RouterOptions {
  /** Routes the router advertises; default: TS_ROUTES from its Deployment. */
  advertise?: string[];
  /** The pod's health probe never passes (`tailscale up` failed). */
  neverHealthy?: boolean;
}

export interface SimulatedRouter {
  stop(): void;
  /** Resolves with the device once the router has joined (undefined if stopped first). */
  joined: Promise<FakeDevice | undefined>;
  /** The pod is killed and a new one starts: it must rejoin from its state Secret alone. */
  restart(): Promise<FakeDevice>;
  /** The pod dies and none replaces it. */
  kill(): Promise<void>;
}

/** Plays containerboot for the session's router: joins with the key, keeps its state in the state Secret, passes /healthz. */
export function tailscaleRouter(raw: RawKube, fake: TailscaleFake, namespace: string, session: string, opts: RouterOptions = {}): SimulatedRouter {
  let stopped = false;
  const name = workloadName(session, 'tailscale');
  const state = stateSecretName(session);
  let pod: RawKube | undefined;
  const joined = (async () => {
    const dep = await until(() => stopped, () => raw.get('apps/v1', 'Deployment', namespace, name));
    const secret = dep && (await until(() => stopped, () => raw.get('v1', 'Secret', namespace, name)));
    if (!dep || !secret) return undefined;
    const env = (dep.spec as any).template.spec.containers[0].env as { name: string; value?: string }[];
    const routes = opts.advertise ?? (env.find((e) => e.name === 'TS_ROUTES')?.value ?? '').split(',').filter(Boolean);
    if (opts.neverHealthy) return undefined;
    const key = Buffer.from((secret.data as Record<string, string>).TS_AUTHKEY!, 'base64').toString();
    const device = fake.register(key, routerHostname(session), routes);
    // containerboot writes the node's state into TS_KUBE_SECRET with the pod's own token.
    pod = await podIdentity(raw, namespace, (dep.spec as any).template.spec.serviceAccountName);
    const r = await pod.send('PATCH', `/api/v1/namespaces/${namespace}/secrets/${state}`, { data: { _machinekey: Buffer.from(device.nodeKey).toString('base64') } }, 'application/strategic-merge-patch+json');
    if (r.status !== 200) throw new Error(`router could not write its state: HTTP ${r.status}`);
    await until(() => stopped, async () => ((await setReady(raw, namespace, name, true)) ? true : undefined));
    return device;
  })();
  return {
    stop: () => void (stopped = true),
    joined,
    async kill() {
      const d = await joined;
      if (d) fake.disconnect(d.nodeId);
      await setReady(raw, namespace, name, false);
    },
    async restart() {
      const d = await joined;
      if (!d || !pod) throw new Error('the router never joined');
      fake.disconnect(d.nodeId);
      await setReady(raw, namespace, name, false);
      // The new pod has no memory: what it knows comes from the state Secret (read with its own token).
      const s = await pod.get('v1', 'Secret', namespace, state);
      const nodeKey = Buffer.from((s?.data as Record<string, string> | undefined)?._machinekey ?? '', 'base64').toString();
      const back = fake.reconnect(nodeKey);
      await setReady(raw, namespace, name, true);
      return back;
    },
  };
}

/** Plays the Twingate connector pod: passes `/connectorctl health` and heartbeats, unless told it never does. */
export function twingateConnector(raw: RawKube, fake: TwingateFake, namespace: string, session: string, opts: { heartbeat?: boolean } = {}): { stop(): void; running: Promise<RawObject | undefined> } {
  let stopped = false;
  const name = workloadName(session, 'twingate');
  const running = (async () => {
    const dep = await until(() => stopped, () => raw.get('apps/v1', 'Deployment', namespace, name));
    if (!dep) return undefined;
    await until(() => stopped, async () => ((await setReady(raw, namespace, name, true)) ? true : undefined));
    const c = fake.connectorNamed(connectorName(session));
    if (c && opts.heartbeat !== false) fake.heartbeat(c.id);
    return dep;
  })();
  return { stop: () => void (stopped = true), running };
}
