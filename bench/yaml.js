// Slow input: how long reading a hostile YAML file takes, next to a benign
// file of the same size read in the same run (the ratio is the figure; a
// ratio near or below 1 means hostile input costs no more than honest input).
// Nothing here asserts a time (machines differ).
import { parseAllDocuments } from 'yaml';
import { loadDocument, MAX_DOCUMENT_BYTES } from '../lib/core/document.js';
import { benignPadded, HOSTILE } from '../test/helpers/hostile-yaml.js';
import { POLICY } from './common/baseline.js';

const MB = 1024 * 1024;
const UNDER = MAX_DOCUMENT_BYTES - 1024;

/** Best of `n` runs of `fn`, in milliseconds, and its last result. */
function best(fn, n = 5) {
  let ms = Infinity;
  let out;
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    out = fn();
    ms = Math.min(ms, Number(process.hrtime.bigint() - t) / 1e6);
  }
  return [ms, out];
}

const read =
  (bytes, kind = 'Request') =>
  () =>
    loadDocument('f.yaml', bytes, kind);
const fmt = (ms) => `${ms.toFixed(3).padStart(10)} ms`;
const code = (r) => (r.ok ? 'accepted' : r.findings[0].code);

export default async function bench() {
  const benign = Buffer.from(benignPadded(POLICY, UNDER));
  const [baseMs, baseR] = best(read(benign, 'Policy'));
  if (!baseR.ok) throw new Error(`the benign baseline was refused: ${JSON.stringify(baseR.findings[0])}`);
  console.log(`\nYAML input limits: baseline = a valid policy padded to ${benign.length} bytes, read in ${fmt(baseMs)}`);

  for (const [label, size] of [
    ['1 MB', MB],
    [`${UNDER} B (just under the size limit)`, UNDER],
  ]) {
    console.log(`  hostile files of ${label}:`);
    for (const [shape, make] of Object.entries(HOSTILE)) {
      const bytes = Buffer.from(make(size));
      const [ms, r] = best(read(bytes));
      console.log(`    ${shape.padEnd(26)} ${String(bytes.length).padStart(8)} B ${fmt(ms)}   ratio to baseline ${(ms / baseMs).toFixed(4)}x   ${code(r)}`);
    }
  }

  // Linear growth: a doubling of an admitted file should about double the time.
  console.log('  growth per doubling of size (linear ~2x, quadratic ~4x):');
  let prev;
  for (const size of [UNDER / 4, UNDER / 2, UNDER]) {
    const [ms] = best(read(Buffer.from(benignPadded(POLICY, size)), 'Policy'), 9);
    console.log(`    breakglass, benign policy ${String(Math.round(size)).padStart(7)} B ${fmt(ms)}${prev ? `   x${(ms / prev).toFixed(2)}` : ''}`);
    prev = ms;
  }
  // What the parser alone did before (uniqueKeys on, no pre-scan), on the reported shape, kept small.
  prev = undefined;
  parseAllDocuments(HOSTILE['distinct keys'](8 * 1024), { uniqueKeys: true }); // warm up
  for (const size of [32 * 1024, 64 * 1024, 128 * 1024]) {
    const text = HOSTILE['distinct keys'](size);
    const [ms] = best(() => parseAllDocuments(text, { uniqueKeys: true, version: '1.2', schema: 'core' }), 1);
    const [now] = best(read(Buffer.from(text)));
    console.log(
      `    before (parser, uniqueKeys), distinct keys ${String(size).padStart(6)} B ${fmt(ms)}${prev ? `   x${(ms / prev).toFixed(2)}` : ''}   now ${fmt(now)}   ratio now/before ${(now / ms).toFixed(4)}x`,
    );
    prev = ms;
  }
}
