/**
 * A local stand-in for the GitHub REST API endpoints the Action calls, with
 * the response shapes of GitHub's documentation, backed by a real git
 * repository: a pull request's files are `git diff --name-status base...head`.
 *
 *   GET   /repos/{owner}/{repo}/pulls/{pull_number}/files      (diff-entry[], Link pagination)
 *   GET   /repos/{owner}/{repo}/issues/{issue_number}/comments (issue-comment[], Link pagination)
 *   POST  /repos/{owner}/{repo}/issues/{issue_number}/comments (201 issue-comment)
 *   PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}   (200 issue-comment)
 *   DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}  (204; the runner's credential comment)
 *   GET   /repos/{owner}/{repo}/commits/{sha}/pulls            (pull-request-simple[]: pulls whose head is sha)
 *   GET   /user                                                (the token's account; 403 for an installation token)
 *   GET   /repos/{owner}/{repo}/pulls?state=open                (pull-request-simple[]: the open ones, Link pagination)
 *
 * Faults are injected per request (a 5xx for the next n matching calls), and
 * a read-only token gets GitHub's 403 on writes, as a fork's token does.
 * A token listed in `tokenUsers` acts as that account (a personal access
 * token): comments it posts carry that user, and GET /user answers with it.
 * Any other token is an installation token: it posts as github-actions[bot],
 * and GET /user answers 403, as GitHub does.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: { login: string; id: number; type: 'Bot' | 'User' };
  created_at: string;
  updated_at: string;
  author_association: string;
}

export interface Fault {
  method: string;
  path: RegExp;
  status: number;
  /** How many matching requests fail; then they succeed. */
  times: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  authorization?: string;
}

export interface PullRef {
  base: string;
  head: string;
  /** When it was opened (GitHub's `created_at`); default: now. */
  createdAt?: string;
  closed?: boolean;
  fork?: boolean;
}

type Send = (status: number, body: unknown, headers?: Record<string, string>) => void;

const BOT = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' as const };

