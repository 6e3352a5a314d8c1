/**
 * Crafted histories for the audit: a real temporary git repository with
 * commit times set per step, real approver keys and signatures, and runner
 * records signed with a real runner key — built directly, without the runner
 * or a cluster. A trust file (approvers + runner:) lives outside the repo.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { sha256Digest } from '../../src/core/digest.js';
import { headOf, initRepo } from './git-repo.js';
import { approvalYaml, makeKeys, policyApprovalYaml, policyYaml, REPOSITORY, requestYaml, sign, toYaml, type Keys } from './approvals.js';

export { REPOSITORY };
export const T = (hhmmss: string) => `2026-11-21T${hhmmss}Z`;
/** Audits run "now" = a day later: records, approvals and keys are judged as of when they happened, not now. */
export const AUDIT_NOW = Date.parse('2026-11-22T12:00:00Z');

let keysOnce: Promise<Keys> | undefined;
/** alice and bob approve, runner signs records, mallory is trusted by nobody. */
export function auditKeys(): Promise<Keys> {
  keysOnce ??= makeKeys({ alice: 'alice@customer.example', bob: 'bob@customer.example', runner: 'runner@customer.example', mallory: 'mallory@evil.example' });
  return keysOnce;
}

/** Options for one runner record; anything here overrides the clean default. */
export type RecordOver = Record<string, unknown>;

export class AuditRepo {
  readonly dir: string;
  readonly trustDir: string;
  readonly keys: Keys;
  private constructor(keys: Keys) {
    this.keys = keys;
    this.dir = mkdtempSync(join(tmpdir(), 'bg-audit-'));
    this.trustDir = mkdtempSync(join(tmpdir(), 'bg-audit-trust-'));
    initRepo(this.dir, { origin: `git@github.com:${REPOSITORY.split('/').slice(1).join('/')}.git` });
    mkdirSync(join(this.trustDir, 'keys'));
    for (const n of ['alice', 'bob', 'runner']) writeFileSync(join(this.trustDir, 'keys', `${n}.asc`), keys[n]!.publicKey);
    writeFileSync(
      this.trustFile,
      'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: keys/alice.asc }\n  - { name: bob, openpgp: keys/bob.asc }\nrunner: keys/runner.asc\n',
    );
  }

  static async create(): Promise<AuditRepo> {
    return new AuditRepo(await auditKeys());
  }

  get trustFile(): string {
    return join(this.trustDir, 'trust.yaml');
  }

  git(...args: string[]): string {
    return execFileSync('git', ['-C', this.dir, ...args], { encoding: 'utf8', env: { ...process.env, FILTER_BRANCH_SQUELCH_WARNING: '1' } }).trim();
  }

  write(rel: string, content: string): string {
    const full = join(this.dir, rel);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    return sha256Digest(Buffer.from(content));
  }

  remove(rel: string): void {
    rmSync(join(this.dir, rel), { recursive: true, force: true });
  }

  /** Commits everything with author and committer time `at`; returns the commit id. */
  commit(at: string, message = 'change'): string {
    const env = { ...process.env, GIT_AUTHOR_DATE: at, GIT_COMMITTER_DATE: at };
    execFileSync('git', ['-C', this.dir, 'add', '-A'], { env });
    execFileSync('git', ['-C', this.dir, 'commit', '-q', '--allow-empty', '-m', message], { env });
    return this.head();
  }

  head(): string {
    return headOf(this.dir);
  }

  /** The approved policy (`production`); returns its digest. */
  async policy(at: string, opts: Parameters<typeof policyYaml>[0] = {}, approvers = ['alice']): Promise<string> {
    const digest = this.write('policies/production.yaml', policyYaml(opts));
    for (const name of approvers) {
      const body = policyApprovalYaml(name, digest);
      this.write(`policies/approvals/production/${name}.yaml`, body);
      this.write(`policies/approvals/production/${name}.yaml.asc`, await sign(this.keys[name]!, body, new Date('2026-11-01T00:00:00Z')));
    }
    this.commit(at, 'policy');
    return digest;
  }

