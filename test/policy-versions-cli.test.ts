/**
 * Which policy governs, and which session a folder is, attacked through the
 * command line (`breakglass verify --json`, `breakglass audit --json`, run
 * in-process) in real git repositories signed with real OpenPGP keys. Each refusal asserts its
 * precise code. docs/security/policy-versions.md, session-identity.md.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvalYaml, approve, ID, makeKeys, NOW, policyApprovalYaml, policyYaml, Repo, requestYaml, sign, toYaml, type Keys } from './helpers/approvals.js';
import { inProcess } from './helpers/cli.js';

const AT = new Date(NOW).toISOString().replace(/\.\d+Z$/, 'Z');
let keys: Keys;
let trustFile: string;

beforeAll(async () => {
  keys = await makeKeys({ alice: 'alice@customer.example', bob: 'bob@customer.example' });
  const dir = mkdtempSync(join(tmpdir(), 'bg-trust-'));
  for (const n of ['alice', 'bob']) writeFileSync(join(dir, `${n}.asc`), keys[n]!.publicKey);
  writeFileSync(join(dir, 'runner.asc'), keys.alice!.publicKey);
  trustFile = join(dir, 'trust.yaml');
  writeFileSync(trustFile, 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: alice.asc }\n  - { name: bob, openpgp: bob.asc }\nrunner: runner.asc\n');
});

/** Policy file `path` (default production) approved by `who` at `signed`. */
async function approvePolicy(repo: Repo, body: string, signed: string, who = 'alice', name = 'production'): Promise<void> {
  const digest = repo.write(`policies/${name}.yaml`, body);
  const pa = policyApprovalYaml(who, digest, { policy: name, signed });
  repo.write(`policies/approvals/${name}/${who}.yaml`, pa);
  repo.write(`policies/approvals/${name}/${who}.yaml.asc`, await sign(keys[who]!, pa, new Date(signed)));
}

/** A repository with policy v1 approved, and an approved request for `id`. */
async function approvedSession(id = ID, request = requestYaml(id)): Promise<Repo> {
  const repo = new Repo();
  await approvePolicy(repo, policyYaml(), '2026-11-01T00:00:00Z');
  const digest = repo.write(`sessions/${id}/request.yaml`, request);
  const body = approvalYaml('alice', digest, { session: id });
  repo.write(`sessions/${id}/approvals/alice.yaml`, body);
  repo.write(`sessions/${id}/approvals/alice.yaml.asc`, await sign(keys.alice!, body));
  repo.commit('approved session');
  return repo;
}

async function verify(repo: Repo, id = ID): Promise<{ code: number; approved: boolean; codes: string[] }> {
  const r = await inProcess(['verify', id, '--trust', trustFile, '--repository', 'github.com/customer/access', '--at', AT, '--json'], { cwd: repo.dir });
  expect(r.code, r.stderr).not.toBe(2);
  const v = JSON.parse(r.stdout) as { approved: boolean; reasons: { code: string }[] };
  return { code: r.code, approved: v.approved, codes: [...new Set(v.reasons.map((x) => x.code))].sort() };
}

const wider = (p: string) => p.replace('privileges: [cluster-admin, view]', 'privileges: [cluster-admin, view, edit:payments]').replace('required: 1', 'required: 1');

describe('which policy governs', () => {
  it('the baseline session verifies (exit 0)', async () => {
    expect(await verify(await approvedSession())).toMatchObject({ code: 0, approved: true });
  });

  it('an unapproved file reusing the approved metadata.name does not take its place: POLICY_FILE_MISMATCH', async () => {
    const repo = await approvedSession();
    // evil.yaml sorts first and says it is "production": it must never borrow production's approvals.
    repo.write('policies/evil.yaml', wider(policyYaml()).replace('maxDuration: 2h', 'maxDuration: 24h'));
    repo.commit('takeover');
    expect(await verify(repo)).toEqual({ code: 1, approved: false, codes: ['POLICY_FILE_MISMATCH'] });
  });

  it('a second file defining the same resource is refused, not picked: POLICY_FILE_MISMATCH', async () => {
    const repo = await approvedSession();
    await approvePolicy(repo, policyYaml().replace('name: production', 'name: shadow'), '2026-11-02T00:00:00Z', 'alice', 'shadow');
    repo.commit('shadow policy, even approved');
    expect(await verify(repo)).toEqual({ code: 1, approved: false, codes: ['POLICY_FILE_MISMATCH'] });
  });

  it('a file whose metadata.name is not its file name governs nothing: POLICY_FILE_MISMATCH', async () => {
    const repo = new Repo();
    await approvePolicy(repo, policyYaml().replace('name: production', 'name: prod'), '2026-11-01T00:00:00Z');
    const digest = repo.write(`sessions/${ID}/request.yaml`, requestYaml());
    await approve(repo, 'alice', approvalYaml('alice', digest), keys.alice!);
    repo.commit('misnamed');
    expect((await verify(repo)).codes).toEqual(['POLICY_FILE_MISMATCH']);
  });
});

