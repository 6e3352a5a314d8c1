/**
 * The audit as one self-contained HTML page: inline CSS, no scripts, no
 * fonts, no network. Every value from the repository (ids, reasons, names,
 * messages) is attacker-controlled and goes through `esc`, with no exception.
 */
import type { AuditFinding, AuditReport, SessionReport, TimelineEvent } from '../core/audit.js';

/** Escapes text for HTML element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root{--ok:#1a7f37;--bad:#b42318;--bad-bg:#fef3f2;--muted:#667085;--line:#d0d5dd;--ink:#101828;--card:#fff;--bg:#f5f6f8}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
.wrap{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0;word-break:break-all}
.meta{color:var(--muted);margin:0 0 16px}code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:12px}
.verdict{padding:14px 18px;border-radius:10px;font-weight:600;font-size:16px;margin-bottom:12px}
.verdict.clean{background:#ecfdf3;color:var(--ok);border:1px solid #abefc6}.verdict.dirty{background:var(--bad-bg);color:var(--bad);border:1px solid #fecdca}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:20px}.chip{background:#fff;border:1px solid var(--line);border-radius:999px;padding:2px 10px;font-size:12px}
.chip.bad{border-color:#fda29b;color:var(--bad)}
.session{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:16px 18px;margin-bottom:16px}
.session.failing{border-left:6px solid var(--bad)}.session.passing{border-left:6px solid var(--ok)}
.head{display:flex;align-items:center;gap:10px;flex-wrap:wrap}.status{font-size:12px;border-radius:6px;padding:1px 8px;background:#f2f4f7;color:#344054}
.badge{font-size:12px;font-weight:600;border-radius:6px;padding:1px 8px}.badge.ok{background:#ecfdf3;color:var(--ok)}.badge.bad{background:var(--bad-bg);color:var(--bad)}
.facts{display:flex;flex-wrap:wrap;gap:4px 18px;margin:8px 0;color:#344054}.facts b{color:var(--muted);font-weight:500}
.reason{margin:4px 0 10px;color:#344054;font-style:italic;overflow-wrap:anywhere}
.timeline{display:flex;list-style:none;padding:0;margin:14px 0;position:relative}
.timeline li{flex:1;position:relative;padding-top:22px;min-width:0;padding-right:8px}
.timeline li::before{content:"";position:absolute;top:6px;left:0;right:0;height:2px;background:var(--line)}.timeline li:last-child::before{display:none}
.timeline li::after{content:"";position:absolute;top:0;left:0;width:14px;height:14px;border-radius:50%;background:var(--ok);border:2px solid #fff;box-shadow:0 0 0 1px var(--ok)}
.timeline li.missing::after{background:#fff;box-shadow:0 0 0 1px var(--line)}.timeline li.bad::after{background:var(--bad);box-shadow:0 0 0 1px var(--bad)}
.timeline .label{font-weight:600;display:block}.timeline time{display:block;font-size:12px}.timeline small{display:block;color:var(--muted);overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaecf0;vertical-align:top}th{font-size:12px;color:var(--muted);font-weight:500}
.findings{list-style:none;padding:0;margin:10px 0 0}.findings li{background:var(--bad-bg);border:1px solid #fecdca;border-radius:8px;padding:8px 10px;margin-top:6px;overflow-wrap:anywhere}
.findings .code{color:var(--bad);font-weight:700;margin-right:6px}
a.review{margin-left:auto;font-size:13px;color:#175cd3}
footer{color:var(--muted);font-size:12px;margin-top:24px}
`;

function when(e: TimelineEvent | undefined): string {
  return e?.at ? e.at.replace('T', ' ').replace('Z', ' UTC') : '—';
}

function step(label: string, e: TimelineEvent | undefined, bad = false): string {
  const cls = bad ? 'bad' : e?.at ? 'done' : 'missing';
  const commit = e?.commit ? ` <code>${esc(e.commit.slice(0, 12))}</code>` : '';
  return `<li class="${cls}"><span class="label">${esc(label)}</span><time>${esc(when(e))}</time>${commit}${e?.detail ? `<small>${esc(e.detail)}</small>` : ''}</li>`;
}

function approvedEvent(s: SessionReport): TimelineEvent | undefined {
  const counted = s.approvals.filter((a) => a.accepted);
  const list = counted.length ? counted : s.approvals;
  const last = [...list].sort((a, b) => a.committed.localeCompare(b.committed)).at(-1);
  return last && { at: last.committed, commit: last.commit, detail: `${counted.length} counted of ${s.approvals.length} approval file(s)` };
}

function timeline(s: SessionReport): string {
  const has = (...codes: string[]) => s.findings.some((f) => codes.includes(f.code));
  const steps = [
    step('Requested', s.requested, has('REQUEST_CHANGED')),
    step('Approved', approvedEvent(s), has('APPROVALS_INSUFFICIENT', 'APPROVAL_AFTER_ACTIVATION', 'UNAPPROVED_RECORD', 'POLICY_UNAPPROVED')),
    step('Active', s.active, has('ACTIVATION_OFF_BRANCH', 'HISTORY_REWRITTEN', 'DURATION_EXCEEDED')),
  ];
  if (s.endRequested) steps.push(step('End requested', s.endRequested, has('END_NOT_HONOURED')));
  steps.push(step('Ended', s.ended), step('Torn down', s.tornDown, has('TEARDOWN_INCOMPLETE')), step('Revoked', s.revocation, has('REVOCATION_UNPROVEN')));
  return `<ol class="timeline">${steps.join('')}</ol>`;
}

function fingerprint(fpr: string | undefined): string {
  return fpr ? esc(fpr.replace(/(.{4})(?=.)/g, '$1 ')) : '<span class="muted">not counted</span>';
}

function approvals(s: SessionReport): string {
  if (!s.approvals.length) return '<p class="meta">No approval files.</p>';
  const rows = s.approvals.map(
    (a) =>
      `<tr><td>${esc(a.approver)}</td><td class="mono">${fingerprint(a.key)}</td><td>${esc(when({ at: a.signed }))}</td><td>${esc(when({ at: a.committed }))} <code>${esc(a.commit.slice(0, 12))}</code></td><td>${a.accepted ? '<span class="badge ok">counted</span>' : '<span class="badge bad">not counted</span>'}</td></tr>`,
  );
  return `<table><thead><tr><th>Approver</th><th>Key fingerprint</th><th>Signed</th><th>On the branch</th><th>At activation</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function findingList(findings: readonly AuditFinding[]): string {
  if (!findings.length) return '';
  const items = findings.map(
    (f) => `<li><span class="code">${esc(f.code)}</span>${f.commit ? `<code>${esc(f.commit.slice(0, 12))}</code> ` : ''}${f.file ? `<code>${esc(f.file)}</code> ` : ''}${esc(f.message)}</li>`,
  );
  return `<ul class="findings">${items.join('')}</ul>`;
}

/** Where each session's post-incident review is, relative to the report (issue 12). */
export interface HtmlLinks {
  review?: (id: string) => string | undefined;
}