/** The fake API. `pulls` maps a pull number to its base and head commits in `repoDir`. */
export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly comments = new Map<number, FakeComment[]>();
  readonly faults: Fault[] = [];
  readonly pulls = new Map<number, PullRef>();
  /** Tokens that may read but not write (a fork's GITHUB_TOKEN). */
  readonly readOnlyTokens = new Set<string>();
  /** Tokens that act as a user account (personal access tokens), by token. */
  readonly tokenUsers = new Map<string, FakeComment['user']>();
  /** Server-side cap on per_page, below GitHub's 100, to exercise pagination with few files. */
  maxPerPage = 100;
  url = '';
  private server?: Server;
  private nextId = 1000;
  private readonly repoDir: string;
  private readonly owner: string;
  private readonly repo: string;

  constructor(repoDir: string, owner: string, repo: string) {
    this.repoDir = repoDir;
    this.owner = owner;
    this.repo = repo;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Adds a comment as another user would, e.g. one that quotes the marker. */
  addComment(issue: number, body: string, user: FakeComment['user'] = BOT): FakeComment {
    const c = this.makeComment(issue, body, user);
    this.comments.set(issue, [...(this.comments.get(issue) ?? []), c]);
    return c;
  }

  private makeComment(issue: number, body: string, user: FakeComment['user']): FakeComment {
    const id = this.nextId++;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const api = `https://api.github.com/repos/${this.owner}/${this.repo}`;
    return {
      id,
      node_id: `IC_${id}`,
      url: `${api}/issues/comments/${id}`,
      html_url: `https://github.com/${this.owner}/${this.repo}/pull/${issue}#issuecomment-${id}`,
      issue_url: `${api}/issues/${issue}`,
      body,
      user,
      created_at: now,
      updated_at: now,
      author_association: 'NONE',
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const send: Send = (status, body, headers = {}) => {
      this.requests.push({ method, path: url.pathname + url.search, status, authorization: req.headers.authorization });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(status === 204 ? undefined : JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(url.pathname));
    if (fault) {
      fault.times--;
      return send(fault.status, { message: 'Server Error' });
    }
    const token = (req.headers.authorization ?? '').replace(/^(token|bearer) /i, '');
    if (!token) return send(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
    if ((method === 'POST' || method === 'PATCH' || method === 'DELETE') && this.readOnlyTokens.has(token)) {
      return send(403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment', status: '403' });
    }
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { body?: string }) : {};
    this.route(method, url, body, send, token);
  }

  private route(method: string, url: URL, body: { body?: string }, send: Send, token: string): void {
    const user = this.tokenUsers.get(token);
    if (method === 'GET' && url.pathname === '/user') {
      return user
        ? send(200, { ...user, html_url: `https://github.com/${user.login}` })
        : send(403, { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user', status: '403' });
    }
    const base = `/repos/${this.owner}/${this.repo}`;
    const files = new RegExp(`^${base}/pulls/(\\d+)/files$`).exec(url.pathname);
    const list = new RegExp(`^${base}/issues/(\\d+)/comments$`).exec(url.pathname);
    const edit = new RegExp(`^${base}/issues/comments/(\\d+)$`).exec(url.pathname);
    if (method === 'GET' && files) return this.page(url, this.pullFiles(Number(files[1])), send);
    if (method === 'GET' && url.pathname === `${base}/pulls`) return this.page(url, this.openPulls(url.searchParams.get('state') ?? 'open'), send);
    if (method === 'GET' && list) return this.page(url, this.comments.get(Number(list[1])) ?? [], send);
    const byCommit = new RegExp(`^${base}/commits/([0-9a-f]{40})/pulls$`).exec(url.pathname);
    if (method === 'GET' && byCommit)
      return send(
        200,
        [...this.pulls].filter(([, p]) => p.head === byCommit[1]).map(([number, p]) => ({ number, state: 'closed', head: { sha: p.head }, base: { sha: p.base } })),
      );
    if (method === 'DELETE' && edit) return this.deleteComment(Number(edit[1]), send);
    if (method === 'POST' && list) {
      if (typeof body.body !== 'string') return send(422, { message: 'Validation Failed' });
      return send(201, this.addComment(Number(list[1]), body.body, user));
    }
    if (method === 'PATCH' && edit) {
      const c = [...this.comments.values()].flat().find((x) => x.id === Number(edit[1]));
      if (!c) return send(404, { message: 'Not Found' });
      if (typeof body.body === 'string') c.body = body.body;
      c.updated_at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      return send(200, c);
    }
    return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  private deleteComment(id: number, send: Send): void {
    for (const [issue, list] of this.comments) {
      if (!list.some((c) => c.id === id)) continue;
      this.comments.set(
        issue,
        list.filter((c) => c.id !== id),
      );
      return send(204, null);
    }
    send(404, { message: 'Not Found' });
  }

  /** GitHub's pagination: `per_page` (default 30, max 100) and `page`, with a Link header for next/last/prev/first. */
  private page(url: URL, items: readonly unknown[] | undefined, send: Send): void {
    if (!items) return send(404, { message: 'Not Found' });
    const per = Math.min(Number(url.searchParams.get('per_page') ?? 30), this.maxPerPage, 100);
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
    const last = Math.max(1, Math.ceil(items.length / per));
    const link = (p: number, rel: string) => {
      const u = new URL(url.href);
      u.searchParams.set('page', String(p));
      u.searchParams.set('per_page', String(per));
      return `<${u.href}>; rel="${rel}"`;
    };
    const rels = [page < last ? link(page + 1, 'next') : '', page < last ? link(last, 'last') : '', page > 1 ? link(1, 'first') : '', page > 1 ? link(page - 1, 'prev') : ''].filter(Boolean);
    send(200, items.slice((page - 1) * per, page * per), rels.length ? { link: rels.join(', ') } : {});
  }

  /** `GET /pulls`: pull-request-simple objects, the fields the Action reads and a few more. */
  private openPulls(state: string): unknown[] {
    const full = `${this.owner}/${this.repo}`;
    return [...this.pulls]
      .filter(([, p]) => state === 'all' || (state === 'closed') === !!p.closed)
      .map(([number, p]) => ({
        number,
        state: p.closed ? 'closed' : 'open',
        html_url: `https://github.com/${full}/pull/${number}`,
        created_at: p.createdAt ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        head: { ref: 'vendor-request', sha: p.head, repo: { full_name: p.fork ? `vendor/${this.repo}` : full } },
        base: { ref: 'main', sha: p.base, repo: { full_name: full } },
      }));
  }

  /** The pull request's files as GitHub lists them ("diff-entry"), from the three-dot diff of the real repository. */
  private pullFiles(n: number): unknown[] | undefined {
    const pr = this.pulls.get(n);
    if (!pr) return undefined;
    const out = execFileSync('git', ['-C', this.repoDir, 'diff', '--name-status', '-z', '-M', `${pr.base}...${pr.head}`], { encoding: 'utf8' });
    const parts = out.split('\0').filter((p) => p !== '');
    const entries: unknown[] = [];
    const status: Record<string, string> = { A: 'added', M: 'modified', D: 'removed', R: 'renamed', C: 'copied', T: 'changed' };
    for (let i = 0; i < parts.length; ) {
      const code = parts[i++]!;
      const kind = status[code[0]!] ?? 'modified';
      const previous = kind === 'renamed' || kind === 'copied' ? parts[i++] : undefined;
      const filename = parts[i++]!;
      const blob = `https://github.com/${this.owner}/${this.repo}/blob/${pr.head}/${filename}`;
      entries.push({
        sha: kind === 'removed' ? null : execFileSync('git', ['-C', this.repoDir, 'rev-parse', `${pr.head}:${filename}`], { encoding: 'utf8' }).trim(),
        filename,
        status: kind,
        additions: 0,
        deletions: 0,
        changes: 0,
        blob_url: blob,
        raw_url: blob.replace('/blob/', '/raw/'),
        contents_url: `https://api.github.com/repos/${this.owner}/${this.repo}/contents/${filename}?ref=${pr.head}`,
        ...(previous ? { previous_filename: previous } : {}),
      });
    }
    return entries;
  }
}
