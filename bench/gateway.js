// The session gateway (issue 12) on a private real API server, each figure next
// to its baseline in the same run, with the ratio. Nothing here asserts a time.
//   latency: one small GET through the gateway (credential check, recording,
//     forwarding) vs the same GET straight to the API server (median of N);
//   throughput: a ~10 MB list (`kubectl get -o json` of ten 1 MB ConfigMaps)
//     through the gateway vs direct (median of 5);
//   recording size: sealed chunk bytes per 1,000 requests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Kube } from '../lib/adapters/kubernetes.js';
import { RawKube } from '../lib/adapters/kube-raw.js';
import { formatTime } from '../lib/core/duration.js';
import { generateKeyPair, readPrivateKey, readPublicKey, sealTo } from '../lib/crypto/openpgp.js';
import { sealToKeys } from '../lib/crypto/recording-seal.js';
import { startLocalCluster } from '../lib/dev/local-cluster.js';
import { credentialDigest } from '../lib/runner/delivery.js';
import { ChunkStore } from '../lib/runner/gateway/chunks.js';
import { Gateway } from '../lib/runner/gateway/server.js';
import { newGatewayCredential } from '../lib/runner/gateway/sessions.js';
import { MarkerStore } from '../lib/runner/marker.js';

const N = 1000;
const ms = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const row = (label, v, unit, baseLabel, base) => `  ${label.padEnd(40)} ${v.toFixed(2).padStart(9)} ${unit}   ${baseLabel.padEnd(22)} ${base.toFixed(2).padStart(9)} ${unit}   ratio ${(v / base).toFixed(2)}x`;

function tls(dir) {
  const f = (n) => join(dir, n);
  const ssl = (...a) => execFileSync('openssl', a, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('gw.key'), '-out', f('gw.crt'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
  return { cert: f('gw.crt'), key: f('gw.key') };
}

function get(url, agent, token) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`HTTP ${res.statusCode} for ${url}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function time(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = ms();
    await fn();
    out.push(ms() - t);
  }
  return out;
}

export default async function bench() {
  const cluster = await startLocalCluster();
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-gw-'));
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const token = kc.getCurrentUser().token;
    const core = kc.makeApiClient(CoreV1Api);
    const ns = 'bg-bench-gw';
    const data = 'bg-bench-data';
    for (const name of [ns, data]) await core.createNamespace({ body: { metadata: { name } } });
    await core.createNamespacedConfigMap({ namespace: data, body: { metadata: { name: 'small' }, data: { k: 'v' } } });
    for (let i = 0; i < 10; i++) await core.createNamespacedConfigMap({ namespace: data, body: { metadata: { name: `big-${i}` }, data: { blob: 'x'.repeat(1_000_000) } } });

    const date = new Date('2026-01-01T00:00:00Z');
    const [runner, auditor] = await Promise.all([generateKeyPair({ name: 'r', email: 'r@example.invalid', date }), generateKeyPair({ name: 'a', email: 'a@example.invalid', date })]);
    const kube = new Kube(kc);
    const target = { resource: 'prod-eu', config: { kubeconfig: cluster.kubeconfig, namespace: ns }, kube, raw: new RawKube(kc), namespace: ns, markers: new MarkerStore(kube, ns), server: cluster.server };
    const session = 'bench-gw';
    const credential = newGatewayCredential(session);
    const gwTls = tls(dir);
    const gateway = new Gateway({ listen: '127.0.0.1:0', certificate: gwTls.cert, key: gwTls.key, targets: new Map([['prod-eu', target]]), signingKey: await readPrivateKey(runner.privateKey), seal: async (pt) => sealToKeys([await readPublicKey(auditor.publicKey)], pt), now: Date.now, log: () => {} });
    await gateway.start();
    const url = `https://127.0.0.1:${gateway.port}`;
    await target.markers.create({
      session, phase: 'active', runner: 'bench', started: formatTime(Date.now()), commit: 'a'.repeat(40), repository: 'github.com/customer/access', requestDigest: `sha256:${'0'.repeat(64)}`,
      resource: 'prod-eu', network: 'direct', approvals: [], policy: { name: 'p', digest: `sha256:${'0'.repeat(64)}` }, objects: [], type: 'kubernetes',
      activated: formatTime(Date.now()), expires: formatTime(Date.now() + 3600_000), credentialSha256: credentialDigest(credential),
      sealedToken: await sealTo(runner.publicKey, new TextEncoder().encode(token)), gateway: { url, deny: [], runnerNamespaces: [ns] },
    });
    const direct = new Agent({ keepAlive: true, ca: readFileSync(cluster.caFile) });
    const viaGw = new Agent({ keepAlive: true, ca: readFileSync(gwTls.cert) });
    const small = `/api/v1/namespaces/${data}/configmaps/small`;
    const big = `/api/v1/namespaces/${data}/configmaps`;
    // Warm both paths (TLS sessions, JIT, the gateway's marker read and token unseal).
    for (let i = 0; i < 30; i++) await Promise.all([get(cluster.server + small, direct, token), get(url + small, viaGw, credential)]);
    const dLat = await time(N, () => get(cluster.server + small, direct, token));
    const gLat = await time(N, () => get(url + small, viaGw, credential));
    const bytes = await get(url + big, viaGw, credential);
    const dBig = await time(5, () => get(cluster.server + big, direct, token));
    const gBig = await time(5, () => get(url + big, viaGw, credential));
    await gateway.end(session);
    const chunks = await new ChunkStore(target.raw, ns).list(session);
    const sealed = chunks.reduce((n, c) => n + c.bytes.length, 0);
    const requests = 30 + N + 1 + 5;
    console.log(`gateway: real API server on loopback, one session, sequential requests, one run;`);
    console.log(row(`small GET, median of ${N}`, median(gLat), 'ms', 'direct to API server', median(dLat)));
    console.log(row(`list of ${(bytes / 1e6).toFixed(1)} MB, median of 5`, median(gBig), 'ms', 'direct to API server', median(dBig)));
    console.log(`  recording: ${chunks.length} sealed chunk(s), ${sealed} bytes for ${requests} requests = ${((sealed / requests) * 1000 / 1024).toFixed(1)} KiB per 1,000 requests`);
    await gateway.stop();
    direct.destroy();
    viaGw.destroy();
  } finally {
    await cluster.stop();
    writeFileSync(join(dir, 'done'), '');
  }
}
