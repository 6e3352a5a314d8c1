/**
 * The Action notifying every channel's local service about a pull request's
 * sessions: requested, approval-added, rejected, and the policy's escalation
 * from the scheduled scan — once per interval, only while the request is
 * short of approvals, never after it is approved, rejected or closed, and
 * never changing the threshold.
 *
 * In-process (test/github-fake/harness.ts) except two bundle runs: the
 * secrets test (everything the process prints, stderr and what a bundled
 * library writes by itself included, after delivering to every channel
 * through the bundled clients, SMTP too), and the scheduled scan of the fork
 * test (the bundle's notify/schedule path).
 */
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotifyLab } from './fakes/notify-services.js';
import { approval, digestOf, isoSeconds, POLICY, rejection, request, useScenario } from './github-fake/harness.js';

const s = useScenario();
let lab: NotifyLab;

const NOTIFY = (l: NotifyLab) =>
  [
    `- { type: webhook, urlEnv: BG_WEBHOOK_URL, secretEnv: BG_WEBHOOK_SECRET }`,
    `- { type: slack, urlEnv: BG_SLACK_URL }`,
    `- { type: teams, urlEnv: BG_TEAMS_URL }`,
    `- { type: pagerduty, name: pager, routingKeyEnv: BG_PD_KEY, apiUrl: "${l.pagerduty.enqueueUrl}" }`,
    `- type: email`,
    `  name: security-mail`,
    `  smtp: { host: 127.0.0.1, port: ${l.smtp.port}, security: none, userEnv: BG_SMTP_USER, passwordEnv: BG_SMTP_PASSWORD }`,
    `  from: breakglass@customer.example`,
    `  to: [security@customer.example]`,
  ].join('\n');

const ESCALATING = POLICY.replace('allowSelfApproval: false }', 'allowSelfApproval: false, escalate: { after: 10m, notify: [pager, security-mail] } }');

let opts: { inputs: Record<string, string>; env: Record<string, string> };
beforeEach(async () => {
  lab = await new NotifyLab().start();
  opts = { inputs: { notify: NOTIFY(lab) }, env: lab.env() };
  s.repo.write('policies/production.yaml', ESCALATING);
  s.base = s.repo.commit('policy escalates after 10 minutes');
  return () => lab.stop();
});

const minutesAgo = (m: number) => isoSeconds(Date.now() - m * 60_000);
type Hook = {
  event: string;
  session: { session: string; approvals: { have: number; need: number }; link: string; approveCommand: string; privilege: string; reason: string };
  detail: { escalation?: { round: number } };
};
const hooks = () => lab.webhook.requests.map((r) => JSON.parse(r.body) as Hook);
const slackTexts = () => lab.slack.messages.map((m) => String(m.text));
const teamsTexts = () => lab.teams.runs.map((r) => JSON.stringify(r.card));
const mailSubjects = () => lab.smtp.mails.map((m) => /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(m.raw)![1]!.replace(/\r?\n[ \t]+/g, ' '));
const pdClasses = () => lab.pagerduty.events.map((e) => (e.payload as { class?: string } | undefined)?.class ?? String(e.event_action));

/** An approval with a signature beside it (shown as present, unverified: the Action has no trust input here). */
function approve(id: string, who: string, req: string): void {
  s.repo.write(`sessions/${id}/approvals/${who}.yaml`, approval(id, who, digestOf(req)));
  s.repo.write(`sessions/${id}/approvals/${who}.yaml.asc`, 'signature');
}

function openRequest(id: string, pr: number, openedMinutesAgo = 1): string {
  s.branch(`req-${id}`);
  const req = request(id);
  s.repo.write(`sessions/${id}/request.yaml`, req);
  s.repo.commit(`request ${id}`);
  s.api.pulls.set(pr, { base: s.base, head: s.repo.git('rev-parse', 'HEAD'), createdAt: minutesAgo(openedMinutesAgo) });
  return req;
}