  /** Adds a request; returns its digest. Not committed. */
  request(id: string, over: Parameters<typeof requestYaml>[1] & { reason?: string } = {}): string {
    let body = requestYaml(id, over);
    if (over.reason) body = body.replace(/reason: .*/, `reason: ${JSON.stringify(over.reason)}`);
    return this.write(`sessions/${id}/request.yaml`, body);
  }

  /** Adds a signed approval of `digest`; returns the approval file's digest. Not committed. */
  async approve(id: string, approver: string, digest: string, over: Record<string, unknown> = {}, key = approver): Promise<string> {
    const body = approvalYaml(approver, digest, { session: id, ...over });
    const signed = new Date(String(over.signed ?? T('02:21:00')));
    this.write(`sessions/${id}/approvals/${approver}.yaml.asc`, await sign(this.keys[key]!, body, signed));
    return this.write(`sessions/${id}/approvals/${approver}.yaml`, body);
  }

  end(id: string, at: string): void {
    this.write(`sessions/${id}/end.yaml`, toYaml({ apiVersion: 'breakglass.dev/v1', kind: 'End', session: id, by: 'alice@customer.example', at, reason: 'incident over' }));
  }

  /** A clean record document for a session activated at `commit`. */
  recordDoc(id: string, a: { request: string; approval: string; policy: string; commit: string }, over: RecordOver = {}): Record<string, unknown> {
    const objects = [
      { kind: 'ServiceAccount', apiVersion: 'v1', namespace: 'breakglass-system', name: `bg-${id}` },
      { kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', name: `bg-${id}` },
    ];
    const ended = String(over.ended ?? T('02:40:03'));
    return {
      apiVersion: 'breakglass.dev/v1',
      kind: 'Record',
      session: id,
      request: a.request,
      repository: REPOSITORY,
      commit: a.commit,
      outcome: 'ended',
      runner: { id: 'runner-0', fingerprint: this.keys.runner!.fingerprint },
      approvals: [{ approver: 'alice', fingerprint: `openpgp:${this.keys.alice!.fingerprint}`, file: a.approval }],
      policy: { name: 'production', digest: a.policy },
      activated: T('02:22:00'),
      expires: T('03:22:00'),
      ended,
      endReason: 'end requested',
      objects,
      credential: { kind: 'kubernetes-token', sha256: sha256Digest(Buffer.from(`token-${id}`)), expires: T('03:22:00'), delivery: { channel: 'directory', ref: `outbox/${id}.asc` } },
      teardown: { deleted: objects, completed: ended, errors: [] },
      revocation: { method: 'TokenReview', at: ended, result: 'unauthenticated', attempts: 2 },
      ...over,
    };
  }

  /** Writes record.yaml and its signature (by the runner unless `key` says otherwise) and commits at `at`. */
  async record(id: string, doc: Record<string, unknown>, at: string, key = 'runner'): Promise<string> {
    // Through JSON first, as zod's parse does for the runner: shared objects would become YAML anchors.
    const body = stringify(JSON.parse(JSON.stringify(doc)), { lineWidth: 0 });
    this.write(`sessions/${id}/record.yaml`, body);
    this.write(`sessions/${id}/record.yaml.asc`, await sign(this.keys[key]!, body, new Date(String(doc.ended))));
    return this.commit(at, `breakglass: record for session ${id}`);
  }

  /**
   * One whole clean session: request, approval, activation at the approval
   * commit, optional end request, record. Returns what a test may want to tamper with.
   */
  async session(id: string, policy: string, opts: { end?: boolean; record?: RecordOver; reason?: string } = {}): Promise<{ request: string; approval: string; commit: string }> {
    const request = this.request(id, { reason: opts.reason });
    this.commit(T('02:17:00'), `request ${id}`);
    const approval = await this.approve(id, 'alice', request);
    const commit = this.commit(T('02:21:30'), `approve ${id}`);
    if (opts.end !== false) this.end(id, T('02:40:00')), this.commit(T('02:40:00'), `end ${id}`);
    const doc = this.recordDoc(id, { request, approval, policy, commit }, opts.record);
    await this.record(id, doc, new Date(Date.parse(String(doc.ended)) + 5000).toISOString());
    return { request, approval, commit };
  }
}
