/**
 * The approval view: everything an approver must see before signing, with
 * nothing hidden. One data structure, rendered for a terminal (`show`,
 * `approve`) and as Markdown (the PR comment).
 */
import { CLI_INVOCATION } from './invocation.js';
import { buildArgv, showArgv } from './command.js';
import { formatDuration, formatTime } from './duration.js';
import { requestWindow, type Evaluation } from './policy.js';
import { privilegeCaution } from './privilege.js';
import { describeRule } from './gateway-request.js';
import type { PolicyResource, Request } from './schemas.js';
import { verdictText, type VerdictSummary } from './verdict.js';

export interface ApprovalEntry {
  approver: string;
  /** `verified` only when a signature was checked against trusted keys. */
  state: 'verified' | 'unverified' | 'invalid';
  detail?: string;
}

export interface ApprovalViewInput {
  request: Request;
  requestPath: string;
  requestDigest: string;
  evaluation: Evaluation;
  repository?: string;
  approvals: ApprovalEntry[];
  /** Where approval states came from, e.g. "repository keys (informational)". */
  approvalsCheckedWith?: string;
  rejection?: { by: string; reason: string };
  ended?: { by: string; reason?: string };
  recorded?: boolean;
  /** `verifySession`'s verdict, when signatures were checked against trust: it decides the status. */
  runner?: VerdictSummary;
  /**
   * The governing policy's own approval, when the caller looked (`show`):
   * `false` when nothing approves its current bytes, `undefined` when approval
   * files exist but their signatures were not checked. The runner uses a
   * policy only once its exact bytes are approved.
   */
  policyApproval?: { approved?: boolean; note: string };
}

export interface ApprovalView {
  id: string;
  rows: [string, string][];
  warnings: string[];
  verdict: { ok: boolean; lines: string[] };
  policyApproval?: { approved?: boolean; note: string };
  approvals: { have: number; need: number; entries: ApprovalEntry[] };
  status: string;
  commands: { approve: string; reject: string; gpg: string };
}

/** The exact command that approves session `id` (the view, the PR comment and every notification print this one). */
export function approveCommand(id: string): string {
  return `${CLI_INVOCATION} approve ${id} --key <your-key.asc> --commit`;
}

function groupFingerprint(fpr: string): string {
  return fpr
    .toUpperCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
}

/** The plain-gpg recipe: exact approval file content and the signing command. */
export function gpgRecipe(id: string, digest: string, repository: string): string {
  const dir = `sessions/${id}/approvals`;
  return [
    `# Approve ${id} with nothing but git and gpg (GNU date; on macOS use gdate).`,
    `# 1. Check that you are approving these exact bytes:`,
    `sha256sum sessions/${id}/request.yaml   # must print ${digest.slice('sha256:'.length)}`,
    `# 2. Write the approval (APPROVER is your name in the customer's trust file):`,
    `APPROVER=your-name`,
    `mkdir -p ${dir}`,
    `cat > "${dir}/$APPROVER.yaml" <<EOF`,
    `apiVersion: breakglass.dev/v1`,
    `kind: Approval`,
    `session: ${id}`,
    `request: ${digest}`,
    `repository: ${repository}`,
    `approver: $APPROVER`,
    `decision: approve`,
    `signed: $(date -u +%Y-%m-%dT%H:%M:%SZ)`,
    `expires: $(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)`,
    `nonce: "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')"`,
    `EOF`,
    `# 3. Sign the file's exact bytes (binary-mode detached signature) and commit:`,
    `gpg --armor --detach-sign --output "${dir}/$APPROVER.yaml.asc" "${dir}/$APPROVER.yaml"`,
    `git add ${dir} && git commit -m "Approve ${id}" && git push`,
  ].join('\n');
}

/** Every grant but plain `view` is warned about (cluster-admin in the plainest words); a command resource's privilege is free-form. */
function privilegeWarning(req: Request, ev: Evaluation): string | undefined {
  if (ev.governing && ev.governing.resource.type !== 'kubernetes') return undefined;
  return privilegeCaution(req.spec.privilege, req.spec.resource);
}

/**
 * Session recording and the gateway's guardrails (issue 12): what the approver
 * consents to is also what will be recorded, and what stays refused whatever
 * the privilege says.
 */
