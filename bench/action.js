// The GitHub Action bundle (dist/index.js), run as a runner runs it: a child
// process with INPUT_*/GITHUB_* variables against a local GitHub API
// (test/github-fake/server.ts, loaded through Node 24's type stripping), with
// the tests' documents (test/github-fake/documents.ts).
// Figures are medians, printed next to a baseline with the ratio; nothing here
// asserts a time (machines differ).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist/index.js');
const node = process.execPath;
const RUNS = 7;
function git(dir, ...args) {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
}

/** A repository with a policy and `existing` sessions on main, and a branch adding one more. */
function repository(existing, { POLICY, request }) {
  const dir = mkdtempSync(join(tmpdir(), 'bg-bench-action-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'bench@example.com');
  git(dir, 'config', 'user.name', 'bench');
  mkdirSync(join(dir, 'policies'));
  writeFileSync(join(dir, 'policies/production.yaml'), POLICY);
  for (let i = 0; i < existing; i++) {
    mkdirSync(join(dir, `sessions/inc-${i}`), { recursive: true });
    writeFileSync(join(dir, `sessions/inc-${i}/request.yaml`), request(`inc-${i}`));
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'base');
  const base = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '-q', '-b', 'pr');
  mkdirSync(join(dir, 'sessions/inc-new'), { recursive: true });
  writeFileSync(join(dir, 'sessions/inc-new/request.yaml'), request('inc-new'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'pr');
  return { dir, base, head: git(dir, 'rev-parse', 'HEAD') };
}

function runOnce(args, env) {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const p = spawn(node, args, { env, stdio: 'ignore' });
    p.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, code }));
  });
}

/** Median wall time of RUNS runs; a run that ends with another exit code than `expect` is a broken benchmark. */
async function median(args, env = { PATH: process.env.PATH }, expect = 0) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runOnce(args, env);
    if (r.code !== expect) throw new Error(`node ${args.join(' ')} exited ${r.code}, expected ${expect}`);
    times.push(r.ms);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

function actionEnv(repo, api, event, payload) {
  const tmp = mkdtempSync(join(tmpdir(), 'bg-bench-runner-'));
  writeFileSync(join(tmp, 'event.json'), JSON.stringify(payload));
  writeFileSync(join(tmp, 'output'), '');
  writeFileSync(join(tmp, 'summary'), '');
  return {
    PATH: process.env.PATH,
    INPUT_TOKEN: 'ghs_bench',
    'INPUT_FAIL-ON-FINDINGS': 'true',
    GITHUB_EVENT_NAME: event,
    GITHUB_EVENT_PATH: join(tmp, 'event.json'),
    GITHUB_OUTPUT: join(tmp, 'output'),
    GITHUB_STEP_SUMMARY: join(tmp, 'summary'),
    GITHUB_API_URL: api,
    GITHUB_REPOSITORY: 'customer/access',
    GITHUB_WORKSPACE: repo.dir,
  };
}

function prPayload(repo) {
  const r = { full_name: 'customer/access' };
  return { number: 1, pull_request: { number: 1, head: { sha: repo.head, repo: r }, base: { sha: repo.base, repo: r } } };
}

async function minimalActionSize() {
  // The smallest JavaScript action: @actions/core alone, bundled the same way.
  const out = await build({
    stdin: { contents: "import * as core from '@actions/core'; core.info('hi');", resolveDir: root },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    write: false,
    logLevel: 'silent',
  });
  return out.outputFiles[0].contents.length;
}

const row = (label, value, unit, baseLabel, base) =>
  `  ${label.padEnd(44)} ${value.toFixed(0).padStart(9)} ${unit.padEnd(5)} baseline ${baseLabel.padEnd(30)} ${base.toFixed(0).padStart(9)} ${unit.padEnd(5)} ratio ${(value / base).toFixed(2)}x`;

export default async function main() {
  const { FakeGitHub } = await import('../test/github-fake/server.ts');
  const documents = await import('../test/github-fake/documents.ts');
  console.log('GitHub Action (dist/index.js)');
  const empty = await median(['-e', '']);
  const cold = await median([bundle], undefined, 1); // no GITHUB_* variables: loads the whole bundle, then stops at the settings
  console.log(row('cold start (load the bundle, read settings)', cold, 'ms', 'node -e ""', empty));

  const small = repository(0, documents);
  const api = new FakeGitHub(small.dir, 'customer', 'access');
  await api.start();
  api.pulls.set(1, { base: small.base, head: small.head });
  git(small.dir, 'checkout', '-q', small.head);
  const pr = await median([bundle], actionEnv(small, api.url, 'pull_request', prPayload(small)));
  console.log(row('pull request adding 1 session (API + comment)', pr, 'ms', 'bundle cold start', cold));
  await api.stop();

  const big = repository(1000, documents);
  const api2 = new FakeGitHub(big.dir, 'customer', 'access');
  await api2.start();
  api2.pulls.set(1, { base: big.base, head: big.head });
  const bigPr = await median([bundle], actionEnv(big, api2.url, 'pull_request', prPayload(big)));
  console.log(row('pull request adding 1 of 1,001 sessions', bigPr, 'ms', 'bundle cold start', cold));
  const push = await median([bundle], actionEnv(big, api2.url, 'push', { after: big.head }));
  console.log(row('push: validate all 1,001 sessions', push, 'ms', 'bundle cold start', cold));
  await api2.stop();

  const size = statSync(bundle).size;
  console.log(row('bundle size', size / 1024, 'KiB', '@actions/core alone, bundled', (await minimalActionSize()) / 1024));
  for (const r of [small, big]) rmSync(r.dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
