/**
 * The real runner (bin/breakglass.js, real API server, real git) telling
 * every channel's local service about each event of a session's life:
 * activated, expiring, revoked (with the proof), ended, failed (with its
 * code). The webhook's HMAC verifies, no payload and nothing in the state
 * directory holds a secret, a 500-then-200 channel gets the message exactly
 * once more, and a channel that never answers does not hold up a teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BIN, NODE } from '../../src/dev/exec.js';
import { HangingServer, NotifyLab } from '../fakes/notify-services.js';
import { RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

/** A runner environment whose config has a `notify:` list. */
class NotifyEnv extends RunnerEnv {
  notify: unknown[] = [];
  protected override runnerResources(): { resources: Record<string, unknown>; extra?: Record<string, unknown> } {
    const r = super.runnerResources();
    return { ...r, extra: { ...r.extra, notify: this.notify } };
  }
}

type Hook = { id: string; event: string; session: { session: string; privilege: string; requester: string; reason: string; approvals: { have: number; need: number }; link: string; approveCommand: string }; detail: Record<string, unknown> };

/** Every file under `dir`, read as text. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(readFileSync(p, 'latin1'));
  }
  return out;
}

describe('runner notifications through every channel', () => {
  const lab = new NotifyLab();
  const env = new NotifyEnv(cluster);
  const logs: string[] = [];
  const run = async (extra: NodeJS.ProcessEnv = {}) => {
    const r = await env.runner(['--once'], { ...lab.env(), BREAKGLASS_NOTIFY_BACKOFF_MS: '0', BREAKGLASS_NOTIFY_TIMEOUT_MS: '5000', BREAKGLASS_REVOCATION_ATTEMPTS: '30', ...extra });
    logs.push(r.stderr, r.stdout);
    return r;
  };
  const hooks = (session: string, event?: string) => lab.webhook.requests.map((r) => JSON.parse(r.body) as Hook).filter((h) => h.session.session === session && (!event || h.event === event));
  const slack = (session: string, words: string) => lab.slack.messages.filter((m) => String(m.text).includes(session) && String(m.text).includes(words));
  const teams = (session: string, words: string) => lab.teams.runs.filter((r) => JSON.stringify(r.card).includes(`${session}`) && JSON.stringify(r.card).includes(words));
  const mails = (session: string, words: string) => lab.smtp.mails.filter((m) => m.raw.includes(session) && m.raw.replace(/=\r?\n/g, '').replace(/\r?\n[ \t]+/g, ' ').includes(words));

  beforeAll(async () => {
    await lab.start();
    // expiringBefore 1h: a 15-minute session is inside its lead time from the first loop after activation.
    env.notify = (lab.channels() as Record<string, unknown>[]).map((c) => ({ ...c, expiringBefore: '1h' }));
    await env.setup();
  });
  afterAll(async () => {
    await env.cleanup();
    await lab.stop();
  });

  it('activated: every channel hears it, naming the session, privilege, requester, reason, k of n, the commit and the approve command', async () => {
    await env.addSession('ntf-life', { duration: '15m' });
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    const [h] = hooks('ntf-life', 'activated');
    expect(h?.session).toMatchObject({ privilege: 'view', requester: 'oncall@vendor.example', approvals: { have: 1, need: 1 } });
    expect(h!.session.reason).toMatch(/^INC-\d+: emergency access/);
    expect(h!.session.link).toMatch(/^https:\/\/github\.com\/customer\/access\/commit\/[0-9a-f]{40}$/);
    expect(h!.session.approveCommand).toMatch(/approve ntf-life --key <your-key\.asc> --commit$/);
    expect(h!.detail.expires).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(slack('ntf-life', 'is active until')).toHaveLength(1);
    expect(teams('ntf-life', 'is active until')).toHaveLength(1);
    expect(mails('ntf-life', 'is active until')).toHaveLength(1);
    expect(lab.pagerduty.alerts.get('breakglass/github.com/customer/access/ntf-life')).toBe('triggered');
    expect(lab.teams.runs.every((x) => x.ok)).toBe(true);
  });

  it('expiring: once per channel, when the session is within the lead time', async () => {
    expect((await run()).code).toBe(0);
    expect((await run()).code).toBe(0);
    expect(hooks('ntf-life', 'expiring')).toHaveLength(1);
    expect(slack('ntf-life', 'expires at')).toHaveLength(1);
    expect(teams('ntf-life', 'expires at')).toHaveLength(1);
    expect(mails('ntf-life', 'expires at')).toHaveLength(1);
    expect(lab.pagerduty.events.filter((e) => (e.payload as { class?: string } | undefined)?.class === 'expiring')).toHaveLength(1);
  });

  it('revoked (with the TokenReview proof) and ended: every channel, and the PagerDuty incident is resolved', async () => {
    expect((await env.receive('ntf-life')).code).toBe(0);
    env.endSession('ntf-life');
    const r = await run();
    expect(r.code, r.stderr).toBe(0);
    expect(hooks('ntf-life', 'revoked')[0]?.detail.proof).toMatchObject({ method: 'TokenReview', result: 'unauthenticated' });
    expect(hooks('ntf-life', 'ended')[0]?.detail.endReason).toBe('end requested');
    // Revoked is queued before ended, and each channel keeps its queue's order.
    expect(hooks('ntf-life').map((h) => h.event)).toEqual(['activated', 'expiring', 'revoked', 'ended']);
    for (const words of ['access revoked (TokenReview: unauthenticated)', 'ended (end requested)']) {
      expect(slack('ntf-life', words)).toHaveLength(1);
      expect(teams('ntf-life', words)).toHaveLength(1);
      expect(mails('ntf-life', words)).toHaveLength(1);
    }
    expect(lab.pagerduty.alerts.get('breakglass/github.com/customer/access/ntf-life')).toBe('resolved');
    // The record is pushed in the same loop, before anything is sent.
    expect(env.remoteFile('sessions/ntf-life/record.yaml')).toMatch(/outcome: ended/);
    expect(r.stderr.indexOf('record ntf-life: pushed')).toBeLessThan(r.stderr.indexOf('notify webhook: revoked ntf-life'));
  });

  it('failed: every channel hears the failure code', async () => {
    await env.addSession('ntf-fail', { duration: '15m' });
    expect((await run({ BREAKGLASS_FAULT_KILL_AFTER: 'network' })).code).not.toBe(0);
    expect((await run()).code).toBe(0);
    expect(hooks('ntf-fail', 'failed')[0]?.detail).toMatchObject({ code: 'RUNNER_INTERRUPTED', step: 'interrupted' });
    expect(slack('ntf-fail', 'failed: RUNNER_INTERRUPTED')).toHaveLength(1);
    expect(teams('ntf-fail', 'failed: RUNNER_INTERRUPTED')).toHaveLength(1);
    expect(mails('ntf-fail', 'failed: RUNNER_INTERRUPTED')).toHaveLength(1);
    expect(lab.pagerduty.events.some((e) => (e.payload as { severity?: string; class?: string } | undefined)?.class === 'failed' && (e.payload as { severity: string }).severity === 'error')).toBe(true);
  });

  it('a channel that answers 500 then 200 gets the message exactly once more, in a later loop', async () => {
    lab.slack.failNext(() => true, { status: 500, text: 'rollup_error' }, 2);
    await env.addSession('ntf-retry', { duration: '15m' });
    const first = await run();
    expect(first.stderr).toMatch(/notify slack: activated ntf-retry \(delivery [0-9a-f-]+\): NOTIFY_HTTP_STATUS: HTTP 500: rollup_error; kept in the outbox/);
    expect(slack('ntf-retry', 'is active until')).toHaveLength(0);
    // Every other channel was not held up by Slack's failure.
    expect(hooks('ntf-retry', 'activated')).toHaveLength(1);
    await run();
    expect(slack('ntf-retry', 'is active until')).toHaveLength(1);
    expect(lab.slack.requests.filter((q) => q.body.includes('ntf-retry') && q.body.includes('is active until'))).toHaveLength(3);
    expect(readdirSync(join(env.state, 'notify', 'outbox')).filter((n) => !n.startsWith('.'))).toEqual([]);
  });

  it('activated survives a crash between delivery and queueing: the next loop queues it, once', async () => {
    await env.addSession('ntf-crash', { duration: '15m' });
    expect((await run({ BREAKGLASS_FAULT_KILL_AFTER: 'delivered' })).code).not.toBe(0);
    expect(hooks('ntf-crash', 'activated')).toHaveLength(0);
    expect((await run()).code).toBe(0);
    expect((await run()).code).toBe(0);
    expect(hooks('ntf-crash', 'activated')).toHaveLength(1);
    expect(slack('ntf-crash', 'is active until')).toHaveLength(1);
  });

  it('every webhook delivery carries an HMAC of its exact body that verifies with the shared secret', () => {
    expect(lab.webhook.requests.length).toBeGreaterThan(5);
    for (const r of lab.webhook.requests) {
      expect(r.headers['x-breakglass-signature']).toBe(`sha256=${createHmac('sha256', lab.webhook.secret).update(r.body).digest('hex')}`);
      expect(r.headers['x-breakglass-event']).toBe((JSON.parse(r.body) as Hook).event);
    }
  });

  it('no payload, log line or state file holds a channel secret, the session token or the sealed credential', () => {
    const token = env.kubeconfigToken('ntf-life');
    const secrets = [...lab.secrets(), token];
    const received = lab.received().join('\n');
    const state = filesUnder(join(env.state, 'notify')).join('\n');
    for (const s of secrets) {
      expect(received).not.toContain(s);
      expect(state).not.toContain(s);
      for (const l of logs) expect(l).not.toContain(s);
    }
    // The webhook URLs are credentials too: never in a log line.
    for (const l of logs) expect(l).not.toContain(lab.slack.webhookUrl);
  });
});

describe('when a channel never answers', () => {
  const lab = new NotifyLab();
  const hang = new HangingServer();
  const env = new NotifyEnv(cluster);
  let runner: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    await lab.start();
    await hang.start();
    env.notify = [{ type: 'webhook', name: 'hung', urlEnv: 'BG_HUNG_URL', secretEnv: 'BG_WEBHOOK_SECRET' }, { type: 'slack', urlEnv: 'BG_SLACK_URL' }];
    await env.setup();
  });
  afterAll(async () => {
    runner?.kill('SIGKILL');
    await env.cleanup();
    await hang.stop();
    await lab.stop();
  });

  /** Polls `check` until it holds (a guard against hanging forever, not a timing assertion). */
  async function until(what: string, check: () => boolean): Promise<void> {
    for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 100));
    if (!check()) throw new Error(`never happened: ${what}\n${log}`);
  }

  it('the session still ends, is torn down and recorded while the hung request is open; the other channel is not held up', async () => {
    runner = spawn(NODE, [BIN, 'runner', '--config', env.configFile], {
      cwd: env.root,
      env: { ...process.env, ...lab.env(), BG_HUNG_URL: hang.url, BREAKGLASS_RUNNER_ID: 'runner-a', BREAKGLASS_NOTIFY_TIMEOUT_MS: '600000', BREAKGLASS_REVOCATION_ATTEMPTS: '30' },
    });
    runner.stderr!.on('data', (c: Buffer) => (log += c.toString()));
    await env.addSession('ntf-hang', { duration: '15m' });
    await until('activated reaches Slack', () => lab.slack.messages.some((m) => String(m.text).includes('ntf-hang')));
    expect(hang.sockets.length).toBe(1);
    env.endSession('ntf-hang');
    await until('the record is pushed', () => env.remoteFile('sessions/ntf-hang/record.yaml') !== undefined);
    await until('Slack hears ended', () => lab.slack.messages.some((m) => String(m.text).includes('ntf-hang ended')));
    // Order, not time: the teardown and its record completed while the first notification to the hung channel was still unanswered.
    expect(env.remoteFile('sessions/ntf-hang/record.yaml')).toMatch(/outcome: ended[\s\S]*result: unauthenticated/);
    expect(hang.open).toBe(1);
    expect(log).not.toMatch(/notify hung: .*delivered/);
    // Its messages wait in the outbox for a later round.
    expect(readdirSync(join(env.state, 'notify', 'outbox')).filter((n) => !n.startsWith('.')).length).toBeGreaterThanOrEqual(3);
  });
});