function recordingRows(r: PolicyResource): [string, string][] {
  if (r.recording === undefined && !r.deny?.length) return [];
  const rows: [string, string][] = [
    [
      'Recording',
      r.recording === 'required'
        ? "required: every request goes through the session gateway and is recorded, sealed to the customer's auditors; the session does not start if it cannot be recorded"
        : 'recorded when the runner routes this resource through its session gateway (not required by the policy); deny rules apply only then',
    ],
  ];
  for (const rule of r.deny ?? []) rows.push(['Gateway denies', describeRule(rule)]);
  return rows;
}

function durationText(req: Request, ev: Evaluation): string {
  const max = ev.governing ? ` (policy maximum ${ev.governing.resource.maxDuration})` : '';
  const eff =
    ev.effectiveSeconds !== undefined ? `; effective at most ${formatDuration(ev.effectiveSeconds)}${max}, shortened further by the runner's cap and the token lifetime the cluster grants` : '';
  return `${req.spec.duration} requested${eff}`;
}

/**
 * The status of a session still open. With a verified verdict, only that
 * verdict decides "complete": counting approvals that look fine is how a view
 * ends up promising what the runner then refuses.
 */
function openStatus(input: ApprovalViewInput, policyOk: boolean, enough: boolean): string {
  const r = input.runner;
  if (r) {
    if (r.approved) return 'approvals complete; merge to activate';
    return r.codes.every((c) => c === 'THRESHOLD_NOT_MET') ? 'waiting for approvals' : `blocked: ${verdictText(r)}`;
  }
  return !policyOk ? 'blocked by policy' : enough ? 'approvals complete; merge to activate' : 'waiting for approvals';
}

/** Builds the view; pure. */
export function buildApprovalView(input: ApprovalViewInput): ApprovalView {
  const { request: req, evaluation: ev } = input;
  const g = ev.governing;
  const rows: [string, string][] = [
    ['Session', req.metadata.id],
    ['Resource', g ? `${req.spec.resource} (${g.resource.type}, policy ${g.policy.metadata.name})` : req.spec.resource],
    ['Privilege', req.spec.privilege],
    ['Duration', durationText(req, ev)],
    ['Network', req.spec.network],
  ];
  if (req.spec.command) {
    const inputs =
      Object.entries(req.spec.command.inputs)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ') || '(none)';
    rows.push(['Command', `${req.spec.command.name} with inputs ${inputs}`]);
    if (g?.command) {
      try {
        rows.push(['Runs (argv)', showArgv(buildArgv(g.command.run, req.spec.command.inputs))]);
        if (g.command.revoke) rows.push(['Revokes (argv)', showArgv(buildArgv(g.command.revoke, req.spec.command.inputs))]);
      } catch {
        rows.push(['Runs (argv)', '(cannot be built: inputs do not fit the policy)']);
      }
    }
  }
  if (g?.resource.type === 'kubernetes') rows.push(...recordingRows(g.resource));
  rows.push(['Reason', req.spec.reason], ['Requester', req.metadata.requester], ['Recipient key', groupFingerprint(req.spec.recipient)]);
  const window = g && requestWindow(req, g.policy);
  rows.push(['Created', window ? `${req.metadata.created} (approve before ${formatTime(window.deadline)})` : req.metadata.created]);
  rows.push(['Request digest', input.requestDigest]);
  if (input.repository) rows.push(['Repository', input.repository]);
  if (input.runner) rows.push(['Verdict', verdictText(input.runner)]);

  const need = g ? g.policy.spec.approvals.required : 0;
  const counted = new Set(input.approvals.filter((a) => a.state !== 'invalid').map((a) => a.approver));
  const warnings = [privilegeWarning(req, ev)].filter((w): w is string => !!w);
  const verdict = ev.violations.length ? { ok: false, lines: ev.violations.map((v) => `${v.code}: ${v.message}`) } : { ok: true, lines: [`allowed by policy ${g?.policy.metadata.name ?? '?'}`] };
  let status = input.recorded
    ? 'recorded by the runner'
    : input.ended
      ? `ended by ${input.ended.by}${input.ended.reason ? `: ${input.ended.reason}` : ''}`
      : input.rejection
        ? `REJECTED by ${input.rejection.by}: ${input.rejection.reason}`
        : openStatus(input, verdict.ok, counted.size >= need);
  if (input.rejection && (input.recorded || input.ended)) status += ` (rejected by ${input.rejection.by}: ${input.rejection.reason})`;
  const repo = input.repository ?? '<host/owner/name>';
  return {
    id: req.metadata.id,
    rows,
    warnings,
    verdict,
    policyApproval: input.policyApproval,
    approvals: { have: counted.size, need, entries: input.approvals },
    status,
    commands: {
      approve: approveCommand(req.metadata.id),
      reject: `${CLI_INVOCATION} reject ${req.metadata.id} --reason "<why>" --commit`,
      gpg: gpgRecipe(req.metadata.id, input.requestDigest, repo),
    },
  };
}

