/**
 * Runs the Action the way a GitHub runner does: INPUT_* variables, GITHUB_*
 * variables, an event payload file, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
 * files, and GITHUB_WORKSPACE a real git repository with the pull request's
 * head checked out. The API is the FakeGitHub server.
 *
 * Two ways, one environment and one `RunResult`:
 * - in-process (the default): `runStep` of src/action/run.ts, the code the
 *   bundle runs, with a recording `ActionIo` in place of `@actions/core`; it
 *   touches no process state (the unit config shares workers: isolate false).
 * - `bundle: true`: dist/index.js in a Node 24 child process, as the runner
 *   starts it (about 0.5 s of CPU per start before any work). For the tests
 *   whose point is the bundle: its stdout, its files, its exit code.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { EOL, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { ActionIo, AnnotationProps } from '../../src/action/io.js';
import { runStep } from '../../src/action/run.js';
import { branchOf, headOf, initRepo } from '../helpers/git-repo.js';
import { FakeGitHub } from './server.js';
import { OWNER, POLICY, REPO } from './documents.js';

export * from './documents.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE24 = join(ROOT, 'node_modules/.bin/node');
export const BUNDLE = join(ROOT, 'dist/index.js');

/** A real temporary git repository with a `main` branch. */
export class TestRepo {
  readonly dir: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'bg-action-'));
    initRepo(this.dir, { name: 'Test', email: 'test@example.com' });
  }
  git(...args: string[]): string {
    return execFileSync('git', ['-C', this.dir, ...args], { encoding: 'utf8' }).trim();
  }
  write(path: string, content: string | Uint8Array): void {
    const full = join(this.dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  read(path: string): string {
    return readFileSync(join(this.dir, path), 'utf8');
  }
  /** Commits everything and returns the commit id. */
  commit(message: string): string {
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
    return headOf(this.dir);
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number | null;
  /** The workflow commands and log lines, as the bundle prints them. */
  stdout: string;
  /** In-process: always empty (only a bundle run has a stderr of its own to check). */
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** `::error file=…,line=…,col=…::message` commands, parsed. */
  annotations: { level: string; file?: string; line?: number; col?: number; title?: string; message: string }[];
}

/** Parses GITHUB_OUTPUT's `name<<delimiter` blocks, as the runner does. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^(.+?)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[3]!;
  return out;
}

function parseAnnotations(stdout: string): RunResult['annotations'] {
  const unescapeProperty = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
  return [...stdout.matchAll(/^::(error|warning|notice)(?: ([^:]*))?::(.*)$/gm)].map((m) => {
    const props = Object.fromEntries(
      (m[2] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), unescapeProperty(kv.slice(kv.indexOf('=') + 1))]),
    );
    return { level: m[1]!, file: props.file, line: props.line ? Number(props.line) : undefined, col: props.col ? Number(props.col) : undefined, title: props.title, message: unescapeProperty(m[3]!) };
  });
}

export interface RunOptions {
  workspace: string;
  api: string;
  event: 'pull_request' | 'push' | 'schedule' | 'workflow_dispatch';
  payload: unknown;
  inputs?: Record<string, string>;
  token?: string;
  /** Further environment, as a workflow's `env:` gives it (e.g. notification secrets). */
  env?: Record<string, string>;
  /** Runs dist/index.js in a child Node instead of in-process. */
  bundle?: boolean;
  /** GITHUB_SHA, when the caller knows it; otherwise the workspace's HEAD (saves a git process per run). */
  sha?: string;
}

/**
 * What `@actions/core` prints for a workflow command (its command.js, which
 * the package does not export): `::name key=value,…::message`, properties in
 * toCommandProperties' order, empty ones left out, `%`, CR, LF (and in
 * properties `:` and `,`) escaped. action-api.test.ts ("in-process and as
 * the bundle") holds this to the bundle's bytes.
 */
function workflowCommand(name: string, message: string, props: AnnotationProps = {}): string {
  const data = (v: string) => v.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const property = (v: string) => data(v).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const ordered = { title: props.title, file: props.file, line: props.startLine, col: props.startColumn };
  const kv = Object.entries(ordered)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}=${property(String(v))}`);
  return `::${name}${kv.length ? ` ${kv.join(',')}` : ''}::${data(message)}${EOL}`;
}

/** An `ActionIo` that records what `@actions/core` would have printed, set and written. */
class RecordingIo implements ActionIo {
  stdout = '';
  summary = '';
  failed = false;
  readonly outputs: Record<string, string> = {};
  readonly env: ActionIo['env'];
  constructor(env: ActionIo['env']) {
    this.env = env;
  }
  now(): number {
    return Date.now();
  }
  debug(message: string): void {
    this.stdout += workflowCommand('debug', message);
  }
  info(message: string): void {
    this.stdout += message + EOL;
  }
  notice(message: string, props?: AnnotationProps): void {
    this.stdout += workflowCommand('notice', message, props);
  }
  warning(message: string, props?: AnnotationProps): void {
    this.stdout += workflowCommand('warning', message, props);
  }
  error(message: string, props?: AnnotationProps): void {
    this.stdout += workflowCommand('error', message, props);
  }
  setOutput(name: string, value: string): void {
    this.outputs[name] = value;
  }
  async appendSummary(markdown: string): Promise<void> {
    this.summary += markdown + EOL;
  }
  setFailed(message: string): void {
    this.failed = true;
    this.error(message);
  }
}

/** Runs the Action (in-process, or dist/index.js with `bundle`) as a runner would; resolves with everything the runner would collect. */
export async function runAction(opts: RunOptions): Promise<RunResult> {
  const tmp = mkdtempSync(join(tmpdir(), 'bg-runner-'));
  const files = { event: join(tmp, 'event.json'), output: join(tmp, 'output'), summary: join(tmp, 'summary.md') };
  writeFileSync(files.event, JSON.stringify(opts.payload));
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  const inputs = { token: opts.token ?? 'ghs_test', sessions: 'sessions', policies: 'policies', trust: '', 'fail-on-findings': 'true', comment: 'true', ...opts.inputs };
  // A clean environment: nothing GITHUB_* or INPUT_* leaks in from the machine running the tests.
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GITHUB_|INPUT_|RUNNER_|ACTIONS_)/.test(k)));
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v])),
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: opts.event,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_API_URL: opts.api,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_WORKSPACE: opts.workspace,
    GITHUB_SHA: opts.sha ?? headOf(opts.workspace),
    ...opts.env,
  };
  try {
    if (!opts.bundle) {
      const io = new RecordingIo(env);
      const exitCode = process.exitCode;
      await runStep(io);
      // The worker is shared (isolate: false): a run that set the exit code went around the io.
      if (process.exitCode !== exitCode) throw new Error('the in-process Action changed process.exitCode');
      return { code: io.failed ? 1 : 0, stdout: io.stdout, stderr: '', outputs: io.outputs, summary: io.summary, annotations: parseAnnotations(io.stdout) };
    }
    const { code, stdout, stderr } = await runBundle(opts.workspace, env);
    return { code, stdout, stderr, outputs: parseOutputFile(readFileSync(files.output, 'utf8')), summary: readFileSync(files.summary, 'utf8'), annotations: parseAnnotations(stdout) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Node 24 on dist/index.js in `cwd`, as the runner starts an Action. */
function runBundle(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    execFile(NODE24, [BUNDLE], { cwd, env, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolvePromise({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** A pull request event payload in GitHub's shape (the fields the Action reads, and a few more). */
export function pullRequestPayload(n: number, base: string, head: string, opts: { fork?: boolean; changedFiles?: number; createdAt?: string } = {}): unknown {
  const full = `${OWNER}/${REPO}`;
  return {
    action: 'synchronize',
    number: n,
    pull_request: {
      number: n,
      state: 'open',
      ...(opts.createdAt ? { created_at: opts.createdAt } : {}),
      ...(opts.changedFiles !== undefined ? { changed_files: opts.changedFiles } : {}),
      head: { ref: 'vendor-request', sha: head, repo: { full_name: opts.fork ? `vendor/${REPO}` : full, fork: !!opts.fork } },
      base: { ref: 'main', sha: base, repo: { full_name: full, default_branch: 'main' } },
    },
    repository: { full_name: full, default_branch: 'main' },
  };
}

/** One scenario: a repository with a policy on main, a fake API, and a pull request under construction. */
export class Scenario {
  readonly repo = new TestRepo();
  readonly api = new FakeGitHub(this.repo.dir, OWNER, REPO);
  base = '';
  constructor() {
    this.repo.write('policies/production.yaml', POLICY);
    this.repo.write('README.md', '# access\n');
    this.base = this.repo.commit('policy');
  }
  start(): Promise<string> {
    return this.api.start();
  }
  /** Starts a pull request branch from main. */
  branch(name = 'vendor-request'): void {
    this.repo.git('checkout', '-q', '-b', name, 'main');
  }
  /** Merges the current branch into main (fast-forward), making it the new base. */
  merge(): void {
    const head = headOf(this.repo.dir);
    this.repo.git('checkout', '-q', 'main');
    this.repo.git('merge', '-q', '--ff-only', head);
    this.base = head;
  }
  /** Runs the Action on pull request `n` at the current HEAD. */
  runPull(n: number, opts: { fork?: boolean; changedFiles?: number; token?: string; inputs?: Record<string, string>; env?: Record<string, string>; bundle?: boolean } = {}): Promise<RunResult> {
    const head = headOf(this.repo.dir);
    const pull = { ...this.api.pulls.get(n), base: this.base, head, fork: opts.fork };
    this.api.pulls.set(n, pull);
    return runAction({
      workspace: this.repo.dir,
      api: this.api.url,
      event: 'pull_request',
      payload: pullRequestPayload(n, this.base, head, { ...opts, createdAt: pull.createdAt }),
      sha: head,
      token: opts.token,
      inputs: opts.inputs,
      env: opts.env,
      bundle: opts.bundle,
    });
  }

  /** Runs the Action as a `schedule:` trigger would, on main (the scan of open pull requests). */
  runSchedule(opts: { inputs?: Record<string, string>; env?: Record<string, string>; bundle?: boolean } = {}): Promise<RunResult> {
    const back = branchOf(this.repo.dir);
    this.repo.git('checkout', '-q', 'main');
    const done = runAction({ workspace: this.repo.dir, api: this.api.url, event: 'schedule', payload: { schedule: '*/10 * * * *' }, inputs: opts.inputs, env: opts.env, bundle: opts.bundle });
    return done.finally(() => this.repo.git('checkout', '-q', back));
  }
  async stop(): Promise<void> {
    await this.api.stop();
    this.repo.cleanup();
  }
}

/**
 * A fresh Scenario for each test (started before, stopped after), behind a
 * stable reference the test file can hold at module level.
 */
export function useScenario(): Scenario {
  let current: Scenario | undefined;
  beforeEach(async () => {
    current = new Scenario();
    await current.start();
  });
  afterEach(() => current?.stop());
  return new Proxy({} as Scenario, {
    get(_, key) {
      const v = Reflect.get(current!, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
    },
    set(_, key, value) {
      return Reflect.set(current!, key, value);
    },
  });
}
