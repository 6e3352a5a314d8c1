/**
 * The post-incident review of one session, in Markdown: who requested and
 * approved, when it was active, what it did (from the verified recording,
 * when an auditor key opened it), why it ended, the revocation proof, the
 * audit's findings, and empty sections for the root cause and policy updates.
 *
 * Pure: the audit's session report, the signed record and the opened
 * recording in; text out. Every value from the repository or the recording
 * is attacker-controlled and goes through `md` or `code`, with no exception,
 * so a hostile reason cannot add a link, an image or HTML to the review.
 */
import type { SessionReport, TimelineEvent } from './audit-types.js';
import { summarizeActivity, timelineRows, type TimelineRow } from './recording-timeline.js';
import type { RecordingEvent } from './recording.js';
import type { Record } from './schemas.js';

/** What the review knows of the recording's contents. */
export type ReviewRecording =
  | { state: 'opened'; events: readonly RecordingEvent[] }
  | { state: 'no-key' }
  | { state: 'refused'; reasons: readonly { code: string; message: string }[] }
  | { state: 'not-recorded' };

export interface ReviewInput {
  session: SessionReport;
  record?: Record;
  recording: ReviewRecording;
  repository: string;
  /** When the review was written (RFC 3339). */
  at: string;
}

/** Markdown-safe inline text: every character Markdown or HTML could act on is escaped; newlines become spaces. */
export function md(value: unknown): string {
  return String(value ?? '')
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_{}[\]()<>#+\-.!|~&"']/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : `\\${c}`));
}

/** An inline code span that no backtick in the value can close early. */
export function code(value: unknown): string {
  const s = String(value ?? '').replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${/^`|`$/.test(s) || s === '' ? ` ${s} ` : s}${fence}`;
}

/** A code span inside a table cell: GFM splits cells at `|` even inside a code span unless it is escaped. */
const codeCell = (value: unknown) => code(value).replace(/\|/g, '\\|');

const when = (e: TimelineEvent | undefined) => (e?.at ? `${md(e.at)}${e.commit ? ` (commit ${code(e.commit.slice(0, 12))})` : ''}${e.detail ? ` — ${md(e.detail)}` : ''}` : 'never');

function summary(s: SessionReport, r: Record | undefined): string[] {
  const rows: [string, string][] = [
    ['Session', codeCell(s.id)],
    ['Status', md(s.status)],
    ['Requester', md(s.requester ?? 'unknown')],
    ['Resource', codeCell(s.resource ?? 'unknown')],
    ['Privilege', codeCell(s.privilege ?? 'unknown')],
    ['Requested duration', md(s.duration ?? 'unknown')],
    ['Reason', md(s.reason ?? 'unknown')],
  ];
  if (r) rows.push(['Runner', `${md(r.runner.id)} (key ${codeCell(r.runner.fingerprint)})`], ['Policy', `${codeCell(r.policy.name)} ${codeCell(r.policy.digest)}`]);
  return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
}

function approvals(s: SessionReport): string[] {
  const out = ['## Requested and approved', '', `- Requested: ${when(s.requested)}`];
  if (!s.approvals.length) return [...out, '- No approval files.'];
  out.push('', '| Approver | Key | Signed | On the branch | Counted at activation |', '|---|---|---|---|---|');
  for (const a of s.approvals)
    out.push(`| ${md(a.approver)} | ${a.key ? codeCell(a.key) : '—'} | ${md(a.signed ?? '—')} | ${md(a.committed)} ${codeCell(a.commit.slice(0, 12))} | ${a.accepted ? 'yes' : '**no**'} |`);
  return out;
}

function active(s: SessionReport, r: Record | undefined): string[] {
  const out = ['## When it was active', '', `- Activated: ${when(s.active)}`];
  if (r?.expires) out.push(`- Planned expiry: ${md(r.expires)}`);
  if (s.endRequested) out.push(`- End requested: ${when(s.endRequested)}`);
  out.push(`- Ended: ${when(s.ended)}`);
  if (r?.objects.length) out.push('', 'Objects the runner created for the session:', '', ...r.objects.map((o) => `- ${md(o.kind)} ${code(`${o.namespace ? `${o.namespace}/` : ''}${o.name}`)}`));
  if (r?.teardown)
    out.push(
      '',
      `Teardown completed ${md(r.teardown.completed)}: deleted ${r.teardown.deleted.length} of ${r.objects.length} object(s)${r.teardown.errors.length ? `; errors: ${r.teardown.errors.map(md).join('; ')}` : ''}.`,
    );
  return out;
}

function rowLine(r: TimelineRow): string {
  const argv = r.argv ? ` argv ${code(JSON.stringify(r.argv))}` : '';
  return `- ${md(r.time)} ${code(r.verb)} ${code(r.target)} → ${md(r.status)}${argv}`;
}

function activity(rec: ReviewRecording, s: SessionReport): string[] {
  const out = ['## What was done', ''];
  const integrity = s.recording
    ? `The recording has ${s.recording.chunks} chunk(s), chain head ${code(s.recording.head)}; ${s.recording.verified ? 'the audit verified it against the runner-signed record' : '**it does NOT match the runner-signed record** (see the findings)'}.`
    : undefined;
  if (rec.state === 'not-recorded') return [...out, 'The session was not recorded: its signed record names no recording (no gateway for this resource).'];
  if (rec.state === 'no-key')
    return [
      ...out,
      ...(integrity ? [integrity, ''] : []),
      "The recording's contents are not in this review: it was written without an auditor key (`--key`). Run `breakglass review` again with an auditor's key to list what was created, changed, deleted and exec'd.",
    ];
  if (rec.state === 'refused')
    return [...out, ...(integrity ? [integrity, ''] : []), '**The recording was refused, so nothing it says is shown:**', '', ...rec.reasons.map((x) => `- ${code(x.code)} ${md(x.message)}`)];
  const a = summarizeActivity(timelineRows(rec.events));
  const section = (title: string, rows: TimelineRow[]) => [`### ${title}`, '', ...(rows.length ? rows.map(rowLine) : ['None.']), ''];
  return [
    ...out,
    ...(integrity ? [integrity, ''] : []),
    ...section('Created', a.created),
    ...section('Changed', a.changed),
    ...section('Deleted', a.deleted),
    ...section("Exec'd, attached or port-forwarded", a.execd),
    ...section('Denied by policy', a.denied),
    ...section('Refused after the session ended', a.refused),
    `Reads (get, list, watch): ${a.reads}. The full timeline: \`breakglass replay ${s.id} --key <auditor key> --trust <trust file>\`.`,
  ];
}