function recordingFact(s: SessionReport): string[][] {
  if (!s.recording) return [];
  return [['recording', `${s.recording.chunks} chunk(s), ${s.recording.verified ? 'chain verified' : 'does NOT match the signed record'}`]];
}

function reviewLink(s: SessionReport, links: HtmlLinks): string {
  const href = links.review?.(s.id);
  return href ? `<a class="review" href="${esc(encodeURI(href))}">Post-incident review</a>` : '';
}

function session(s: SessionReport, links: HtmlLinks = {}): string {
  const facts = [['requester', s.requester], ['resource', s.resource], ['privilege', s.privilege], ['duration', s.duration], ...recordingFact(s)]
    .filter(([, v]) => v)
    .map(([k, v]) => `<span><b>${esc(k)}</b> ${esc(v)}</span>`);
  const badge = s.findings.length ? `<span class="badge bad">${s.findings.length} finding(s)</span>` : '<span class="badge ok">no findings</span>';
  return `<article class="session ${s.findings.length ? 'failing' : 'passing'}" id="session-${esc(s.id)}">
<div class="head"><h2>${esc(s.id)}</h2><span class="status">${esc(s.status)}</span>${badge}${reviewLink(s, links)}</div>
<div class="facts">${facts.join('')}</div>${s.reason ? `<p class="reason">${esc(s.reason)}</p>` : ''}
${timeline(s)}${approvals(s)}${findingList(s.findings)}</article>`;
}

function chips(r: AuditReport): string {
  const all = [...r.findings, ...r.sessions.flatMap((s) => s.findings)];
  const counts = new Map<string, number>();
  for (const f of all) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
  const out = [`<span class="chip">${r.sessions.length} session(s)</span>`, `<span class="chip">${r.commits} commit(s)</span>`];
  for (const [code, n] of [...counts].sort()) out.push(`<span class="chip bad">${esc(code)} × ${n}</span>`);
  return `<div class="chips">${out.join('')}</div>`;
}

/** Renders the report as one HTML document. */
export function renderAuditHtml(r: AuditReport, links: HtmlLinks = {}): string {
  const total = r.findings.length + r.sessions.reduce((n, s) => n + s.findings.length, 0);
  const failing = r.sessions.filter((s) => s.findings.length).length;
  const verdict = r.clean
    ? '<div class="verdict clean">Clean: every session was approved, bounded and torn down.</div>'
    : `<div class="verdict dirty">${total} finding(s)${failing ? ` in ${failing} of ${r.sessions.length} session(s)` : ''}${r.findings.length ? `, ${r.findings.length} about policies` : ''}.</div>`;
  const repo = r.findings.length ? `<section class="session failing"><div class="head"><h2>Repository</h2></div>${findingList(r.findings)}</section>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>breakglass audit — ${esc(r.repository)}</title><style>${CSS}</style></head>
<body><div class="wrap">
<h1>breakglass audit</h1>
<p class="meta">${esc(r.repository)} · ${esc(r.branch)} at <code>${esc(r.head?.slice(0, 12) ?? '—')}</code> · audited ${esc(r.at)}</p>
${verdict}${chips(r)}${repo}
${r.sessions.map((s) => session(s, links)).join('\n')}
<footer>Generated by breakglass audit from git history alone. Times are UTC; commits are on the first-parent chain of ${esc(r.branch)} unless a finding says otherwise.</footer>
</div></body></html>
`;
}
