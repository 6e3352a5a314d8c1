/**
 * Sends one notification over one channel, with a hard timeout, and says
 * whether a failure is worth retrying. What each service answers:
 *   generic webhook  any 2xx
 *   Slack            200 "ok"; 400 invalid_payload, 403 action_prohibited,
 *                    404 channel_not_found, 410 channel_is_archived, 429 + Retry-After, 500 rollup_error
 *   Teams workflow   202 Accepted; 400 bad body, 401 bad signature in the URL, 429 + Retry-After
 *   PagerDuty v2     202 {status:"success"}; 400 {status:"invalid event", errors:[...]}, 429, 5xx
 *   SMTP             250; 4xx transient, 5xx permanent
 * 429, 408, 5xx, timeouts and network errors are retried; any other answer is
 * final (the same request would be refused again). Failure details never
 * include a URL, header or body we sent: Slack and Teams URLs are credentials.
 */
import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { ResolvedChannel } from '../core/notify-config.js';
import type { NotifyEvent } from '../core/notify-message.js';
import { emailMessage, pagerDutyBody, slackBody, teamsBody, webhookBody } from '../core/notify-render.js';
import { realDelay, retryAfterMs, type Delay } from './http.js';
import { withRetry } from './retry.js';

export type SendResult =
  | { ok: true }
  | { ok: false; code: 'NOTIFY_TIMEOUT' | 'NOTIFY_UNREACHABLE' | 'NOTIFY_HTTP_STATUS' | 'NOTIFY_REJECTED' | 'NOTIFY_SMTP'; retryable: boolean; detail: string; retryAfterMs?: number };

export interface SendOptions {
  /** Longest one attempt may take, connection to last byte. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>`, the X-Breakglass-Signature value. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

function httpRequest(ch: ResolvedChannel, e: NotifyEvent, deliveryId: string): { body: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'breakglass-notify', 'x-breakglass-event': e.type, 'x-breakglass-delivery': deliveryId };
  switch (ch.type) {
    case 'webhook': {
      const body = webhookBody(e, deliveryId);
      return { body, headers: { ...headers, 'x-breakglass-signature': signBody(ch.secret!, body) } };
    }
    case 'slack':
      return { body: JSON.stringify(slackBody(e)), headers };
    case 'teams':
      return { body: JSON.stringify(teamsBody(e)), headers };
    case 'pagerduty':
      return { body: JSON.stringify({ routing_key: ch.routingKey, ...pagerDutyBody(e, ch.severity) }), headers };
    default:
      throw new Error(`not an HTTP channel: ${ch.type}`);
  }
}

/** A short, secret-free note on an error answer: Slack's error string, PagerDuty's message and errors. */
function answerText(text: string): string {
  try {
    const j = JSON.parse(text) as { message?: unknown; errors?: unknown; error?: unknown };
    const parts = [j.message, j.error, Array.isArray(j.errors) ? j.errors.join('; ') : undefined].filter((x): x is string => typeof x === 'string');
    return parts.join(': ').slice(0, 200);
  } catch {
    return /^[\w .:;,-]{1,200}$/.test(text.trim()) ? text.trim() : '';
  }
}

/** The network error's own code (ECONNREFUSED…), never its message, which may name the URL. */
function networkCode(e: unknown): string {
  const c = (e as { cause?: { code?: unknown } }).cause?.code ?? (e as { code?: unknown }).code;
  return typeof c === 'string' ? c : 'network error';
}

async function sendHttp(ch: ResolvedChannel, e: NotifyEvent, deliveryId: string, o: SendOptions): Promise<SendResult> {
  const { body, headers } = httpRequest(ch, e, deliveryId);
  let res: Response;
  let text: string;
  try {
    const signal = AbortSignal.timeout(o.timeoutMs);
    res = await (o.fetch ?? fetch)(ch.url!, { method: 'POST', headers, body, signal, redirect: 'error' });
    text = await res.text();
  } catch (err) {
    const timeout = (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError';
    return timeout
      ? { ok: false, code: 'NOTIFY_TIMEOUT', retryable: true, detail: `no answer within ${o.timeoutMs} ms` }
      : { ok: false, code: 'NOTIFY_UNREACHABLE', retryable: true, detail: networkCode(err) };
  }
  if (res.ok) return { ok: true };
  const note = answerText(text);
  const detail = `HTTP ${res.status}${note ? `: ${note}` : ''}`;
  if (res.status === 429 || res.status === 408 || res.status >= 500) {
    return { ok: false, code: 'NOTIFY_HTTP_STATUS', retryable: true, detail, retryAfterMs: retryAfterMs(res.headers.get('retry-after'), Date.now()) };
  }
  return { ok: false, code: 'NOTIFY_REJECTED', retryable: false, detail };
}

async function sendEmail(ch: Extract<ResolvedChannel, { type: 'email' }>, e: NotifyEvent, deliveryId: string, o: SendOptions): Promise<SendResult> {
  const { smtp } = ch;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    auth: ch.smtpAuth,
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: o.timeoutMs,
  });
  const { subject, text } = emailMessage(e);
  try {
    await transport.sendMail({ from: ch.from, to: ch.to, subject, text, headers: { 'X-Breakglass-Event': e.type, 'X-Breakglass-Delivery': deliveryId } });
    return { ok: true };
  } catch (err) {
    const x = err as { responseCode?: number; code?: string };
    if (x.responseCode) return { ok: false, code: 'NOTIFY_SMTP', retryable: x.responseCode < 500, detail: `SMTP ${x.responseCode}` };
    return x.code === 'ETIMEDOUT'
      ? { ok: false, code: 'NOTIFY_TIMEOUT', retryable: true, detail: `no answer within ${o.timeoutMs} ms` }
      : { ok: false, code: 'NOTIFY_UNREACHABLE', retryable: true, detail: x.code ?? 'SMTP error' };
  } finally {
    transport.close();
  }
}

