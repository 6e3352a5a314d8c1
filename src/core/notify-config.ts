/**
 * `notify:`: the channels a runner (RunnerConfig) or the Action (its `notify`
 * input) tells about sessions, and the policy's `approvals.escalate`. Secrets
 * and webhook URLs are named by environment variable, never written here: a
 * Slack or Teams webhook URL is itself a credential (anyone holding it can
 * post), and a config file is read, copied and diffed by people who should
 * not be able to post as the runner.
 */
import { z } from 'zod';
import { BreakglassError } from './errors.js';

/** Events the Action sends (from a pull request) and the runner sends (from a session's life). */
export const ACTION_EVENTS = ['requested', 'approval-added', 'rejected', 'escalated'] as const;
export const RUNNER_EVENTS = ['activated', 'expiring', 'ended', 'revoked', 'failed'] as const;
export const NOTIFY_EVENTS = [...ACTION_EVENTS, ...RUNNER_EVENTS] as const;
export type NotifyEventType = (typeof NOTIFY_EVENTS)[number];

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as SLACK_WEBHOOK_URL');
const ChannelName = z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-"');
const LeadTime = z.string().regex(/^(?=\d)(?:\d+h)?(?:\d+m)?(?:\d+s)?$/, 'a duration such as 10m');

const common = {
  /** How escalation names the channel; defaults to its type. */
  name: ChannelName.optional(),
  /** Only these events (default: every event the sender has). `escalated` reaches a channel only through `approvals.escalate`. */
  events: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional(),
  /** The runner's `expiring` event fires this long before the session expires. */
  expiringBefore: LeadTime.default('10m'),
};

const CHANNEL_TYPES = ['webhook', 'slack', 'teams', 'pagerduty', 'email'] as const;

/**
 * The design's shape, `{ webhook: { url, secretEnv }, events: [...] }` or
 * `{ slack: { urlEnv } }`, read as the flat `{ type: webhook, url, secretEnv,
 * events }`. Anything else is left as written for the schema to judge.
 */
function designShape(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value) || 'type' in value) return value;
  const keys = Object.keys(value).filter((k) => (CHANNEL_TYPES as readonly string[]).includes(k));
  if (keys.length !== 1) return value;
  const type = keys[0] as string;
  const { [type]: inner, ...rest } = value as Record<string, unknown>;
  if (!inner || typeof inner !== 'object' || Array.isArray(inner)) return value;
  return { type, ...inner, ...rest };
}

const FlatChannel = z.discriminatedUnion('type', [
  // A generic webhook's URL may be written here (the HMAC secret is the credential) or named by urlEnv; never both.
  z.strictObject({ type: z.literal('webhook'), ...common, url: z.string().optional(), urlEnv: EnvName.optional(), secretEnv: EnvName }),
  z.strictObject({ type: z.literal('slack'), ...common, urlEnv: EnvName }),
  z.strictObject({ type: z.literal('teams'), ...common, urlEnv: EnvName }),
  z.strictObject({
    type: z.literal('pagerduty'),
    ...common,
    routingKeyEnv: EnvName,
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
    // The Events API v2 endpoint; a EU account, a proxy, or a local stand-in in tests.
    apiUrl: z.string().url().default('https://events.pagerduty.com/v2/enqueue'),
  }),
  z.strictObject({
    type: z.literal('email'),
    ...common,
    smtp: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      // starttls: upgrade required (refused if the server cannot); tls: TLS from the first byte (465); none: loopback relays only.
      security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
      userEnv: EnvName.optional(),
      passwordEnv: EnvName.optional(),
    }),
    from: z.string().email(),
    to: z.array(z.string().email()).min(1),
  }),
]);
export const NotifyChannel = z.preprocess(designShape, FlatChannel);
export type NotifyChannel = z.infer<typeof FlatChannel>;

export const NotifyConfig = z.array(NotifyChannel).max(20);
export type NotifyConfig = z.infer<typeof NotifyConfig>;

