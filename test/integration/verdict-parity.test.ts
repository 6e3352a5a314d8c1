/**
 * `show --trust`, the Action's judge and the runner reach the same verdict on
 * the same session, because all three call `verifySession` and read its
 * verdict the same way. Each hostile session below is judged by all three —
 * the real CLI binary, the Action's judge over the committed tree, and the
 * real runner binary (dry run) against the real API server — and the test
 * asserts they agree on activate-or-refuse and on the exact reason codes.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { judgeAll } from '../../src/action/judge.js';
import { loadTrust } from '../../src/adapters/trust.js';
import { formatTime } from '../../src/core/duration.js';
import type { GeneratedKey } from '../../src/crypto/openpgp.js';
import { binary } from '../helpers/cli.js';
import { REPOSITORY, RunnerEnv } from '../helpers/runner-env.js';

const cluster = inject('cluster');

interface Verdict {
  approved: boolean;
  codes: string[];
}

const y = (doc: unknown) => stringify(doc, { lineWidth: 0 }).replace(/^nonce: (\w+)$/m, 'nonce: "$1"');

/** Each hostile session and the verdict all three must reach. */
const CASES: [id: string, what: string, expected: Verdict][] = [
  ['par-ok', 'a session approved by a trusted key', { approved: true, codes: [] }],
  ['par-none', 'no approvals at all', { approved: false, codes: ['THRESHOLD_NOT_MET'] }],
  ['par-unsigned', 'an approval without its signature', { approved: false, codes: ['SIGNATURE_MISSING', 'THRESHOLD_NOT_MET'] }],
  ['par-wrong-bytes', 'a signature over other bytes', { approved: false, codes: ['SIGNATURE_INVALID', 'THRESHOLD_NOT_MET'] }],
  ['par-wrong-signer', "an approval in alice's name signed by the vendor's key", { approved: false, codes: ['KEY_UNTRUSTED', 'THRESHOLD_NOT_MET'] }],
  ['par-changed', 'a request changed after approval', { approved: false, codes: ['REQUEST_DIGEST_MISMATCH', 'THRESHOLD_NOT_MET'] }],
  ['par-expired', 'an approval that has expired', { approved: false, codes: ['APPROVAL_EXPIRED', 'THRESHOLD_NOT_MET'] }],
  ['par-extra-bad', 'enough good approvals plus one that does not hold (show used to say complete)', { approved: false, codes: ['SIGNATURE_MISSING'] }],
  ['par-policy', 'a session governed by a policy whose bytes nobody approved', { approved: false, codes: ['POLICY_UNAPPROVED'] }],
];

class ParityEnv extends RunnerEnv {
  approvalYaml(id: string, digest: string, expires = Date.now() + 3600_000, approver = 'alice'): string {
    return y({
      apiVersion: 'breakglass.dev/v1',
      kind: 'Approval',
      session: id,
      request: digest,
      repository: REPOSITORY,
      approver,
      decision: 'approve',
      signed: formatTime(Date.now() - 60_000),
      expires: formatTime(expires),
      nonce: randomBytes(16).toString('hex'),
    });
  }

  async approve(id: string, digest: string, by: GeneratedKey, o: { expires?: number; approver?: string } = {}): Promise<void> {
    const approver = o.approver ?? 'alice';
    const body = this.approvalYaml(id, digest, o.expires, approver);
    this.write(`sessions/${id}/approvals/${approver}.yaml`, body);
    this.write(`sessions/${id}/approvals/${approver}.yaml.asc`, await this.sign(by, body));
  }

  /** A second policy, never approved, governing a resource of its own. */
  unapprovedPolicy(): void {
    this.write('policies/staging.yaml', this.policyYaml('staging', [{ name: 'staging-eu', type: 'kubernetes', privileges: ['view'], maxDuration: '1h', network: ['direct'] }]));
  }
}

describe('show --trust, the Action and the runner reach the same verdict', () => {
  const env = new ParityEnv(cluster);
  const trustFile = () => join(env.root, 'etc', 'trust.yaml');
  const fromRunner = new Map<string, Verdict>();
  const fromAction = new Map<string, Verdict>();

  beforeAll(async () => {
    await env.setup();
    await env.addSession('par-ok');
    await env.addSession('par-unsigned', { tamper: 'unsigned' });
    await env.addSession('par-wrong-bytes', { tamper: 'wrong-bytes' });
    await env.addSession('par-changed', { tamper: 'request-changed' });
    env.write('sessions/par-none/request.yaml', env.requestYaml('par-none', {}));
    const signer = env.write('sessions/par-wrong-signer/request.yaml', env.requestYaml('par-wrong-signer', {}));
    await env.approve('par-wrong-signer', signer, env.vendor);
    const expired = env.write('sessions/par-expired/request.yaml', env.requestYaml('par-expired', {}));
    await env.approve('par-expired', expired, env.alice, { expires: Date.now() - 1000 });
    const extra = env.write('sessions/par-extra-bad/request.yaml', env.requestYaml('par-extra-bad', {}));
    await env.approve('par-extra-bad', extra, env.alice);
    env.write('sessions/par-extra-bad/approvals/bob.yaml', env.approvalYaml('par-extra-bad', extra, undefined, 'bob'));
    env.unapprovedPolicy();
    env.write('sessions/par-policy/request.yaml', env.requestYaml('par-policy', { resource: 'staging-eu' }));
    env.push('hostile sessions');

    // The runner: the real binary, dry run (verifies exactly as a reconcile does, creates nothing).
    const r = await env.runner(['--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    for (const [id] of CASES) {
      const line = new RegExp(`session ${id}: (?:approved|pending: refused \\(([A-Z_, ]*)\\))`).exec(r.stderr);
      if (line) fromRunner.set(id, { approved: line[1] === undefined, codes: line[1] ? line[1].split(', ') : [] });
    }
    // The Action's judge over the committed tree, with the same keys as its trust.
    const now = Date.now();
    const judged = await judgeAll(
      { workspace: env.work, layout: { sessions: 'sessions', policies: 'policies' }, repositoryName: REPOSITORY, now, keys: { trust: await loadTrust(trustFile()), repository: REPOSITORY, now } },
      'HEAD',
    );
    for (const s of judged.sessions) if (s.verdict) fromAction.set(s.id, s.verdict);
  });
  afterAll(() => env.cleanup());

  it.each(CASES)('%s: %s', async (id, _what, expected) => {
    const show = await binary(['show', id, '--trust', trustFile(), '--repo', env.work, '--repository', REPOSITORY], { cwd: env.root });
    const row = /Verdict\s+the runner (?:would activate it|refuses it \(([A-Z_, ]*)\))/.exec(show.stdout);
    expect(row, show.stdout + show.stderr).not.toBeNull();
    const fromShow: Verdict = { approved: row![1] === undefined, codes: row![1] ? row![1].split(', ') : [] };

    expect(fromShow).toEqual(expected);
    expect(fromAction.get(id)).toEqual(expected);
    expect(fromRunner.get(id)).toEqual(expected);
    // And the words agree with the verdict: only an approved session is "complete", and show exits 1 otherwise.
    expect(show.code).toBe(expected.approved ? 0 : 1);
    expect(show.stdout.includes('approvals complete')).toBe(expected.approved);
  });
});
