/**
 * test/k8s/build-apiserver.sh without building anything: a private cache
 * directory, a lock held by another process, and a stub `apt-get` that fails
 * or hangs. What is checked is the script's own logic: one build per cache,
 * progress while it waits or works, and nothing half-done left behind.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/dev/exec.js';
import { ROOT } from './helpers/cli.js';

const SCRIPT = join(ROOT, 'test', 'k8s', 'build-apiserver.sh');
let dir: string;
let cache: string;
let stubs: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'breakglass-buildtest-'));
  cache = join(dir, 'cache');
  stubs = join(dir, 'stubs');
  mkdirSync(cache);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A stub kube-apiserver that answers --version, as a finished build leaves. */
function fakeBinary(path: string): void {
  writeFileSync(path, '#!/bin/sh\necho "Kubernetes v1.20.2"\n');
  chmodSync(path, 0o755);
}

/** Stub commands first on PATH: `apt-get` (and `sudo`) run `body`. */
function stubPath(body: string): string {
  mkdirSync(stubs, { recursive: true });
  for (const name of ['apt-get', 'sudo']) {
    writeFileSync(join(stubs, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(stubs, name), 0o755);
  }
  return `${stubs}:${process.env.PATH}`;
}

const env = (extra: NodeJS.ProcessEnv = {}) => ({ BREAKGLASS_CACHE: cache, BREAKGLASS_BUILD_TICK: '0.25', ...extra });

/** What the script leaves in the cache besides the binary, the log and the lock. */
function leftovers(): string[] {
  return existsSync(cache) ? readdirSync(cache).filter((n) => !['build.log', 'build.lock', 'kube-apiserver-1.20.2', 'gocache'].includes(n)) : [];
}

describe('build-apiserver.sh', () => {
  it('prints the cached binary at once when it is there', async () => {
    fakeBinary(join(cache, 'kube-apiserver-1.20.2'));
    const r = await run('bash', [SCRIPT], { cwd: dir, env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe(join(cache, 'kube-apiserver-1.20.2'));
    expect(r.stderr).toContain('cached:');
  });

  it('waits for the build that holds the lock, shows progress while it waits, then uses its binary', async () => {
    const bin = join(cache, 'kube-apiserver-1.20.2');
    // Another "build": holds the lock, writes the binary after a while, releases.
    const holder = spawn('flock', [join(cache, 'build.lock'), 'sh', '-c', `sleep 2; printf '#!/bin/sh\\necho v1.20.2\\n' > '${bin}'; chmod +x '${bin}'`], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const r = await run('bash', [SCRIPT], { cwd: dir, env: env() });
    await new Promise((r) => (holder.exitCode !== null ? r(null) : holder.once('exit', r)));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[build-apiserver\] \dm\d\ds waiting for another build of kube-apiserver/);
    expect(r.stderr).toMatch(/\[build-apiserver\] \dm\d\ds still: waiting for another build/);
    expect(r.stderr).toContain('built by the other process');
    expect(r.stdout.trim().split('\n').at(-1)).toBe(bin);
    expect(leftovers()).toEqual([]);
  });

  it('fails with its phase and the log tail, and leaves no temporary directory, when a step fails', async () => {
    const PATH = stubPath('echo "E: stub apt-get refuses" >&2; exit 100');
    const r = await run('bash', [SCRIPT], { cwd: dir, env: env({ PATH }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED after \dm\d\ds while: /);
    expect(r.stderr).toContain('E: stub apt-get refuses');
    expect(existsSync(join(cache, 'kube-apiserver-1.20.2'))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('removes its temporary directory and releases the lock on Ctrl-C mid-build', async () => {
    const PATH = stubPath('sleep 30');
    // Its own process group, as a terminal's foreground job: Ctrl-C reaches the script and what it runs.
    const child = spawn('bash', [SCRIPT], { cwd: dir, env: { ...process.env, ...env({ PATH }) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // Interrupt once it is working (past the lock, into a phase).
    for (let i = 0; i < 200 && !/still: /.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toMatch(/still: /);
    process.kill(-child.pid!, 'SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    expect(leftovers()).toEqual([]);
    expect(existsSync(join(cache, 'kube-apiserver-1.20.2'))).toBe(false);
    // The lock is free: a non-blocking flock succeeds.
    const lock = await run('flock', ['-n', join(cache, 'build.lock'), 'true'], { cwd: dir });
    expect(lock.code).toBe(0);
  });
});
