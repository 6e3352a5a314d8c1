// The runner, measured on a private real API server, each figure next to its
// baseline in the same run, with the ratio. Nothing here asserts a time.
//   activation: approved session seen -> credential delivered (marker, SA, binding,
//     TokenRequest, seal, mark active, write), vs the same API calls from a minimal
//     client-node script in one process, vs a kubectl script doing the same.
//   teardown -> revocation proof, vs the same deletes + TokenReview polling by hand.
//   idle poll with 10,000 past sessions vs with 10.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api, AuthenticationV1Api } from '@kubernetes/client-node';
import { startLocalCluster } from '../lib/dev/local-cluster.js';
import { RunnerEnv } from '../test/helpers/runner-fixture.js';
import { assembleRunner } from '../lib/runner/assemble.js';
import { reconcileOnce } from '../lib/runner/loop.js';
import { teardown } from '../lib/runner/teardown.js';
import { unseal } from '../lib/crypto/openpgp.js';

const ms = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (label, v, baseLabel, base) => `  ${label.padEnd(44)} ${v.toFixed(0).padStart(6)} ms   ${baseLabel.padEnd(26)} ${base.toFixed(0).padStart(6)} ms   ratio ${(v / base).toFixed(2)}x`;

async function deps(env, marks) {
  return assembleRunner(env.configFile, {
    env: { BREAKGLASS_RUNNER_ID: 'bench' },
    now: Date.now,
    log: (line) => {
      const m = /^session (\S+): approved:/.exec(line);
      if (m) marks.set(m[1], { seen: ms() });
    },
    afterStep: async (step) => {
      if (step !== 'delivered') return;
      for (const v of marks.values()) if (v.delivered === undefined) v.delivered = ms();
    },
  });
}

async function runnerActivations(env, n) {
  const marks = new Map();
  const d = await deps(env, marks);
  const out = [];
  for (let i = 0; i < n; i++) {
    await env.addSession(`bench-act-${i}`, { privilege: 'cluster-admin', duration: '15m' });
    marks.clear();
    await reconcileOnce(d);
    const m = marks.get(`bench-act-${i}`);
    out.push(m.delivered - m.seen);
  }
  return { d, latencies: out };
}

async function floorActivations(env, n) {
  const kc = env.admin();
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const ns = env.namespace;
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `floor-${i}`;
    const t = ms();
    const cm = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `m-${name}` }, data: { phase: 'activating' } } });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${ns}-${name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
    });
    await core.createNamespacedServiceAccountToken({ name, namespace: ns, body: { spec: { expirationSeconds: 900, audiences: [] } } });
    await core.replaceNamespacedConfigMap({ name: `m-${name}`, namespace: ns, body: { ...cm, data: { phase: 'active' } } });
    out.push(ms() - t);
  }
  return out;
}

function kubectlActivations(env, n) {
  const ns = env.namespace;
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `kctl-${i}`;
    const script = [
      `k() { kubectl --kubeconfig "${env.cluster.kubeconfig}" "$@"; }`,
      `k create configmap m-${name} -n ${ns} --from-literal=phase=activating >/dev/null`,
      `k create serviceaccount ${name} -n ${ns} >/dev/null`,
      `k create clusterrolebinding ${ns}-${name} --clusterrole=cluster-admin --serviceaccount=${ns}:${name} >/dev/null`,
      `k create token ${name} -n ${ns} --duration=900s >/dev/null`,
      `k label configmap m-${name} -n ${ns} phase=active >/dev/null`,
    ].join('\n');
    const t = ms();
    execFileSync('bash', ['-c', script]);
    out.push(ms() - t);
  }
  return out;
}

async function runnerTeardowns(d, n) {
  const target = [...d.targets.values()][0];
  const out = [];
  for (let i = 0; i < n; i++) {
    const marker = await target.markers.get(`bench-act-${i}`);
    // Warm the API server's authentication cache, as a credential in use would have it.
    const token = new TextDecoder().decode(await unseal(d.signingKey, marker.state.sealedToken));
    await target.kube.tokenAuthenticated(token);
    const t = ms();
    await teardown(d, target, marker, 'bench');
    out.push(ms() - t);
  }
  return out;
}

async function floorTeardowns(env, n) {
  const kc = env.admin();
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const ns = env.namespace;
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `floor-td-${i}`;
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${ns}-${name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
      },
    });
    const tr = await core.createNamespacedServiceAccountToken({ name, namespace: ns, body: { spec: { expirationSeconds: 900, audiences: [] } } });
    await authn.createTokenReview({ body: { spec: { token: tr.status.token } } }); // warm the cache, as a used credential is
    const t = ms();
    await rbac.deleteClusterRoleBinding({ name: `${ns}-${name}` });
    await core.deleteNamespacedServiceAccount({ name, namespace: ns });
    for (;;) {
      const r = await authn.createTokenReview({ body: { spec: { token: tr.status.token } } });
      if (!r.status?.authenticated) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    out.push(ms() - t);
  }
  return out;
}

async function idlePoll(cluster, past) {
  const env = await new RunnerEnv(cluster).setup();
  for (let i = 0; i < past; i++) {
    const dir = join(env.work, 'sessions', `past-${i}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'request.yaml'), `apiVersion: breakglass.dev/v1\nkind: Request\n# past ${i}\n`);
    writeFileSync(join(dir, 'record.yaml'), `apiVersion: breakglass.dev/v1\nkind: Record\n# past ${i}\n`);
  }
  env.push(`${past} past sessions`);
  const d = await deps(env, new Map());
  const t0 = ms();
  await reconcileOnce(d); // the first poll reads everything once
  const first = ms() - t0;
  const idle = [];
  for (let i = 0; i < 5; i++) {
    const t = ms();
    await reconcileOnce(d);
    idle.push(ms() - t);
  }
  await env.cleanup();
  return { first, idle: median(idle) };
}

export default async function bench() {
  console.log('runner (private kube-apiserver on loopback; medians)');
  const cluster = await startLocalCluster();
  try {
    const env = await new RunnerEnv(cluster).setup();
    const N = 5;
    const { d, latencies } = await runnerActivations(env, N);
    const floor = await floorActivations(env, N);
    const kubectl = kubectlActivations(env, N);
    console.log(row('activation: seen -> delivered (runner)', median(latencies), 'floor: client-node calls', median(floor)));
    console.log(row('activation: seen -> delivered (runner)', median(latencies), 'kubectl script', median(kubectl)));
    const td = await runnerTeardowns(d, 2);
    const tdFloor = await floorTeardowns(env, 2);
    console.log(row('teardown -> revocation proof (runner)', median(td), 'floor: deletes + TokenReview', median(tdFloor)));
    await env.cleanup();
    const small = await idlePoll(cluster, 10);
    const large = await idlePoll(cluster, 10_000);
    console.log(row('idle poll, 10,000 past sessions', large.idle, 'idle poll, 10 past sessions', small.idle));
    console.log(row('first poll, 10,000 past sessions', large.first, 'first poll, 10 past sessions', small.first));
  } finally {
    await cluster.stop();
  }
}