describe('when an older approved policy version is restored (rollback)', () => {
  /** v1 approved 11-01, then a stricter v2 approved 11-10; returns the repo and v1's approval files. */
  async function superseded(): Promise<{ repo: Repo; v1: Map<string, string> }> {
    const repo = await approvedSession();
    const v1 = new Map(['production.yaml', 'approvals/production/alice.yaml', 'approvals/production/alice.yaml.asc'].map((f) => [f, repo.git('show', `HEAD:policies/${f}`)]));
    await approvePolicy(repo, policyYaml().replace('privileges: [cluster-admin, view]', 'privileges: [view]'), '2026-11-10T00:00:00Z');
    repo.commit('v2: no more cluster-admin');
    return { repo, v1 };
  }

  it('restoring v1 with its old approvals is refused: POLICY_ROLLBACK', async () => {
    const { repo, v1 } = await superseded();
    for (const [f, body] of v1) repo.write(`policies/${f}`, body);
    repo.commit('revert to v1');
    expect(await verify(repo)).toEqual({ code: 1, approved: false, codes: ['POLICY_ROLLBACK'] });
  });

  it('v1 with a fresh approval signed after v2 was approved counts again (exit 0)', async () => {
    const { repo, v1 } = await superseded();
    await approvePolicy(repo, v1.get('production.yaml')!, '2026-11-15T00:00:00Z');
    repo.commit('v1 again, freshly approved');
    expect(await verify(repo)).toMatchObject({ code: 0, approved: true });
  });

  it('the audit names the rolled-back version: POLICY_ROLLBACK', async () => {
    const { repo, v1 } = await superseded();
    for (const [f, body] of v1) repo.write(`policies/${f}`, body);
    repo.commit('revert to v1');
    const r = await inProcess(['audit', '--trust', trustFile, '--repository', 'github.com/customer/access', '--json'], { cwd: repo.dir });
    const report = JSON.parse(r.stdout) as { findings: { code: string; file?: string }[] };
    expect(r.code, r.stderr).toBe(1);
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'POLICY_ROLLBACK', file: 'policies/production.yaml' }));
  });
});

describe('the identity of a session', () => {
  it('a request whose metadata.id is not its folder is refused: REQUEST_ID_MISMATCH', async () => {
    // Approvals bind the folder's id; the request names another session's id.
    const repo = await approvedSession(ID, requestYaml('inc-1-other-session'));
    expect(await verify(repo)).toEqual({ code: 1, approved: false, codes: ['REQUEST_ID_MISMATCH'] });
  });

  it('validate reports the same code at the id (exit 1)', async () => {
    const repo = await approvedSession(ID, requestYaml('inc-1-other-session'));
    const r = await inProcess(['validate', '--json'], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('REQUEST_ID_MISMATCH');
  });

  it('the audit flags it: REQUEST_ID_MISMATCH', async () => {
    const repo = await approvedSession(ID, requestYaml('inc-1-other-session'));
    const r = await inProcess(['audit', '--trust', trustFile, '--repository', 'github.com/customer/access', '--json'], { cwd: repo.dir });
    const report = JSON.parse(r.stdout) as { sessions: { id: string; findings: { code: string }[] }[] };
    expect(report.sessions.find((s) => s.id === ID)!.findings.map((f) => f.code)).toContain('REQUEST_ID_MISMATCH');
  });

  it('an end.yaml naming another session still ends this one and is reported: SESSION_MISMATCH', async () => {
    const repo = await approvedSession();
    repo.write(`sessions/${ID}/end.yaml`, toYaml({ apiVersion: 'breakglass.dev/v1', kind: 'End', session: 'inc-1-other-session', by: 'x@vendor.example', at: AT }));
    repo.commit('end, naming another id');
    const v = await verify(repo);
    expect(v.codes).toEqual(['SESSION_MISMATCH']);
    const r = await inProcess(['verify', ID, '--trust', trustFile, '--repository', 'github.com/customer/access', '--at', AT, '--json'], { cwd: repo.dir });
    expect((JSON.parse(r.stdout) as { status: string }).status).toBe('ended');
  });
});
