/**
 * The Markdown the Action publishes: the sticky PR comment and the job
 * summary. Every value from the repository goes through the core's escaping
 * renderer or `mdText`, so a request cannot inject markup or mentions.
 */
import type { Finding } from '../core/errors.js';
import { renderMarkdown } from '../core/view.js';
import type { Judgement, SessionReport } from './judge.js';

/** The hidden marker that identifies the one comment the Action owns on a pull request. */
export const COMMENT_MARKER = '<!-- breakglass:approval-view -->';

export const INFORMATIONAL_NOTICE =
  'Signature checks on this page are informational only. The runner verifies every approval against its own trust file, inside your account, and never against keys found in this repository.';

/** Escapes text for Markdown outside tables; `@` is broken so a value cannot mention people. */
export function mdText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'))
    .replace(/([`*_[\]#!|])/g, '\\$1')
    .replace(/@/g, '@\u200b')
    .replace(/\n/g, ' ');
}

/** Where a finding is, as the reader will see it in the repository. */
export type Where = (f: Finding) => string;

function findingsSection(findings: readonly Finding[], where: Where): string[] {
  const errors = findings.filter((f) => f.severity === 'error').length;
  if (findings.length === 0) return ['✅ **No findings.** File rules, schema and policy all pass.', ''];
  const head = errors ? `❌ **${errors} finding${errors === 1 ? '' : 's'}** must be fixed before this can be approved.` : '⚠️ Warnings only.';
  const out = [head, '', '| | where | code | problem |', '|---|---|---|---|'];
  for (const f of findings) out.push(`| ${f.severity === 'error' ? '❌' : '⚠️'} | \`${where(f).replace(/`/g, '')}:${f.line}:${f.col}\` | ${mdText(f.code)} | ${mdText(f.message)} |`);
  return [...out, ''];
}

function sessionSection(s: SessionReport): string[] {
  if (s.view) return [renderMarkdown(s.view), ''];
  return [`### Break-glass request \`${s.id}\``, '', `The request cannot be shown: it is missing or invalid (status: ${s.status}). See the findings above.`, ''];
}

/** The sticky PR comment: findings, then one approval view per session the pull request touches. */
export function renderComment(j: Judgement, where: Where, head: string, checkedWith: string): string {
  const out = [COMMENT_MARKER, '## breakglass', '', ...findingsSection(j.findings, where)];
  if (j.sessions.length === 0) out.push('This pull request touches no session.', '');
  for (const s of j.sessions) out.push(...sessionSection(s));
  out.push('> [!IMPORTANT]', `> ${INFORMATIONAL_NOTICE} Approval signatures here: ${mdText(checkedWith)}.`, '');
  out.push(`<sub>breakglass checked ${mdText(head.slice(0, 12))}.</sub>`);
  return out.join('\n');
}

/** The job summary: the comment's content on a pull request; a session table on a push. `title` is the Action's own text. */
export function renderSummary(j: Judgement, where: Where, title: string, checkedWith: string, withViews: boolean): string {
  const out = [`## breakglass: ${title}`, '', ...findingsSection(j.findings, where)];
  if (withViews) {
    for (const s of j.sessions) out.push(...sessionSection(s));
  } else if (j.sessions.length) {
    out.push('| session | status | resource | privilege | approvals |', '|---|---|---|---|---|');
    for (const s of j.sessions) {
      out.push(`| \`${s.id}\` | ${s.status} | ${mdText(s.resource ?? '')} | ${mdText(s.privilege ?? '')} | ${s.approvals.have} of ${s.approvals.need} |`);
    }
    out.push('');
  }
  out.push(`_${INFORMATIONAL_NOTICE} Approval signatures here: ${mdText(checkedWith)}._`);
  return out.join('\n');
}
