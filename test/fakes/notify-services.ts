/**
 * Local stand-ins for the notification services, each following its public
 * documentation, failure modes included:
 *
 * - Slack incoming webhooks (docs.slack.dev "Sending messages using incoming
 *   webhooks"; api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks):
 *   POST JSON `{ text, blocks }` to https://hooks.slack.com/services/T…/B…/<secret>;
 *   200 text/plain `ok`; 400 `invalid_payload` / `invalid_blocks` / `no_text`,
 *   403 `action_prohibited`, 404 `no_service` (a wrong or revoked URL),
 *   410 `channel_is_archived`, 429 with Retry-After (about one message per
 *   second per webhook), 500 `rollup_error`. Block Kit limits checked: header
 *   plain_text ≤ 150, section text ≤ 3000, ≤ 10 fields of ≤ 2000, ≤ 50 blocks.
 * - Microsoft Teams workflow webhooks (Power Automate "When a Teams webhook
 *   request is received"; learn.microsoft.com/power-automate/overview-adaptive-cards):
 *   the URL carries a SAS signature (`sig=`); 401 when it is wrong; any other
 *   JSON body is accepted with 202 Accepted and the flow runs afterwards: a
 *   body without `attachments[].contentType: application/vnd.microsoft.card.adaptive`
 *   and an AdaptiveCard `content` makes the run fail (recorded in `runs`),
 *   which the caller never sees. 429 with Retry-After when throttled.
 * - PagerDuty Events API v2 (developer.pagerduty.com/docs/events-API-v2/trigger-events,
 *   PagerDuty/developer-docs events-API-v2): POST /v2/enqueue; 202
 *   `{status:"success", message:"Event processed", dedup_key}`; 400
 *   `{status:"invalid event", message:"Event object is invalid", errors:[…]}`
 *   (routing_key of 32 characters, event_action trigger|acknowledge|resolve,
 *   trigger needs payload.summary ≤ 1024, source, severity
 *   critical|error|warning|info; dedup_key ≤ 255); 429 when rate limited;
 *   5xx to be retried. Alerts are kept per dedup_key: triggered or resolved.
 * - A generic webhook receiver that answers 200.
 * - A server that accepts connections and never answers (a hung channel).
 * - SMTP: the real `smtp-server` package on loopback (see smtpServer).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { HttpFake, type LoggedRequest } from './http-fake.js';

const json = (r: LoggedRequest): unknown => {
  try {
    return JSON.parse(r.body) as unknown;
  } catch {
    return undefined;
  }
};

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const plain = (x: unknown, max: number) => isObj(x) && (x.type === 'plain_text' || x.type === 'mrkdwn') && typeof x.text === 'string' && x.text.length <= max;

/** Slack's checks of a Block Kit message, as far as the blocks we send go. */
function slackBlocksError(blocks: unknown): string | undefined {
  if (!Array.isArray(blocks) || blocks.length > 50) return 'invalid_blocks';
  for (const b of blocks) {
    if (!isObj(b)) return 'invalid_blocks';
    if (b.type === 'header' && !(isObj(b.text) && b.text.type === 'plain_text' && plain(b.text, 150))) return 'invalid_blocks';
    if (b.type === 'section') {
      if (b.text !== undefined && !plain(b.text, 3000)) return 'invalid_blocks';
      if (b.fields !== undefined && !(Array.isArray(b.fields) && b.fields.length <= 10 && b.fields.every((f) => plain(f, 2000)))) return 'invalid_blocks';
      if (b.text === undefined && b.fields === undefined) return 'invalid_blocks';
    } else if (b.type === 'context') {
      if (!Array.isArray(b.elements) || !b.elements.every((e) => plain(e, 3000))) return 'invalid_blocks';
    } else if (b.type !== 'header') return 'invalid_blocks';
  }
  return undefined;
}

export class SlackFake extends HttpFake {
  readonly secret = randomBytes(12).toString('hex');
  readonly messages: Obj[] = [];
  constructor() {
    super((r, url) => {
      if (r.method !== 'POST') return { status: 405, text: 'invalid_method' };
      if (url.pathname !== `/services/T0001/B0001/${this.secret}`) return { status: 404, text: 'no_service' };
      const body = json(r);
      if (!isObj(body)) return { status: 400, text: 'invalid_payload' };
      if (typeof body.text !== 'string' && body.blocks === undefined) return { status: 400, text: 'no_text' };
      if (body.blocks !== undefined && slackBlocksError(body.blocks)) return { status: 400, text: slackBlocksError(body.blocks)! };
      this.messages.push(body);
      return { status: 200, text: 'ok' };
    });
  }
  get webhookUrl(): string {
    return `${this.url}/services/T0001/B0001/${this.secret}`;
  }
}

