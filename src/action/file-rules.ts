/**
 * What a pull request may change, judged from the file statuses GitHub
 * reports (`added`, `modified`, `removed`, `renamed`, …). Pure: the caller
 * supplies the changes, already in the canonical layout, and the repository
 * at the pull request's head.
 *
 * The rules exist because approvals bind exact bytes and history is the
 * audit trail: a request, once on the base branch, is what approvers signed;
 * approvals, rejections and end markers are history and are only ever added;
 * records are written by the runner on the default branch, never in a pull
 * request; a policy governs only the bytes its approvers signed.
 *
 * What this does NOT check: signatures (see approvals.ts, informational) or
 * schema and policy (validate). Files outside sessions/ and policies/ are not
 * judged at all.
 */
import { CLI_INVOCATION } from '../core/invocation.js';
import type { Finding } from '../core/errors.js';
import type { RepositoryModel } from '../core/repository.js';
import type { PullFile } from './github.js';

/** One changed file, renames split into a removal and an addition. */
export interface Change {
  path: string;
  kind: 'added' | 'modified' | 'removed';
}

/** Expands GitHub's statuses into add/modify/remove of canonical paths; `canonical` returns undefined for unjudged files. */
export function toChanges(files: readonly PullFile[], canonical: (repoPath: string) => string | undefined): Change[] {
  const out: Change[] = [];
  const push = (repoPath: string | undefined, kind: Change['kind']) => {
    const path = repoPath === undefined ? undefined : canonical(repoPath);
    if (path) out.push({ path, kind });
  };
  for (const f of files) {
    if (f.status === 'renamed') {
      // A rename removes the old path: renaming a request away is as much a change as deleting it.
      push(f.previous_filename, 'removed');
      push(f.filename, 'added');
    } else if (f.status === 'added' || f.status === 'copied') push(f.filename, 'added');
    else if (f.status === 'removed') push(f.filename, 'removed');
    else if (f.status === 'modified' || f.status === 'changed') push(f.filename, 'modified');
  }
  return out;
}

export interface FileRuleOptions {
  /** Distinct signed approvals a changed policy needs: the trust threshold when known, else 1. */
  policyApprovalsNeeded: number;
}

function finding(path: string, code: string, message: string, severity: Finding['severity'] = 'error'): Finding {
  return { file: path, line: 1, col: 1, code, message, severity };
}

function verb(kind: Change['kind']): string {
  return kind === 'removed' ? 'deletes' : 'changes';
}

function sessionRule(c: Change, id: string, rest: string): Finding | undefined {
  if (/^record\.yaml(\.asc)?$/.test(rest)) {
    return finding(
      c.path,
      'RECORD_IN_PULL_REQUEST',
      `this pull request ${c.kind === 'added' ? 'adds' : verb(c.kind)} ${c.path}; records are written and signed only by the runner, on the default branch, never in a pull request`,
    );
  }
  if (rest.startsWith('recording/')) {
    return finding(
      c.path,
      'RECORDING_IN_PULL_REQUEST',
      `this pull request ${c.kind === 'added' ? 'adds' : verb(c.kind)} ${c.path}; session recordings are written only by the runner, on the default branch, never in a pull request`,
    );
  }
  if (c.kind === 'added') return undefined;
  if (rest === 'request.yaml') {
    return finding(
      c.path,
      c.kind === 'removed' ? 'REQUEST_REMOVED' : 'REQUEST_CHANGED',
      `this pull request ${verb(c.kind)} the existing request of session ${id}; approvals bind its exact bytes, so any change voids them all. Open a new request with a new session id instead`,
    );
  }
  if (/^(approvals\/[^/]+\.yaml(\.asc|\.sigstore\.json)?|rejection\.yaml|end\.yaml)$/.test(rest)) {
    return finding(c.path, 'HISTORY_CHANGED', `this pull request ${verb(c.kind)} ${c.path}; approvals, rejections and end markers are history and may only be added`);
  }
  return undefined; // Anything else in a session folder is a layout finding of the repository model.
}

function policyRule(c: Change, head: RepositoryModel, opts: FileRuleOptions): Finding | undefined {
  const rest = c.path.slice('policies/'.length);
  if (rest.startsWith('approvals/')) {
    return c.kind === 'added' ? undefined : finding(c.path, 'HISTORY_CHANGED', `this pull request ${verb(c.kind)} ${c.path}; policy approvals are history and may only be added`);
  }
  const m = /^([^/]+)\.ya?ml$/.exec(rest);
  if (!m) {
    if (c.kind === 'removed') return undefined;
    return finding(c.path, 'POLICY_LAYOUT', `${c.path} is neither a policy (policies/<name>.yaml) nor a policy approval; nothing else can be approved in policies/, so keep it elsewhere`);
  }
  const name = m[1]!;
  if (c.kind === 'removed') {
    // Removing a policy only takes access away: the sessions it governed fail closed. Nothing exists to sign.
    return finding(c.path, 'POLICY_REMOVED', `this pull request deletes policy ${name}; the sessions it governed will be refused`, 'warning');
  }
  return policyApprovalRule(c.path, name, head, opts);
}

function policyApprovalRule(path: string, name: string, head: RepositoryModel, opts: FileRuleOptions): Finding | undefined {
  const file = head.policies.find((p) => p.path === path);
  if (!file) return undefined; // A .yml policy or an unreadable one: reported by the repository model.
  const signed = head.policyApprovals.filter((a) => a.policy === name && a.value?.digest === file.digest && a.signatures.length > 0);
  const approvers = new Set(signed.map((a) => a.value!.approver));
  if (approvers.size >= opts.policyApprovalsNeeded) return undefined;
  return finding(
    path,
    'POLICY_UNAPPROVED',
    `policy ${name} changes to ${file.digest} but carries ${approvers.size} of ${opts.policyApprovalsNeeded} signed approval${opts.policyApprovalsNeeded === 1 ? '' : 's'} for these bytes; an approver runs \`${CLI_INVOCATION} approve --policy ${name} --key <key>\` and commits policies/approvals/${name}/<approver>.yaml with its signature. Until then the runner will not use it`,
  );
}

/** Judges every change; returns findings at the changed files (line 1: the whole file is the problem). */
export function checkFileRules(changes: readonly Change[], head: RepositoryModel, opts: FileRuleOptions): Finding[] {
  const out: Finding[] = [];
  for (const c of changes) {
    const s = /^sessions\/([^/]+)\/(.+)$/.exec(c.path);
    const f = s ? sessionRule(c, s[1]!, s[2]!) : c.path.startsWith('policies/') ? policyRule(c, head, opts) : undefined;
    if (f) out.push(f);
  }
  return out;
}

/**
 * GitHub lists at most 3,000 files of a pull request. A change the list leaves
 * out is a change the rules never see, so a listing shorter than the pull
 * request's `changed_files` is itself a finding.
 */
export function checkListingComplete(listed: number, changedFiles: number | undefined): Finding[] {
  if (changedFiles === undefined || listed >= changedFiles) return [];
  return [
    finding(
      '.',
      'PULL_REQUEST_TOO_LARGE',
      `GitHub listed ${listed} of the ${changedFiles} files this pull request changes, so the file rules cannot see all of them; split it into smaller pull requests`,
    ),
  ];
}

/** Session ids a set of changes touches, in order. */
export function touchedSessions(changes: readonly Change[]): string[] {
  const ids = changes.map((c) => /^sessions\/([^/]+)\//.exec(c.path)?.[1]).filter((id): id is string => !!id);
  return [...new Set(ids)].sort();
}