function ending(s: SessionReport, r: Record | undefined): string[] {
  const out = [
    '## Why it ended',
    '',
    r
      ? `${md(r.endReason)} (outcome ${code(r.outcome)}${r.failure ? `; failed at ${md(r.failure.step)}: ${code(r.failure.code)} ${md(r.failure.message)}` : ''}).`
      : 'No runner record yet: the session is still open or was never activated.',
  ];
  out.push('', '## Revocation proof', '');
  if (!r?.revocation)
    out.push(
      r?.credential && r.credential.kind !== 'none' ? '**None**: a credential was delivered but the record holds no revocation proof.' : 'No credential was delivered, so none had to be revoked.',
    );
  else
    out.push(
      `- Method: ${code(r.revocation.method)}`,
      `- At: ${md(r.revocation.at)}`,
      `- Result: ${code(r.revocation.result)}${r.revocation.attempts ? ` after ${r.revocation.attempts} attempt(s)` : ''}`,
    );
  if (s.revocation && r?.credential?.sha256) out.push(`- Credential: ${code(r.credential.kind)}, SHA-256 ${code(r.credential.sha256)}`);
  return out;
}

/** Renders the review. */
export function renderReview(input: ReviewInput): string {
  const { session: s, record: r } = input;
  const findings = s.findings.length
    ? s.findings.map((f) => `- ${code(f.code)}${f.commit ? ` (commit ${code(f.commit.slice(0, 12))})` : ''} ${md(f.message)}`)
    : ['None: the audit found nothing wrong with this session.'];
  return [
    `# Post-incident review: ${md(s.id)}`,
    '',
    `Repository ${code(input.repository)}; written ${md(input.at)} by \`breakglass review\` from the git history, verified against the customer's trust file.`,
    '',
    ...summary(s, r),
    '',
    ...approvals(s),
    '',
    ...active(s, r),
    '',
    ...activity(input.recording, s),
    '',
    ...ending(s, r),
    '',
    '## Audit findings',
    '',
    ...findings,
    '',
    '## Root cause',
    '',
    '_To be written by the reviewers._',
    '',
    '## Policy updates',
    '',
    '_To be written by the reviewers: what the policies, deny rules or durations should change, and the pull request that changes them._',
    '',
  ].join('\n');
}