export class TeamsFake extends HttpFake {
  readonly sig = randomBytes(16).toString('base64url');
  /** Each accepted request starts a flow run; the run fails when the body is not a message with an Adaptive Card. */
  readonly runs: { ok: boolean; card?: Obj; error?: string }[] = [];
  constructor() {
    super((r, url) => {
      if (r.method !== 'POST' || !url.pathname.endsWith('/triggers/manual/paths/invoke')) return { status: 404, body: { error: { code: 'TriggerNotFound', message: 'The workflow trigger was not found.' } } };
      if (url.searchParams.get('sig') !== this.sig) return { status: 401, body: { error: { code: 'DirectApiInvalidAuthorizationSignature', message: 'The provided authorization signature is not valid.' } } };
      const body = json(r);
      if (body === undefined) return { status: 400, body: { error: { code: 'InvalidRequestContent', message: 'The request content is not valid JSON.' } } };
      this.runs.push(teamsRun(body));
      return { status: 202 };
    });
  }
  get webhookUrl(): string {
    return `${this.url}/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${this.sig}`;
  }
}

function teamsRun(body: unknown): TeamsFake['runs'][number] {
  const att = isObj(body) && Array.isArray(body.attachments) ? body.attachments : undefined;
  if (!att?.length) return { ok: false, error: "The 'attachments' property is null or empty." };
  const first = att[0];
  if (!isObj(first) || first.contentType !== 'application/vnd.microsoft.card.adaptive') return { ok: false, error: 'attachment is not an Adaptive Card' };
  const card = first.content;
  if (!isObj(card) || card.type !== 'AdaptiveCard' || typeof card.version !== 'string' || !Array.isArray(card.body)) return { ok: false, error: 'content is not an AdaptiveCard' };
  if (JSON.stringify(card).includes('"Action.')) return { ok: false, error: 'unexpected card action' };
  return { ok: true, card };
}

const PD_SEVERITIES = ['critical', 'error', 'warning', 'info'];

export class PagerDutyFake extends HttpFake {
  readonly routingKey = randomBytes(16).toString('hex');
  readonly events: Obj[] = [];
  readonly alerts = new Map<string, 'triggered' | 'resolved'>();
  constructor() {
    super((r, url) => {
      if (r.method !== 'POST' || url.pathname !== '/v2/enqueue') return { status: 404, body: { status: 'not found', message: 'Not found' } };
      const e = json(r);
      const errors = isObj(e) ? pdErrors(e) : ['Event object is not JSON'];
      if (errors.length) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
      const ev = e as Obj;
      if (ev.routing_key !== this.routingKey) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Invalid routing key'] } };
      const dedup = typeof ev.dedup_key === 'string' ? ev.dedup_key : randomBytes(16).toString('hex');
      this.events.push(ev);
      this.alerts.set(dedup, ev.event_action === 'resolve' ? 'resolved' : 'triggered');
      return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedup } };
    });
  }
  get enqueueUrl(): string {
    return `${this.url}/v2/enqueue`;
  }
}

function pdErrors(e: Obj): string[] {
  const out: string[] = [];
  if (typeof e.routing_key !== 'string' || e.routing_key.length !== 32) out.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  if (!['trigger', 'acknowledge', 'resolve'].includes(e.event_action as string)) out.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
  if (e.dedup_key !== undefined && (typeof e.dedup_key !== 'string' || e.dedup_key.length > 255)) out.push("'dedup_key' is invalid (max 255 characters)");
  if (e.event_action !== 'trigger') {
    if (typeof e.dedup_key !== 'string') out.push("'dedup_key' is missing or blank");
    return out;
  }
  const p = e.payload;
  if (!isObj(p)) return [...out, "'payload' is missing or invalid"];
  if (typeof p.summary !== 'string' || !p.summary || p.summary.length > 1024) out.push("'payload.summary' is missing, blank or too long (max 1024)");
  if (typeof p.source !== 'string' || !p.source) out.push("'payload.source' is missing or blank");
  if (!PD_SEVERITIES.includes(p.severity as string)) out.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
  return out;
}

