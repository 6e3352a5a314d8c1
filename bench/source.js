// Reading a commit's sessions with per-entry refusal: `git ls-tree -r -l`
// (mode and size of every entry, so a symlink, gitlink or huge blob is refused
// before it is read) against the plain `git ls-tree -r` listing it replaced,
// over 2,000 sessions; and the whole load (list + read + parse) through lib/.
// Medians of 7; nothing here asserts a time.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { POLICY, timed } from './common/baseline.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 7;
const SESSIONS = 2000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function request(id) {
  return `apiVersion: breakglass.dev/v1\nkind: Request\nmetadata:\n  id: ${id}\n  requester: oncall@vendor.example\n  created: 2026-11-21T02:17:00Z\nspec:\n  reason: "INC-1: bench"\n  resource: prod-eu\n  privilege: view\n  duration: 1h\n  network: direct\n  recipient: 0123456789ABCDEF0123456789ABCDEF01234567\n`;
}

export default async function bench() {
  const { CommitSource } = await import(pathToFileURL(join(root, 'lib/adapters/source.js')).href);
  const { loadRepository } = await import(pathToFileURL(join(root, 'lib/core/repository.js')).href);
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-source-'));
  try {
    const git = (...args) => execFileSync('git', ['-C', dir, ...args], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    git('init', '-q', '-b', 'main');
    mkdirSync(join(dir, 'policies'));
    writeFileSync(join(dir, 'policies/production.yaml'), POLICY);
    for (let i = 0; i < SESSIONS; i++) {
      mkdirSync(join(dir, `sessions/inc-${i}`), { recursive: true });
      writeFileSync(join(dir, `sessions/inc-${i}/request.yaml`), request(`inc-${i}`));
    }
    git('add', '-A');
    git('-c', 'user.name=b', '-c', 'user.email=b@example.com', 'commit', '-q', '-m', 'base');
    const plain = [];
    const sized = [];
    const load = [];
    for (let r = 0; r < RUNS; r++) {
      plain.push((await timed(() => git('ls-tree', '-r', '-z', '--full-tree', 'HEAD', '--', 'sessions', 'policies')))[0]);
      sized.push((await timed(() => git('ls-tree', '-r', '-l', '-z', '--full-tree', 'HEAD', '--', 'sessions', 'policies')))[0]);
      load.push((await timed(async () => loadRepository(await CommitSource.open(dir, 'HEAD'))))[0]);
    }
    const [p, s, l] = [median(plain), median(sized), median(load)];
    console.log(
      `source: ls-tree of ${SESSIONS} sessions: -r -l ${s.toFixed(1)} ms vs -r ${p.toFixed(1)} ms (ratio ${(s / p).toFixed(2)}); whole load ${l.toFixed(0)} ms (${(l / p).toFixed(1)}x the plain listing)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
