/**
 * A real temporary access repository with real keys and real signatures, for
 * the verifier's tests: policy (approved), request, approvals, all committed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { sha256Digest } from '../../src/core/digest.js';
import { initRepo } from './git-repo.js';
import { loadRepository } from '../../src/core/repository.js';
import type { TrustedApprover, TrustMaterial } from '../../src/core/trust.js';
import { verifySession, type SessionVerdict } from '../../src/core/verify-session.js';
import { CommitSource } from '../../src/adapters/source.js';
import { generateKeyPair, readPrivateKey, readPublicKey, signDetached, type GeneratedKey } from '../../src/crypto/openpgp.js';

export const REPOSITORY = 'github.com/customer/access';
export const ID = 'inc-4411-prod-crashloop';
export const REQUESTER = 'oncall@vendor.example';
export const NOW = Date.parse('2026-11-21T02:30:00Z');
export const SIGNED = '2026-11-21T02:21:00Z';
export const EXPIRES = '2026-11-21T03:21:00Z';
export const KEY_DATE = new Date('2026-01-01T00:00:00Z');

/** RFC 3339 UTC without fractions, `offsetMs` from the real clock (for tests that sign with gpg, which uses it). */
export function isoFromNow(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function toYaml(doc: unknown): string {
  return stringify(doc, { lineWidth: 0, minContentWidth: 0, indent: 2 });
}

export function policyYaml(opts: { required?: number; approvers?: string[]; allowSelfApproval?: boolean; maxDuration?: string; recording?: 'required' | 'optional' } = {}): string {
  return `apiVersion: breakglass.dev/v1
kind: Policy
metadata:
  name: production
spec:
  requesters: ["*@vendor.example"]
  recipients: [0123456789ABCDEF0123456789ABCDEF01234567]
  approvals:
    required: ${opts.required ?? 1}
    approvers: [${(opts.approvers ?? ['alice', 'bob', 'carol', 'vince', 'alice2']).join(', ')}]
    allowSelfApproval: ${opts.allowSelfApproval ?? false}
  requestExpiry: 4h
  reason:
    pattern: "^INC-[0-9]+"
    minLength: 20
  resources:
    - name: prod-eu
      type: kubernetes
      privileges: [cluster-admin, view]
      maxDuration: ${opts.maxDuration ?? '2h'}
      network: [direct, tailscale]
${opts.recording ? `      recording: ${opts.recording}\n` : ''}`;
}

export function requestYaml(id = ID, overrides: { privilege?: string; duration?: string; created?: string } = {}): string {
  return toYaml({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Request',
    metadata: { id, requester: REQUESTER, created: overrides.created ?? '2026-11-21T02:17:00Z' },
    spec: {
      reason: 'INC-4411: api pods crash-looping after cert rotation',
      resource: 'prod-eu',
      privilege: overrides.privilege ?? 'view',
      duration: overrides.duration ?? '1h',
      network: 'direct',
      recipient: '0123456789ABCDEF0123456789ABCDEF01234567',
    },
  });
}

/** Approval fields, with defaults that make a valid approval of `digest`. */
export function approvalYaml(approver: string, digest: string, over: Record<string, unknown> = {}): string {
  return toYaml({
    apiVersion: 'breakglass.dev/v1',
    kind: 'Approval',
    session: ID,
    request: digest,
    repository: REPOSITORY,
    approver,
    decision: 'approve',
    signed: SIGNED,
    expires: EXPIRES,
    ...over,
    nonce: randomBytes(16).toString('hex'),
  }).replace(/^nonce: (\w+)$/m, 'nonce: "$1"');
}

export function policyApprovalYaml(approver: string, digest: string, over: Record<string, unknown> = {}): string {
  return toYaml({
    apiVersion: 'breakglass.dev/v1',
    kind: 'PolicyApproval',
    policy: 'production',
    digest,
    repository: REPOSITORY,
    approver,
    signed: '2026-11-01T00:00:00Z',
    ...over,
    nonce: randomBytes(16).toString('hex'),
  }).replace(/^nonce: (\w+)$/m, 'nonce: "$1"');
}

/** Keys made once per test file. */
export interface Keys {
  [name: string]: GeneratedKey;
}

export async function makeKeys(names: Record<string, string>): Promise<Keys> {
  const out: Keys = {};
  for (const [name, email] of Object.entries(names)) out[name] = await generateKeyPair({ name, email, date: KEY_DATE });
  return out;
}

export async function sign(key: GeneratedKey, bytes: string | Uint8Array, date = new Date(SIGNED)): Promise<string> {
  return signDetached(await readPrivateKey(key.privateKey), Buffer.from(bytes), date);
}

export async function trustOf(entries: { name: string; key: GeneratedKey | string; email?: string }[], threshold = 1): Promise<TrustMaterial> {
  const approvers: TrustedApprover[] = [];
  for (const e of entries) {
    const armored = typeof e.key === 'string' ? e.key : e.key.publicKey;
    approvers.push({ name: e.name, email: e.email, key: { type: 'openpgp', key: await readPublicKey(armored) } });
  }
  return { threshold, approvers };
}

/** A temporary git repository. */
export class Repo {
  readonly dir: string;
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'bg-approvals-'));
    initRepo(this.dir);
  }
  git(...args: string[]): string {
    return execFileSync('git', ['-C', this.dir, ...args], { encoding: 'utf8' });
  }
  write(rel: string, content: string | Uint8Array): string {
    const full = join(this.dir, rel);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    return content instanceof Uint8Array ? sha256Digest(content) : sha256Digest(Buffer.from(content));
  }
  commit(message = 'change'): void {
    this.git('add', '-A');
    this.git('commit', '-q', '--allow-empty', '-m', message);
  }
  async verify(trust: TrustMaterial, now = NOW, id = ID): Promise<SessionVerdict> {
    const model = await loadRepository(await CommitSource.open(this.dir, 'HEAD'));
    return verifySession(model, id, trust, REPOSITORY, now);
  }
}

/**
 * A repository with the policy (approved by `policyApprovers`) and the request
 * committed; returns the request digest.
 */
export async function seed(repo: Repo, keys: Keys, opts: { policy?: string; policyApprovers?: string[]; request?: string } = {}): Promise<string> {
  const policy = opts.policy ?? policyYaml();
  const pd = repo.write('policies/production.yaml', policy);
  for (const name of opts.policyApprovers ?? ['alice']) {
    const body = policyApprovalYaml(name, pd);
    repo.write(`policies/approvals/production/${name}.yaml`, body);
    repo.write(`policies/approvals/production/${name}.yaml.asc`, await sign(keys[name]!, body, new Date('2026-11-01T00:00:00Z')));
  }
  const digest = repo.write(`sessions/${ID}/request.yaml`, opts.request ?? requestYaml());
  repo.commit('seed');
  return digest;
}

/** Writes `approvals/<file>.yaml` with `body` and a signature by `key` over `signed` (default: the body). */
export async function approve(repo: Repo, file: string, body: string, key: GeneratedKey, signed?: string): Promise<void> {
  repo.write(`sessions/${ID}/approvals/${file}.yaml`, body);
  repo.write(`sessions/${ID}/approvals/${file}.yaml.asc`, await sign(key, signed ?? body));
}

/** The reason codes of a verdict, sorted and de-duplicated. */
export function codes(v: SessionVerdict): string[] {
  return [...new Set(v.reasons.map((r) => r.code))].sort();
}