/** A generic receiver: 200 for every POST. */
export class WebhookFake extends HttpFake {
  readonly secret = randomBytes(24).toString('hex');
  constructor() {
    super(() => ({ status: 200, body: { received: true } }));
  }
}

/** Accepts TCP connections and never answers: a channel that hangs. */
export class HangingServer {
  readonly sockets: Socket[] = [];
  private server?: Server;
  url = '';
  async start(): Promise<string> {
    this.server = createServer((s) => void this.sockets.push(s));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
    return this.url;
  }
  /** Requests that arrived and were never answered (still open). */
  get open(): number {
    return this.sockets.filter((s) => !s.destroyed).length;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
  user?: string;
}

/** The real smtp-server on loopback, plain (security: none), with AUTH PLAIN/LOGIN checked against one user. */
export class SmtpFake {
  readonly mails: ReceivedMail[] = [];
  readonly user = 'breakglass';
  readonly password = `pw-${randomBytes(12).toString('hex')}`;
  port = 0;
  private server?: SMTPServer;
  async start(): Promise<number> {
    this.server = new SMTPServer({
      secure: false,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth: (auth, _session, cb) => (auth.username === this.user && auth.password === this.password ? cb(null, { user: auth.username }) : cb(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))),
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          this.mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8'), user: session.user as string | undefined });
          cb();
        });
      },
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.server.address() as { port: number }).port;
    return this.port;
  }
  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Every service at once, with the environment and `notify:` list that point a sender at them. */
export class NotifyLab {
  readonly webhook = new WebhookFake();
  readonly slack = new SlackFake();
  readonly teams = new TeamsFake();
  readonly pagerduty = new PagerDutyFake();
  readonly smtp = new SmtpFake();

  async start(): Promise<this> {
    await Promise.all([this.webhook.start(), this.slack.start(), this.teams.start(), this.pagerduty.start(), this.smtp.start()]);
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.webhook.stop(), this.slack.stop(), this.teams.stop(), this.pagerduty.stop(), this.smtp.stop()]);
  }

  /** The variables the `notify:` list below names. */
  env(): Record<string, string> {
    return {
      BG_WEBHOOK_URL: `${this.webhook.url}/breakglass`,
      BG_WEBHOOK_SECRET: this.webhook.secret,
      BG_SLACK_URL: this.slack.webhookUrl,
      BG_TEAMS_URL: this.teams.webhookUrl,
      BG_PD_KEY: this.pagerduty.routingKey,
      BG_SMTP_USER: this.smtp.user,
      BG_SMTP_PASSWORD: this.smtp.password,
    };
  }

  channels(events?: string[]): unknown[] {
    const ev = events ? { events } : {};
    return [
      { type: 'webhook', urlEnv: 'BG_WEBHOOK_URL', secretEnv: 'BG_WEBHOOK_SECRET', ...ev },
      { type: 'slack', urlEnv: 'BG_SLACK_URL', ...ev },
      { type: 'teams', urlEnv: 'BG_TEAMS_URL', ...ev },
      { type: 'pagerduty', routingKeyEnv: 'BG_PD_KEY', apiUrl: this.pagerduty.enqueueUrl, ...ev },
      { type: 'email', smtp: { host: '127.0.0.1', port: this.smtp.port, security: 'none', userEnv: 'BG_SMTP_USER', passwordEnv: 'BG_SMTP_PASSWORD' }, from: 'breakglass@customer.example', to: ['security@customer.example'], ...ev },
    ];
  }

  /**
   * Every byte each service received, minus the one credential that service
   * must receive to accept it (PagerDuty's routing_key field; the SMTP
   * password only ever travels in AUTH, which `raw` does not include).
   */
  received(): string[] {
    const http = (f: HttpFake) => f.requests.map((r) => `${JSON.stringify(r.headers)}\n${r.body}`);
    const key = `"routing_key":"${this.pagerduty.routingKey}"`;
    return [...http(this.webhook), ...http(this.slack), ...http(this.teams), ...http(this.pagerduty).map((t) => t.replace(key, '"routing_key":"<its own key>"')), ...this.smtp.mails.map((m) => m.raw)];
  }

  /** The secrets of every channel (a message must carry none of them). */
  secrets(): string[] {
    return [this.webhook.secret, this.slack.secret, this.teams.sig, this.pagerduty.routingKey, this.smtp.password];
  }
}
