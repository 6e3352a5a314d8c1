/**
 * The runner as an operator runs it: the real binary in its loop, with a
 * metrics port and JSON logs, against the real API server and a real git
 * remote. Scraping /metrics through a whole session shows the counters and
 * histograms move; /readyz turns unready when the git remote goes away and
 * ready again when it returns; every log line is one JSON object with its
 * fixed fields and never the credential.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIN, NODE } from '../../src/dev/exec.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

/** Prometheus text exposition: `name{a="x",b="y"} value` lines, keyed exactly so. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return out;
}

/** Bounded polling for something the runner's loop will do; never a timing assertion. */
async function until(what: string, check: () => Promise<boolean> | boolean, tries = 240): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('a runner with a metrics port and JSON logs, through a real session', () => {
  const env = new RunnerEnv(cluster);
  const id = 'op-live';
  let child: ChildProcess;
  let stderr = '';
  let url = '';
  const get = async (path: string) => {
    const r = await fetch(`${url}${path}`);
    return { status: r.status, text: await r.text() };
  };
  const scrape = async () => samples((await get('/metrics')).text);

  beforeAll(async () => {
    await env.setup();
    const config = parse(env.configYaml());
    // Port 0: the runner logs the address it got. Unready after 2 missed polls of 1 s.
    writeFileSync(env.configFile, stringify({ ...config, metrics: { listen: '127.0.0.1:0', unreadyAfterPolls: 2 } }));
    child = spawn(NODE, [BIN, 'runner', '--config', env.configFile, '--log-format', 'json'], { cwd: env.root, env: { ...process.env, BREAKGLASS_RUNNER_ID: 'runner-op' } });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await until('the metrics address', () => /serving (http:\/\/[\d.:]+)\/metrics/.test(stderr));
    url = /serving (http:\/\/[\d.:]+)\/metrics/.exec(stderr)![1]!;
  });
  afterAll(async () => {
    child?.kill('SIGTERM');
    await env.cleanup();
  });

  it('counts the activation and the ending, and times activation, revocation and each loop', async () => {
    await until('a first successful poll', async () => ((await scrape()).get('breakglass_last_successful_poll_timestamp_seconds') ?? 0) > 0);
    const before = await scrape();
    expect(before.get('breakglass_activations_total{type="kubernetes"}')).toBe(0);
    await env.addSession(id, { duration: '15m' });
    await until('the activation', async () => (await scrape()).get('breakglass_activations_total{type="kubernetes"}') === 1);
    // The phase gauge is counted from the markers at the start of each loop: the next loop sees the session active.
    await until('the next loop to count it active', async () => (await scrape()).get('breakglass_sessions{phase="active"}') === 1);
    const active = await scrape();
    expect(active.get('breakglass_activation_duration_seconds_count')).toBe(1);
    expect(active.get('breakglass_activation_duration_seconds_sum')).toBeGreaterThan(0);
    expect((await env.receive(id)).code).toBe(0);

    env.endSession(id);
    await until('the ending and its record pushed', async () => {
      const m = await scrape();
      return m.get('breakglass_sessions_closed_total{outcome="ended"}') === 1 && m.get('breakglass_records_pending') === 0 && env.remoteFile(`sessions/${id}/record.yaml`) !== undefined;
    });
    await until('the next loop to count no open session', async () => (await scrape()).get('breakglass_sessions{phase="active"}') === 0);
    const after = await scrape();
    expect(after.get('breakglass_sessions{phase="ending"}')).toBe(0);
    expect(after.get('breakglass_teardown_revocation_seconds_count')).toBe(1);
    // The revocation proof waits out the API server's token cache: never zero.
    expect(after.get('breakglass_teardown_revocation_seconds_sum')).toBeGreaterThan(0);
    expect(after.get('breakglass_loop_duration_seconds_count')).toBeGreaterThan(before.get('breakglass_loop_duration_seconds_count')!);
    expect(after.get('breakglass_last_successful_poll_timestamp_seconds')).toBeGreaterThan(before.get('breakglass_last_successful_poll_timestamp_seconds')!);
    expect([...after.keys()].filter((k) => k.startsWith('breakglass_failures_total{'))).toEqual([]);
  });

  it('/healthz answers; /readyz turns unready when the git remote goes away, and ready when it is back', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, text: 'ok\n' });
    await until('ready', async () => (await get('/readyz')).status === 200);
    renameSync(env.remote, `${env.remote}.away`);
    try {
      // Unready because fetches fail (the log says so), not merely because a loop ran long.
      await until('a failed fetch', () => stderr.includes('"event":"fetch-failed"'));
      await until('unready', async () => (await get('/readyz')).status === 503);
      expect((await get('/readyz')).text).toMatch(/^last successful poll \d+s ago \(more than 2 poll intervals\)\n$/);
      expect((await scrape()).get('breakglass_ready')).toBe(0);
      expect((await get('/healthz')).status).toBe(200);
    } finally {
      renameSync(`${env.remote}.away`, env.remote);
    }
    await until('ready again', async () => (await get('/readyz')).status === 200);
  });

  it('logs one JSON object per line with time, level, session, event and code, and never the token', async () => {
    const lines = stderr.trim().split('\n');
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const o of objects) {
      expect(
        Object.keys(o).every((k) => ['time', 'level', 'session', 'event', 'code', 'msg'].includes(k)),
        JSON.stringify(o),
      ).toBe(true);
      expect(o.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['info', 'warn', 'error']).toContain(o.level);
    }
    const events = objects.filter((o) => o.session === id).map((o) => o.event);
    expect(events).toEqual(expect.arrayContaining(['activated', 'teardown', 'ended']));
    expect(objects.some((o) => o.event === 'fetch-failed' && o.code === 'GIT_UNREACHABLE')).toBe(true);
    const token = env.kubeconfigToken(id);
    expect(token.length).toBeGreaterThan(20);
    expect(stderr).not.toContain(token);
  });
});
