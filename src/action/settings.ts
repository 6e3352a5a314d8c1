/**
 * Every input the Action reads, read once, here and nowhere else: the
 * `with:` inputs, the runner's GITHUB_* variables and the event payload.
 * The rest of src/action receives a typed `Settings`; the environment is the
 * step's (`ActionIo.env`), so each module can be driven by a test with plain values.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, normalize } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BreakglassError } from '../core/errors.js';
import { NotifyConfig, resolveChannels, type ResolvedChannel } from '../core/notify-config.js';
import { messageOf } from '../crypto/error-parts.js';
import { input, type Env } from './io.js';

/** What triggered the run, reduced to what the Action acts on. */
export type EventInfo =
  | { kind: 'pull_request'; number: number; headSha: string; baseSha: string; fork: boolean; changedFiles?: number; createdAt?: string }
  | { kind: 'push'; sha: string; ref: string; defaultBranch?: string }
  | { kind: 'other'; name: string; sha: string };

export interface Settings {
  token: string;
  /** Folders in the repository holding sessions and policies (relative, normalized, no trailing slash). */
  sessionsPath: string;
  policiesPath: string;
  /** Repository keys for the informational signature check, relative to the workspace. */
  trustPath?: string;
  failOnFindings: boolean;
  comment: boolean;
  workspace: string;
  /** GITHUB_STEP_SUMMARY is set: the job summary can be written. */
  stepSummary: boolean;
  apiUrl: string;
  owner: string;
  repo: string;
  /** `host/owner/name`, the repository name approvals bind. */
  repositoryName: string;
  /** GITHUB_SERVER_URL: pull request links in notifications. */
  serverUrl: string;
  event: EventInfo;
  /** The `notify` input's channels with their secrets (issue 13); absent when not configured or skipped. */
  notify?: ResolvedChannel[];
  /** Why notifications are skipped on this run (a fork's pull request has no secrets). */
  notifySkipped?: string;
}

function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new BreakglassError('ACTION_ENV', `${name} is not set; this must run as a GitHub Actions step`);
  return v;
}

/** A repository-relative folder: refuses absolute paths and `..` so inputs cannot point outside the checkout. */
function repoFolder(input: string, name: string): string {
  const n = normalize(input.trim() || '.')
    .replace(/\\/g, '/')
    .replace(/\/+$/, '');
  if (isAbsolute(n) || n === '..' || n.startsWith('../')) {
    throw new BreakglassError('ACTION_INPUT', `input ${name} ${JSON.stringify(input)} must be a path inside the repository, such as ${name}`);
  }
  return n;
}

function booleanInput(env: Env, name: string, fallback: boolean): boolean {
  const raw = input(env, name).toLowerCase();
  if (raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new BreakglassError('ACTION_INPUT', `input ${name} is ${JSON.stringify(raw)}; use true or false`);
}

interface Payload {
  pull_request?: { number: number; changed_files?: number; created_at?: string; head: { sha: string; repo?: { full_name?: string } | null }; base: { sha: string; repo: { full_name: string } } };
  after?: string;
  ref?: string;
  repository?: { default_branch?: string };
}

function readEvent(env: Env): EventInfo {
  const name = required(env, 'GITHUB_EVENT_NAME');
  const path = env.GITHUB_EVENT_PATH;
  let payload: Payload = {};
  if (path) {
    try {
      payload = JSON.parse(readFileSync(path, 'utf8')) as Payload;
    } catch (e) {
      throw new BreakglassError('ACTION_EVENT', `cannot read the event payload ${path}: ${messageOf(e)}`, { cause: e });
    }
  }
  const pr = payload.pull_request;
  if ((name === 'pull_request' || name === 'pull_request_target') && pr) {
    // A fork's head repository differs from the base: its token is read-only.
    const fork = !!pr.head.repo?.full_name && pr.head.repo.full_name !== pr.base.repo.full_name;
    return { kind: 'pull_request', number: pr.number, headSha: pr.head.sha, baseSha: pr.base.sha, fork, changedFiles: pr.changed_files, createdAt: pr.created_at };
  }
  const sha = payload.after ?? env.GITHUB_SHA ?? 'HEAD';
  if (name === 'push') return { kind: 'push', sha, ref: payload.ref ?? env.GITHUB_REF ?? '', defaultBranch: payload.repository?.default_branch };
  return { kind: 'other', name, sha: env.GITHUB_SHA ?? 'HEAD' };
}

/**
 * The `notify` input: a YAML list of channels whose secrets are named by
 * environment variable. Errors never quote the input (a URL pasted into it by
 * mistake is a credential): they give the field path or the line.
 */
function readNotify(env: Env, event: EventInfo, comment: boolean): Pick<Settings, 'notify' | 'notifySkipped'> {
  const text = input(env, 'notify');
  if (!text) return {};
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 0 });
  } catch (e) {
    const at = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
    throw new BreakglassError('NOTIFY_CONFIG_INVALID', `input notify is not valid YAML${at ? ` (line ${at.line}, column ${at.col})` : ''}`);
  }
  const parsed = NotifyConfig.safeParse(doc);
  if (!parsed.success) {
    throw new BreakglassError('NOTIFY_CONFIG_INVALID', `input notify: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(the list)'}: ${i.message}`).join('; ')}`);
  }
  // The comment is the Action's memory of what it sent; without it every run would send everything again.
  if (!comment) throw new BreakglassError('NOTIFY_CONFIG_INVALID', 'input notify needs comment: true: what was sent is remembered in the comment');
  if (event.kind === 'pull_request' && event.fork) {
    return { notifySkipped: 'notifications are not sent from a pull request from a fork (its workflow gets no secrets); the scheduled run sends them' };
  }
  // The step's error line names the code (main.ts prints `breakglass: CODE: message`), so a workflow author can search for it.
  return { notify: resolveChannels(parsed.data, env) };
}

/** Reads every input and variable the Action uses; throws ACTION_* errors naming what is wrong. */
export function readSettings(env: Env): Settings {
  const [owner, repo] = required(env, 'GITHUB_REPOSITORY').split('/');
  if (!owner || !repo) throw new BreakglassError('ACTION_ENV', `GITHUB_REPOSITORY ${JSON.stringify(env.GITHUB_REPOSITORY)} is not owner/name`);
  const workspace = required(env, 'GITHUB_WORKSPACE');
  const host = new URL(env.GITHUB_SERVER_URL ?? 'https://github.com').host.toLowerCase();
  const trust = input(env, 'trust');
  const event = readEvent(env);
  const comment = booleanInput(env, 'comment', true);
  return {
    token: input(env, 'token'),
    sessionsPath: repoFolder(input(env, 'sessions') || 'sessions', 'sessions'),
    policiesPath: repoFolder(input(env, 'policies') || 'policies', 'policies'),
    trustPath: trust ? repoFolder(trust, 'trust') : undefined,
    failOnFindings: booleanInput(env, 'fail-on-findings', true),
    comment,
    workspace,
    stepSummary: !!env.GITHUB_STEP_SUMMARY,
    apiUrl: (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
    owner,
    repo,
    repositoryName: `${host}/${owner}/${repo}`,
    serverUrl: (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, ''),
    event,
    ...readNotify(env, event, comment),
  };
}