describe('on the pull request', () => {
  it("requested reaches every channel once, in each service's documented shape, with the PR link and the approve command", async () => {
    openRequest('inc-7001-notify', 41);
    const r = await s.runPull(41, opts);
    expect(r.code, r.stdout).toBe(0);
    const [h] = hooks();
    expect(h).toMatchObject({
      event: 'requested',
      session: { session: 'inc-7001-notify', privilege: 'cluster-admin', approvals: { have: 0, need: 2 }, link: 'https://github.com/customer/access/pull/41' },
    });
    expect(h!.session.reason).toBe('INC-4411: api pods crash-looping after cert rotation');
    expect(h!.session.approveCommand).toMatch(/ approve inc-7001-notify --key <your-key\.asc> --commit$/);
    expect(slackTexts()).toEqual([expect.stringContaining('Break-glass access requested: inc-7001-notify (cluster-admin on prod-eu')]);
    expect(lab.teams.runs).toEqual([expect.objectContaining({ ok: true })]);
    expect(teamsTexts()[0]).toContain('https://github.com/customer/access/pull/41');
    expect(mailSubjects()).toEqual([expect.stringContaining('[breakglass] Break-glass access requested: inc-7001-notify')]);
    expect(lab.pagerduty.alerts.get('breakglass/github.com/customer/access/inc-7001-notify')).toBe('triggered');
    // The memory is in the comment, hidden; a second run at the same head sends nothing more.
    const comment = s.api.comments.get(41)![0]!.body;
    expect(comment).toMatch(/<!-- breakglass:notify-state [A-Za-z0-9_-]+ -->$/);
    expect((await s.runPull(41, opts)).code).toBe(0);
    expect([hooks().length, lab.slack.messages.length, lab.teams.runs.length, lab.smtp.mails.length, lab.pagerduty.events.length]).toEqual([1, 1, 1, 1, 1]);
  });

  it('approval-added when k grows, then rejected, which resolves the PagerDuty incident; the HMAC verifies on every webhook delivery', async () => {
    const req = openRequest('inc-7002-notify', 42);
    await s.runPull(42, opts);
    approve('inc-7002-notify', 'alice', req);
    s.repo.commit('alice approves');
    expect((await s.runPull(42, opts)).code).toBe(0);
    s.repo.write('sessions/inc-7002-notify/rejection.yaml', rejection('inc-7002-notify', digestOf(req), 'carol', 'Not during the change freeze; use the read-only role'));
    s.repo.commit('carol rejects');
    await s.runPull(42, opts);
    expect(hooks().map((h) => h.event)).toEqual(['requested', 'approval-added', 'rejected']);
    expect(hooks()[1]!.session.approvals).toEqual({ have: 1, need: 2 });
    expect(slackTexts()[1]).toBe('Approval added to inc-7002-notify: 1 of 2 approvals');
    expect(slackTexts()[2]).toBe('Break-glass request inc-7002-notify rejected');
    expect(mailSubjects()).toHaveLength(3);
    expect(lab.teams.runs.map((x) => x.ok)).toEqual([true, true, true]);
    expect(pdClasses()).toEqual(['requested', 'approval-added', 'resolve']);
    expect(lab.pagerduty.alerts.get('breakglass/github.com/customer/access/inc-7002-notify')).toBe('resolved');
    for (const q of lab.webhook.requests) {
      expect(q.headers['x-breakglass-signature']).toBe(`sha256=${createHmac('sha256', lab.webhook.secret).update(q.body).digest('hex')}`);
      expect(q.headers['x-breakglass-delivery']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
  });

  it('a channel that answers 500 then 200 gets the message exactly once more; one still failing is retried on the next run', async () => {
    openRequest('inc-7003-notify', 43);
    lab.slack.failNext(() => true, { status: 500, text: 'rollup_error' });
    lab.teams.failNext(() => true, { status: 503 }, 3);
    const r = await s.runPull(43, opts);
    expect(r.code, r.stdout).toBe(0);
    expect(lab.slack.requests.map(() => 1)).toHaveLength(2);
    expect(lab.slack.messages).toHaveLength(1);
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'warning', message: 'notify teams: requested inc-7003-notify: NOTIFY_HTTP_STATUS: HTTP 503; retried on the next run' }));
    expect(lab.teams.runs).toHaveLength(0);
    await s.runPull(43, opts);
    expect(lab.teams.runs).toHaveLength(1);
    expect([lab.slack.messages.length, hooks().length, lab.smtp.mails.length]).toEqual([1, 1, 1]);
  });

  it('no payload, comment or log line carries a channel secret or the token', async () => {
    openRequest('inc-7004-notify', 44);
    const r = await s.runPull(44, { ...opts, token: 'ghs_secret_token_for_the_scan', bundle: true });
    expect(r.code, r.stdout).toBe(0);
    // Every channel was sent to, so there was something to leak.
    expect([hooks().length, lab.slack.messages.length, lab.teams.runs.length, lab.smtp.mails.length, lab.pagerduty.events.length]).toEqual([1, 1, 1, 1, 1]);
    const seen = [...lab.received(), r.stdout, r.stderr, r.summary, ...[...s.api.comments.values()].flat().map((c) => c.body)].join('\n');
    for (const secret of [...lab.secrets(), lab.slack.webhookUrl, 'ghs_secret_token_for_the_scan']) expect(seen).not.toContain(secret);
  });

  it('a pull request from a fork sends nothing (its workflow has no secrets); the scheduled scan sends its requested', async () => {
    openRequest('inc-7005-notify', 45);
    const r = await s.runPull(45, { ...opts, fork: true, env: {} });
    expect(r.code, r.stdout).toBe(0);
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'notice', message: expect.stringContaining('the scheduled run sends them') }));
    expect(hooks()).toEqual([]);
    s.api.pulls.set(45, { ...s.api.pulls.get(45)!, fork: true });
    const scan = await s.runSchedule({ ...opts, bundle: true });
    expect(scan.code).toBe(0);
    expect(scan.stderr).toBe('');
    expect(hooks().map((h) => `${h.event} ${h.session.session}`)).toEqual(['requested inc-7005-notify']);
  });

  it.each([
    ['a secret variable that is not set', { BG_SLACK_URL: '' }, /NOTIFY_ENV_MISSING: notify channel slack: environment variable BG_SLACK_URL is not set/],
    ['a plain-http webhook to another machine', { BG_TEAMS_URL: 'http://hooks.example/x' }, /NOTIFY_URL_INSECURE: notify channel teams: BG_TEAMS_URL must be an https URL/],
  ])('refuses %s with its code, and sends nothing', async (_, env, message) => {
    openRequest('inc-7006-notify', 46);
    const r = await s.runPull(46, { ...opts, env: { ...opts.env, ...env } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(message);
    expect(hooks()).toEqual([]);
  });

  it('refuses a notify input that writes a URL instead of naming a variable (NOTIFY_CONFIG_INVALID), without echoing it', async () => {
    openRequest('inc-7007-notify', 47);
    const r = await s.runPull(47, { ...opts, inputs: { notify: `- { type: slack, url: "${lab.slack.webhookUrl}" }` } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::breakglass: NOTIFY_CONFIG_INVALID: input notify: /);
    expect(r.stdout).not.toContain(lab.slack.secret);
  });
});

describe('escalation from the scheduled scan', () => {
  const escalations = () => hooks().filter((h) => h.event === 'escalated');
  const escalated = (id: string) => [
    lab.pagerduty.events.filter((e) => (e.payload as { class?: string } | undefined)?.class === 'escalated' && JSON.stringify(e).includes(id)).length,
    mailSubjects().filter((x) => x.includes(`${id} still needs approvals`)).length,
  ];

  it('fires once per interval to the channels the policy names while the request lacks approvals, and stops once it is approved', async () => {
    const req = openRequest('inc-7101-escalate', 51, 5);
    expect((await s.runSchedule(opts)).code).toBe(0);
    expect(escalated('inc-7101-escalate')).toEqual([0, 0]);
    s.api.pulls.get(51)!.createdAt = minutesAgo(12);
    await s.runSchedule(opts);
    await s.runSchedule(opts);
    expect(escalated('inc-7101-escalate')).toEqual([1, 1]);
    // Only the channels the policy names: never the webhook, Slack or Teams.
    expect(escalations()).toEqual([]);
    expect(slackTexts().some((t) => t.includes('still needs'))).toBe(false);
    s.api.pulls.get(51)!.createdAt = minutesAgo(22);
    const r = await s.runSchedule(opts);
    expect(escalated('inc-7101-escalate')).toEqual([2, 2]);
    expect(mailSubjects().at(-1)).toBe('[breakglass] Break-glass request inc-7101-escalate still needs approvals (0 of 2 approvals) after 10m');
    // Escalation never lowers the threshold: the view still asks for 2.
    expect(s.api.comments.get(51)![0]!.body).toContain('| **Approvals** | 0 of 2 |');
    expect(r.stdout).not.toMatch(/::error/);
    // Approved: two approvals, then a later interval: no escalation.
    s.repo.git('checkout', '-q', 'req-inc-7101-escalate');
    for (const a of ['alice', 'bob']) approve('inc-7101-escalate', a, req);
    s.repo.commit('approved');
    s.api.pulls.set(51, { ...s.api.pulls.get(51)!, head: s.repo.git('rev-parse', 'HEAD'), createdAt: minutesAgo(32) });
    await s.runSchedule(opts);
    expect(escalated('inc-7101-escalate')).toEqual([2, 2]);
  });

  it('stops when the request is rejected, and when the pull request is closed', async () => {
    const req = openRequest('inc-7102-escalate', 52, 12);
    s.repo.git('checkout', '-q', 'main');
    openRequest('inc-7103-escalate', 53, 12);
    await s.runSchedule(opts);
    expect([escalated('inc-7102-escalate'), escalated('inc-7103-escalate')]).toEqual([
      [1, 1],
      [1, 1],
    ]);
    s.repo.git('checkout', '-q', 'req-inc-7102-escalate');
    s.repo.write('sessions/inc-7102-escalate/rejection.yaml', rejection('inc-7102-escalate', digestOf(req), 'carol', 'Not during the change freeze; use the read-only role'));
    s.repo.commit('rejected');
    s.api.pulls.set(52, { ...s.api.pulls.get(52)!, head: s.repo.git('rev-parse', 'HEAD'), createdAt: minutesAgo(25) });
    s.api.pulls.set(53, { ...s.api.pulls.get(53)!, createdAt: minutesAgo(25), closed: true });
    await s.runSchedule(opts);
    expect([escalated('inc-7102-escalate'), escalated('inc-7103-escalate')]).toEqual([
      [1, 1],
      [1, 1],
    ]);
    expect(
      hooks()
        .filter((h) => h.session.session === 'inc-7102-escalate')
        .map((h) => h.event),
    ).toEqual(['requested', 'rejected']);
  });

  it('names an escalation channel that is not configured (NOTIFY_CHANNEL_UNKNOWN) and still escalates to the others', async () => {
    openRequest('inc-7104-escalate', 54, 12);
    const onlyMail = {
      ...opts,
      inputs: {
        notify: NOTIFY(lab)
          .split('\n')
          .filter((l) => !l.includes('pagerduty'))
          .join('\n'),
      },
    };
    const r = await s.runSchedule(onlyMail);
    expect(r.annotations).toContainEqual(
      expect.objectContaining({ level: 'warning', message: 'NOTIFY_CHANNEL_UNKNOWN: the policy escalates inc-7104-escalate to pager, which the notify input does not configure' }),
    );
    expect(escalated('inc-7104-escalate')).toEqual([0, 1]);
  });
});
