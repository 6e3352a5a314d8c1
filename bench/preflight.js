// What the runner's preflight (`runner --check`, and every start) costs, next
// to an idle reconcile of the same runner in the same run, with the ratio:
// the config and trust file, the key signing and sealing to itself, one
// `git ls-remote`, the namespace dry run and one SelfSubjectAccessReview per
// verb the runner needs, on a private kube-apiserver. Nothing asserts a time.
import { startLocalCluster } from '../lib/dev/local-cluster.js';
import { RunnerEnv } from '../test/helpers/runner-fixture.js';
import { assembleRunner } from '../lib/runner/assemble.js';
import { reconcileOnce } from '../lib/runner/loop.js';
import { preflight } from '../lib/runner/preflight.js';

const ms = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const RUNS = 9;

export default async function bench() {
  console.log(`runner preflight (private kube-apiserver on loopback; medians of ${RUNS})`);
  const cluster = await startLocalCluster();
  try {
    const env = await new RunnerEnv(cluster).setup();
    const d = await assembleRunner(env.configFile, { env: { BREAKGLASS_RUNNER_ID: 'bench' }, now: Date.now, log: () => {} });
    await reconcileOnce(d);
    const checks = [];
    const idle = [];
    for (let i = 0; i < RUNS; i++) {
      let t = ms();
      const r = await preflight(env.configFile, { env: {} });
      checks.push(ms() - t);
      if (r.problems.length) throw new Error(`preflight found problems: ${r.problems.map((p) => p.code).join(', ')}`);
      t = ms();
      await reconcileOnce(d);
      idle.push(ms() - t);
    }
    const [c, b] = [median(checks), median(idle)];
    console.log(`  ${'preflight (all checks)'.padEnd(44)} ${c.toFixed(0).padStart(6)} ms   ${'idle reconcile'.padEnd(26)} ${b.toFixed(0).padStart(6)} ms   ratio ${(c / b).toFixed(2)}x`);
    await env.cleanup();
  } finally {
    await cluster.stop();
  }
}
