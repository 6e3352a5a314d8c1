// Runs every benchmark module in bench/ (each exports a default async function),
// one after another so they do not compete for the CPU. `npm run bench` builds lib/ first.
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.js') && f !== 'run.js' && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
for (const f of files) {
  const mod = await import(pathToFileURL(join(here, f)).href);
  if (typeof mod.default === 'function') await mod.default();
}
