/**
 * Each channel's payload for one event, in the shape its service documents.
 * Pure: no secret goes in here (the webhook signature and PagerDuty's
 * routing key are added by the sender). No message carries a button or an
 * action: a chat message starts the flow, only a signature approves.
 */
import { type NotifyEvent, dedupKey, factRows, headline } from './notify-message.js';

/** The generic webhook's JSON body (signed by the sender over these exact bytes). */
export function webhookBody(e: NotifyEvent, deliveryId: string): string {
  return JSON.stringify({ id: deliveryId, event: e.type, occurredAt: e.at, session: e.session, detail: e.detail ?? {} });
}

const cut = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * Slack incoming webhook, Block Kit. Every value a requester wrote goes in
 * `plain_text` objects, which Slack never parses for mentions or links, so a
 * reason of `<!channel>` or `<https://x|click>` stays text. Limits: header 150,
 * field 2000, section text 3000, 10 fields per section.
 */
export function slackBody(e: NotifyEvent): unknown {
  const rows = factRows(e);
  const short = rows.filter(([k]) => k !== 'Reason');
  const fields = short.map(([k, v]) => ({ type: 'plain_text', text: cut(`${k}: ${v}`, 2000) }));
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: cut(headline(e), 150) } }];
  for (let i = 0; i < fields.length; i += 10) blocks.push({ type: 'section', fields: fields.slice(i, i + 10) });
  blocks.push({ type: 'section', text: { type: 'plain_text', text: cut(`Reason: ${e.session.reason}`, 3000) } });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${e.session.link}|Open the approval page>\nApprove only by signing, with:\n\`\`\`${e.session.approveCommand}\`\`\`` } });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `breakglass · ${e.type} · ${e.session.repository}` }] });
  return { text: cut(headline(e), 3000), blocks };
}

/**
 * Microsoft Teams workflow webhook ("When a Teams webhook request is
 * received"): a message whose `attachments` hold one Adaptive Card.
 * Version 1.4, the highest Teams renders everywhere.
 */
export function teamsBody(e: NotifyEvent): unknown {
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      { type: 'TextBlock', text: headline(e), weight: 'Bolder', size: 'Medium', wrap: true },
      { type: 'FactSet', facts: factRows(e).map(([title, value]) => ({ title, value })) },
      { type: 'TextBlock', text: `Approval page: ${e.session.link}`, wrap: true },
      { type: 'TextBlock', text: 'Approve only by signing, with:', wrap: true },
      { type: 'TextBlock', text: e.session.approveCommand, fontType: 'Monospace', wrap: true },
    ],
  };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

/** Events that close the session's PagerDuty incident; every other event triggers (or updates) it. */
const RESOLVES = new Set(['rejected', 'ended', 'revoked']);

/** PagerDuty Events API v2 body, without `routing_key` (the sender adds it). One incident per session: `dedup_key`. */
export function pagerDutyBody(e: NotifyEvent, severity: string): Record<string, unknown> {
  const dedup_key = dedupKey(e.session);
  if (RESOLVES.has(e.type)) return { event_action: 'resolve', dedup_key };
  return {
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: cut(headline(e), 1024),
      source: e.session.repository,
      severity: e.type === 'failed' ? 'error' : severity,
      timestamp: e.at,
      component: e.session.resource,
      group: e.session.repository,
      class: e.type,
      custom_details: Object.fromEntries([...factRows(e), ['Approve with', e.session.approveCommand]]),
    },
    links: [{ href: e.session.link, text: 'Approval page' }],
    client: 'breakglass',
    client_url: e.session.link,
  };
}

/** An e-mail: subject and plain text body. */
export function emailMessage(e: NotifyEvent): { subject: string; text: string } {
  const rows = factRows(e);
  const width = Math.max(...rows.map(([k]) => k.length));
  const text = [
    headline(e),
    '',
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    `Approval page: ${e.session.link}`,
    `Approve only by signing, with:`,
    `  ${e.session.approveCommand}`,
    '',
    `-- breakglass, ${e.session.repository}`,
  ].join('\n');
  // A subject is one line: no newline from a requester's text can add headers.
  return { subject: cut(`[breakglass] ${headline(e)}`.replace(/[\r\n]+/g, ' '), 200), text };
}
