/**
 * Each channel against its local service (test/fakes/notify-services.ts):
 * the documented payload shape, the webhook's HMAC, retries that deliver
 * exactly once more, answers that are final, a hung service, and every
 * refused configuration by code.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliver, sendOnce } from '../src/adapters/notify-send.js';
import { NotifyConfig, resolveChannels, type ResolvedChannel } from '../src/core/notify-config.js';
import type { NotifyEvent } from '../src/core/notify-message.js';
import { HangingServer, NotifyLab } from './fakes/notify-services.js';

const lab = new NotifyLab();
let channels: ResolvedChannel[];
const byType = (t: string) => channels.find((c) => c.type === t)!;
const fast = { timeoutMs: 2000 };
const noWait = { attempts: 3, baseMs: 1, maxWaitMs: 5000 };

function event(type: NotifyEvent['type'], reason = 'INC-4411: api pods crash-looping after cert rotation'): NotifyEvent {
  return {
    type,
    at: '2026-11-21T02:20:00Z',
    session: {
      session: 'inc-4411-prod-crashloop',
      resource: 'prod-eu (kubernetes, policy production)',
      privilege: 'cluster-admin',
      duration: '1h requested',
      requester: 'oncall@vendor.example',
      reason,
      approvals: { have: 1, need: 2 },
      repository: 'github.com/customer/access',
      link: 'https://github.com/customer/access/pull/7',
      approveCommand: 'npx --yes breakglass@0.1.0 approve inc-4411-prod-crashloop --key <your-key.asc> --commit',
    },
    detail: type === 'failed' ? { code: 'PROVIDER_FAILED', step: 'network' } : {},
  };
}

beforeAll(async () => {
  await lab.start();
  channels = resolveChannels(NotifyConfig.parse(lab.channels()), lab.env());
});
afterAll(() => lab.stop());

describe('each channel gets the payload its service documents', () => {
  it('generic webhook: JSON body, event and delivery headers, and an HMAC-SHA256 of the exact body that verifies', async () => {
    expect(await sendOnce(byType('webhook'), event('requested'), 'd-1', fast)).toEqual({ ok: true });
    const r = lab.webhook.requests.at(-1)!;
    expect(r.headers['x-breakglass-event']).toBe('requested');
    expect(r.headers['x-breakglass-delivery']).toBe('d-1');
    expect(r.headers['x-breakglass-signature']).toBe(`sha256=${createHmac('sha256', lab.webhook.secret).update(r.body).digest('hex')}`);
    const body = JSON.parse(r.body) as { id: string; event: string; session: { session: string; approvals: unknown; link: string; approveCommand: string } };
    expect(body).toMatchObject({ id: 'd-1', event: 'requested', session: { session: 'inc-4411-prod-crashloop', approvals: { have: 1, need: 2 }, link: 'https://github.com/customer/access/pull/7' } });
    expect(body.session.approveCommand).toContain('approve inc-4411-prod-crashloop');
  });

  it('Slack: Block Kit accepted ("ok"), with the requester\'s words only in plain_text', async () => {
    expect(await sendOnce(byType('slack'), event('requested', 'INC-1: <!channel> <https://evil.example|click here>'), 'd-2', fast)).toEqual({ ok: true });
    const m = lab.slack.messages.at(-1)!;
    expect(m.text).toContain('Break-glass access requested: inc-4411-prod-crashloop');
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain('"type":"plain_text","text":"Reason: INC-1: <!channel> <https://evil.example|click here>"');
    expect(blocks).toContain('<https://github.com/customer/access/pull/7|Open the approval page>');
    expect(blocks).not.toContain('"type":"button"');
  });

  it('Slack: the preview text escapes <, > and &, so a privilege cannot mention @channel', async () => {
    const e = event('requested');
    e.session.privilege = '<!channel> & friends';
    expect(await sendOnce(byType('slack'), e, 'd-2b', fast)).toEqual({ ok: true });
    expect(lab.slack.messages.at(-1)!.text).toContain('(&lt;!channel&gt; &amp; friends on prod-eu');
  });

  it("Teams: a requester's Markdown link stays text", async () => {
    expect(await sendOnce(byType('teams'), event('requested', 'INC-2: [approve here](https://evil.example)'), 'd-3b', fast)).toEqual({ ok: true });
    const card = JSON.stringify(lab.teams.runs.at(-1)!.card);
    expect(card).toContain('INC-2: [approve here] (https://evil.example)');
    expect(card).not.toContain('](https://evil');
  });

  it('Teams: a message with one Adaptive Card, which the workflow runs without error', async () => {
    expect(await sendOnce(byType('teams'), event('approval-added'), 'd-3', fast)).toEqual({ ok: true });
    const run = lab.teams.runs.at(-1)!;
    expect(run).toMatchObject({ ok: true, card: { type: 'AdaptiveCard', version: '1.4' } });
    expect(JSON.stringify(run.card)).toContain('"title":"Approvals","value":"1 of 2"');
  });

  it('PagerDuty: trigger with one dedup key per session, resolve with the same key (202)', async () => {
    expect(await sendOnce(byType('pagerduty'), event('requested'), 'd-4', fast)).toEqual({ ok: true });
    expect(await sendOnce(byType('pagerduty'), event('rejected'), 'd-5', fast)).toEqual({ ok: true });
    const [t, r] = lab.pagerduty.events.slice(-2) as { event_action: string; dedup_key: string; payload?: { severity: string; summary: string } }[];
    expect(t).toMatchObject({ event_action: 'trigger', dedup_key: 'breakglass/github.com/customer/access/inc-4411-prod-crashloop', payload: { severity: 'critical' } });
    expect(r).toEqual({ routing_key: lab.pagerduty.routingKey, event_action: 'resolve', dedup_key: t!.dedup_key });
    expect(lab.pagerduty.alerts.get(t!.dedup_key)).toBe('resolved');
  });

  it('email: one plain-text message through real SMTP with AUTH, the subject on one line', async () => {
    expect(await sendOnce(byType('email'), event('failed', 'INC-9: two\r\nBcc: attacker@evil.example'), 'd-6', fast)).toEqual({ ok: true });
    const m = lab.smtp.mails.at(-1)!;
    expect(m).toMatchObject({ from: 'breakglass@customer.example', to: ['security@customer.example'], user: 'breakglass' });
    // Headers end at the first empty line; folded lines are unfolded as a mail reader does.
    const headers = m.raw.slice(0, m.raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
    expect(headers).toMatch(/^Subject: \[breakglass\] Break-glass session inc-4411-prod-crashloop failed: PROVIDER_FAILED at network$/m);
    expect(headers).not.toMatch(/^Bcc:/im);
  });

  it('no payload any service received carries a secret of any channel', () => {
    const all = lab.received().join('\n');
    for (const s of lab.secrets()) expect(all).not.toContain(s);
  });
});

describe('when a service fails', () => {
  it('a 500 then 200 delivers exactly once more', async () => {
    const before = lab.slack.messages.length;
    lab.slack.failNext(() => true, { status: 500, text: 'rollup_error' });
    const { result, tries } = await deliver(byType('slack'), event('requested'), 'd-7', fast, noWait);
    expect(result).toEqual({ ok: true });
    expect(tries).toBe(2);
    expect(lab.slack.messages.length - before).toBe(1);
  });

  it('a 429 waits the Retry-After it was given, then delivers', async () => {
    lab.pagerduty.failNext(() => true, {
      status: 429,
      headers: { 'retry-after': '0' },
      body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' },
    });
    const { result, tries } = await deliver(byType('pagerduty'), event('requested'), 'd-8', fast, noWait);
    expect([result, tries]).toEqual([{ ok: true }, 2]);
  });

  it('the wait is the Retry-After the service asked for, not the backoff', async () => {
    lab.slack.failNext(() => true, { status: 429, headers: { 'retry-after': '2' }, text: 'rate_limited' });
    const waits: number[] = [];
    const { result, tries } = await deliver(byType('slack'), event('requested'), 'd-8a', fast, { ...noWait, delay: async (ms) => void waits.push(ms) });
    expect([result, tries, waits]).toEqual([{ ok: true }, 2, [2000]]);
  });

  it('without a Retry-After the backoff doubles, and a round makes at most its attempts', async () => {
    lab.slack.failNext(() => true, { status: 503, text: 'down' });
    lab.slack.failNext(() => true, { status: 503, text: 'down' });
    lab.slack.failNext(() => true, { status: 503, text: 'down' });
    const waits: number[] = [];
    const { result, tries } = await deliver(byType('slack'), event('requested'), 'd-8b', fast, { attempts: 3, baseMs: 100, maxWaitMs: 5000, delay: async (ms) => void waits.push(ms) });
    expect([result, tries, waits]).toEqual([{ ok: false, code: 'NOTIFY_HTTP_STATUS', retryable: true, detail: 'HTTP 503: down' }, 3, [100, 200]]);
  });

  it('a Retry-After longer than the round allows ends the round, retryable, without waiting', async () => {
    lab.teams.failNext(() => true, { status: 429, headers: { 'retry-after': '3600' } });
    const { result, tries } = await deliver(byType('teams'), event('requested'), 'd-9', fast, noWait);
    expect(result).toMatchObject({ ok: false, code: 'NOTIFY_HTTP_STATUS', retryable: true, retryAfterMs: 3_600_000 });
    expect(tries).toBe(1);
  });

  it('an answer that will not change is final: Slack 404 no_service, PagerDuty 400 invalid event', async () => {
    const wrong = { ...byType('slack'), url: `${lab.slack.url}/services/T0001/B0001/revoked` };
    expect((await deliver(wrong, event('requested'), 'd-10', fast, noWait)).result).toEqual({ ok: false, code: 'NOTIFY_REJECTED', retryable: false, detail: 'HTTP 404: no_service' });
    const badKey = { ...byType('pagerduty'), routingKey: 'short' };
    const pd = await deliver(badKey, event('requested'), 'd-11', fast, noWait);
    expect(pd).toEqual({
      result: { ok: false, code: 'NOTIFY_REJECTED', retryable: false, detail: "HTTP 400: Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)" },
      tries: 1,
    });
  });

  it('a service that never answers times out (NOTIFY_TIMEOUT), and the failure names no URL', async () => {
    const hang = new HangingServer();
    await hang.start();
    try {
      const r = await sendOnce({ ...byType('webhook'), url: hang.url }, event('requested'), 'd-12', { timeoutMs: 300 });
      expect(r).toEqual({ ok: false, code: 'NOTIFY_TIMEOUT', retryable: true, detail: 'no answer within 300 ms' });
    } finally {
      await hang.stop();
    }
  });

  it('SMTP refusing the password is final (535), and the message was not sent', async () => {
    const before = lab.smtp.mails.length;
    const bad = { ...(byType('email') as Extract<ResolvedChannel, { type: 'email' }>), smtpAuth: { user: 'breakglass', pass: 'wrong' } };
    expect(await sendOnce(bad, event('requested'), 'd-13', fast)).toEqual({ ok: false, code: 'NOTIFY_SMTP', retryable: false, detail: 'SMTP 535' });
    expect(lab.smtp.mails.length).toBe(before);
  });
});

describe('a notify configuration is refused with a precise code', () => {
  const env = { U: 'https://hooks.example/x', S: 'secret' };
  const refused = (config: unknown, e: Record<string, string> = env) => {
    try {
      resolveChannels(NotifyConfig.parse(config), e);
    } catch (err) {
      return { code: (err as { code: string }).code, message: (err as Error).message };
    }
    return undefined;
  };

  it.each([
    ['a secret variable that is not set', [{ type: 'webhook', urlEnv: 'U', secretEnv: 'MISSING' }], 'NOTIFY_ENV_MISSING', 'environment variable MISSING is not set'],
    ['a webhook URL variable that is not set', [{ type: 'slack', urlEnv: 'NOPE' }], 'NOTIFY_ENV_MISSING', 'NOPE'],
    [
      'two channels with one name',
      [
        { type: 'slack', urlEnv: 'U' },
        { type: 'slack', urlEnv: 'U' },
      ],
      'NOTIFY_CHANNEL_DUPLICATE',
      'named slack',
    ],
    ['a plain-http URL to another machine', [{ type: 'teams', urlEnv: 'H' }], 'NOTIFY_URL_INSECURE', 'H must be an https URL'],
    ['a value that is no URL', [{ type: 'teams', urlEnv: 'S' }], 'NOTIFY_URL_INVALID', 'S does not hold a URL'],
    [
      'an SMTP user without a password',
      [{ type: 'email', smtp: { host: 'mail.example', userEnv: 'S' }, from: 'a@b.example', to: ['c@d.example'] }],
      'NOTIFY_ENV_MISSING',
      'both userEnv and passwordEnv',
    ],
    ['clear-text SMTP to another machine', [{ type: 'email', smtp: { host: 'mail.example', security: 'none' }, from: 'a@b.example', to: ['c@d.example'] }], 'NOTIFY_SMTP_INSECURE', 'loopback'],
  ])('%s', (_, config, code, words) => {
    const r = refused(config, { ...env, H: 'http://hooks.example/x' });
    expect(r?.code).toBe(code);
    expect(r?.message).toContain(words);
    // The message names variables, never their values.
    expect(r?.message).not.toContain('secret');
  });

  it("reads the design's shape ({ webhook: { url, secretEnv }, events }) as the flat one; a webhook needs exactly one of url and urlEnv", () => {
    const design = NotifyConfig.parse([{ webhook: { url: 'https://hooks.customer.example/bg', secretEnv: 'S' }, events: ['activated', 'ended'] }, { slack: { urlEnv: 'U' } }]);
    expect(design).toMatchObject([
      { type: 'webhook', url: 'https://hooks.customer.example/bg', secretEnv: 'S', events: ['activated', 'ended'] },
      { type: 'slack', urlEnv: 'U' },
    ]);
    const resolved = resolveChannels(design, { S: 'hmac-secret', U: 'https://hooks.slack.example/services/T/B/x' });
    expect(resolved.map((c) => [c.name, c.url])).toEqual([
      ['webhook', 'https://hooks.customer.example/bg'],
      ['slack', 'https://hooks.slack.example/services/T/B/x'],
    ]);
    // Two types in one entry, or none, stays a schema error; so does a Slack URL written in (it is itself a credential).
    expect(NotifyConfig.safeParse([{ webhook: { url: 'https://a.example', secretEnv: 'S' }, slack: { urlEnv: 'U' } }]).success).toBe(false);
    expect(NotifyConfig.safeParse([{ slack: { url: 'https://hooks.slack.com/services/T/B/x' } }]).success).toBe(false);
    const both = NotifyConfig.parse([{ type: 'webhook', url: 'https://a.example', urlEnv: 'H', secretEnv: 'S' }]);
    expect(() => resolveChannels(both, { H: 'https://a.example', S: 's' })).toThrow(expect.objectContaining({ code: 'NOTIFY_CONFIG_INVALID' }));
    const insecure = NotifyConfig.parse([{ webhook: { url: 'http://hooks.example/x', secretEnv: 'S' } }]);
    expect(() => resolveChannels(insecure, { S: 's' })).toThrow(expect.objectContaining({ code: 'NOTIFY_URL_INSECURE' }));
  });

  it('a URL written into the config instead of a variable name is a schema error', () => {
    expect(NotifyConfig.safeParse([{ type: 'slack', urlEnv: 'https://hooks.slack.com/services/T/B/x' }]).success).toBe(false);
    expect(NotifyConfig.safeParse([{ type: 'slack', url: 'https://hooks.slack.com/services/T/B/x' }]).success).toBe(false);
  });
});
