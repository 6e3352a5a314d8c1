/**
 * Ctrl-C in `breakglass demo`: the real binary, its own private TMPDIR, and
 * a SIGINT once it has a cluster and keys. Afterwards nothing of it is left:
 * no directory (keys, repositories, the API server's PKI and etcd data) and
 * no process (etcd, kube-apiserver, gpg-agent) pointing into that TMPDIR.
 * Runs after the global setup has the kube-apiserver binary cached.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, NODE } from '../helpers/cli.js';

/** Live processes whose command line mentions `dir`. */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(dir)) found.push(`${e} ${cmd.split('\0').join(' ').slice(0, 120)}`);
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

describe('when the demo is interrupted with Ctrl-C', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-demo-int-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stops etcd and the API server and removes its keys and temporary directories', async () => {
    const child = spawn(NODE, [BIN, 'demo'], { env: { ...process.env, TMPDIR: dir, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    // Wait until the cluster runs and the keys exist (step 3 begins), then press Ctrl-C.
    const deadline = Date.now() + 600_000;
    while (!out.includes('[3/12]') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('[3/12]');
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    expect(processesUnder(dir).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited).toBe(2);
    expect(out).toContain('interrupted: stopping etcd and the API server, removing the keys and temporary directories');
    expect(readdirSync(dir)).toEqual([]);
    expect(processesUnder(dir)).toEqual([]);
  });
});