function approvalLine(v: ApprovalView): string {
  const who = v.approvals.entries.map((a) => `${a.approver} (${a.state}${a.detail ? `: ${a.detail}` : ''})`).join(', ');
  return `${v.approvals.have} of ${v.approvals.need}${who ? ` — ${who}` : ''}`;
}

/** "OK" only when the rules allow the request and nothing says the policy itself is unapproved. */
function policyLabel(v: ApprovalView): string {
  if (!v.verdict.ok) return 'VIOLATIONS';
  if (v.policyApproval?.approved === false) return 'NOT IN FORCE: the rules allow this request, but the policy is not approved';
  if (v.policyApproval && v.policyApproval.approved === undefined) return 'the rules allow this request (policy approvals not verified here)';
  return 'OK';
}

/** Plain text for a terminal. Values are printed as-is: control characters never reach here (refused at parse). */
export function renderText(v: ApprovalView, checkedWith?: string): string {
  const width = Math.max(...v.rows.map(([k]) => k.length), 'Policy'.length);
  const lines = [`Break-glass request ${v.id}`, ''];
  for (const [k, val] of v.rows) lines.push(`  ${k.padEnd(width)}  ${val}`);
  for (const w of v.warnings) lines.push('', `  WARNING: ${w}`);
  lines.push('', `  ${'Policy'.padEnd(width)}  ${policyLabel(v)}`);
  for (const l of [...v.verdict.lines, ...(v.policyApproval ? [v.policyApproval.note] : [])]) lines.push(`  ${''.padEnd(width)}  ${l}`);
  lines.push(`  ${'Approvals'.padEnd(width)}  ${approvalLine(v)}`);
  if (checkedWith) lines.push(`  ${''.padEnd(width)}  (signatures checked with ${checkedWith})`);
  lines.push(`  ${'Status'.padEnd(width)}  ${v.status}`, '', 'To approve:', `  ${v.commands.approve}`, 'To reject:', `  ${v.commands.reject}`, 'To approve with plain gpg:');
  lines.push(...v.commands.gpg.split('\n').map((l) => `  ${l}`));
  return lines.join('\n');
}

function mdCell(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))
    .replace(/([`*_[\]#!])/g, '\\$1');
}

/** Markdown for the PR comment and job summary; every value escaped so a request cannot inject markup. */
export function renderMarkdown(v: ApprovalView, checkedWith?: string): string {
  const out = [`### Break-glass request \`${v.id}\``, ''];
  for (const w of v.warnings) out.push(`> [!WARNING]`, `> ${mdCell(w)}`, '');
  out.push('| | |', '|---|---|');
  for (const [k, val] of v.rows) out.push(`| **${k}** | ${mdCell(val)} |`);
  out.push(`| **Policy** | ${v.verdict.ok ? '✅' : '❌'} ${v.verdict.lines.map(mdCell).join('<br>')} |`);
  out.push(`| **Approvals** | ${mdCell(approvalLine(v))}${checkedWith ? `<br>_signatures checked with ${mdCell(checkedWith)}_` : ''} |`);
  out.push(`| **Status** | ${mdCell(v.status)} |`, '');
  // The commands stay in view (an approver should not have to hunt for them); the long gpg recipe folds.
  out.push('**To approve** (signs these exact request bytes with your key, then commits the approval):', '', '```sh', v.commands.approve, '```', '');
  out.push('**To reject** (the reason is shown to the requester):', '', '```sh', v.commands.reject, '```', '');
  out.push('<details><summary>Approve with nothing but <code>gpg</code></summary>', '', '```sh', v.commands.gpg, '```', '', '</details>');
  return out.join('\n');
}