/** `approvals.escalate` in a policy: who else hears about a request still short of approvals. */
export const Escalate = z.strictObject({ after: LeadTime, notify: z.array(ChannelName).min(1) });
export type Escalate = z.infer<typeof Escalate>;

/** A channel with its secrets read from the environment: what a sender needs. Never persisted. */
export type ResolvedChannel = NotifyChannel & {
  name: string;
  /** The webhook URL (webhook, slack, teams) or the Events API URL (pagerduty). */
  url?: string;
  secret?: string;
  routingKey?: string;
  smtpAuth?: { user: string; pass: string };
};

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|\[::1\]|localhost)$/;

/** Plain http is refused except on loopback: the body names who is getting production access. */
function checkUrl(name: string, variable: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new BreakglassError('NOTIFY_URL_INVALID', `notify channel ${name}: ${variable} does not hold a URL`);
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.test(u.hostname))) {
    throw new BreakglassError('NOTIFY_URL_INSECURE', `notify channel ${name}: ${variable} must be an https URL (plain http only to a loopback address)`);
  }
  return value;
}

/**
 * Checks names and reads every secret the channels name from `env`. Throws a
 * BreakglassError whose message names the variable, never its value:
 * NOTIFY_ENV_MISSING, NOTIFY_CHANNEL_DUPLICATE, NOTIFY_URL_INVALID,
 * NOTIFY_URL_INSECURE, NOTIFY_SMTP_INSECURE.
 */
export function resolveChannels(config: NotifyConfig, env: Readonly<Record<string, string | undefined>>): ResolvedChannel[] {
  const seen = new Set<string>();
  return config.map((c) => {
    const name = c.name ?? c.type;
    if (seen.has(name)) throw new BreakglassError('NOTIFY_CHANNEL_DUPLICATE', `notify: two channels are named ${name}; give each a distinct name`);
    seen.add(name);
    const read = (variable: string) => {
      const v = env[variable];
      if (!v) throw new BreakglassError('NOTIFY_ENV_MISSING', `notify channel ${name}: environment variable ${variable} is not set`);
      return v;
    };
    switch (c.type) {
      case 'webhook': {
        if (!!c.url === !!c.urlEnv) throw new BreakglassError('NOTIFY_CONFIG_INVALID', `notify channel ${name}: a webhook needs exactly one of url and urlEnv`);
        const url = c.url ? checkUrl(name, 'url', c.url) : checkUrl(name, c.urlEnv as string, read(c.urlEnv as string));
        return { ...c, name, url, secret: read(c.secretEnv) };
      }
      case 'slack':
      case 'teams':
        return { ...c, name, url: checkUrl(name, c.urlEnv, read(c.urlEnv)) };
      case 'pagerduty':
        return { ...c, name, url: checkUrl(name, 'apiUrl', c.apiUrl), routingKey: read(c.routingKeyEnv) };
      case 'email': {
        if (!!c.smtp.userEnv !== !!c.smtp.passwordEnv) throw new BreakglassError('NOTIFY_ENV_MISSING', `notify channel ${name}: smtp needs both userEnv and passwordEnv, or neither`);
        const auth = c.smtp.userEnv && c.smtp.passwordEnv ? { user: read(c.smtp.userEnv), pass: read(c.smtp.passwordEnv) } : undefined;
        // A password over a clear-text connection to another machine is a password given away.
        if (c.smtp.security === 'none' && !LOOPBACK.test(c.smtp.host))
          throw new BreakglassError('NOTIFY_SMTP_INSECURE', `notify channel ${name}: smtp security none is allowed only to a loopback relay; use starttls or tls`);
        return { ...c, name, smtpAuth: auth };
      }
      default:
        throw new BreakglassError('NOTIFY_CONFIG_INVALID', `notify channel ${name}: unknown type`);
    }
  });
}

/** Whether `channel` takes `event` (escalations go only to the channels the policy names). */
export function wants(channel: Pick<ResolvedChannel, 'events'>, event: NotifyEventType): boolean {
  if (event === 'escalated') return false;
  return channel.events ? channel.events.includes(event) : true;
}