/** One attempt. */
export function sendOnce(ch: ResolvedChannel, e: NotifyEvent, deliveryId: string, o: SendOptions): Promise<SendResult> {
  return ch.type === 'email' ? sendEmail(ch, e, deliveryId, o) : sendHttp(ch, e, deliveryId, o);
}

export interface RetryPolicy {
  /** Attempts in this round, the first included. */
  attempts: number;
  /** Backoff before the n-th retry: baseMs * 2^(n-1), or Retry-After when the service says. */
  baseMs: number;
  /** A Retry-After longer than this ends the round (the next round retries). */
  maxWaitMs: number;
  delay?: Delay;
}

/** A failed attempt, thrown so the shared retry loop can judge it; `deliver` returns its result. */
class Unsent extends Error {
  readonly result: Extract<SendResult, { ok: false }>;
  constructor(result: Extract<SendResult, { ok: false }>) {
    super(result.detail);
    this.result = result;
  }
}

/** Up to `attempts` tries with backoff (adapters/retry.ts); returns the last result and how many requests were made. */
export async function deliver(ch: ResolvedChannel, e: NotifyEvent, deliveryId: string, o: SendOptions, p: RetryPolicy): Promise<{ result: SendResult; tries: number }> {
  let tries = 0;
  const once = async (): Promise<SendResult> => {
    tries++;
    const result = await sendOnce(ch, e, deliveryId, o);
    if (!result.ok) throw new Unsent(result);
    return result;
  };
  try {
    // A wait over maxWaitMs ends the round rather than holding the queue; the next round retries.
    const result = await withRetry(once, {
      attempts: p.attempts,
      baseMs: p.baseMs,
      maxDelayMs: p.maxWaitMs,
      giveUpAfterMs: p.maxWaitMs,
      delayFn: p.delay ?? realDelay,
      retryable: (x) => x instanceof Unsent && x.result.retryable,
      retryAfter: (x) => (x instanceof Unsent ? x.result.retryAfterMs : undefined),
    });
    return { result, tries };
  } catch (x) {
    if (x instanceof Unsent) return { result: x.result, tries };
    throw x;
  }
}
