// CLI start-up: `breakglass --help` and `breakglass --version` against
// `node -e ""` (the floor: Node starting and exiting), alternated, in the same
// run. Medians of RUNS runs each; the ratio is the figure (target: --help at
// most 3x the floor, which is why commands are loaded only when named).
// Nothing here asserts a time (machines differ).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'breakglass.js');
const node = process.execPath;
const RUNS = 15;

function ms(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(node, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export default async function bench() {
  const cases = { floor: ['-e', ''], help: [bin, '--help'], version: [bin, '--version'] };
  const times = { floor: [], help: [], version: [] };
  ms(cases.help); // warm the file cache once
  for (let i = 0; i < RUNS; i++) for (const k of Object.keys(cases)) times[k].push(ms(cases[k]));
  const base = median(times.floor);
  console.log(`CLI start-up (median of ${RUNS}, Node ${process.versions.node})`);
  for (const k of ['help', 'version']) {
    const m = median(times[k]);
    console.log(`  breakglass --${k.padEnd(44)} ${m.toFixed(0).padStart(7)} ms   baseline node -e "" ${base.toFixed(0).padStart(7)} ms   ratio ${(m / base).toFixed(2)}x (target <= 3x)`);
  }
}
