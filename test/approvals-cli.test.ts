/**
 * keygen / approve / reject / end / verify / show --trust through the command
 * line, in a real temporary git repository with real keys.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binary, cli } from './helpers/cli.js';
import { policyYaml, Repo } from './helpers/approvals.js';

const ID = 'inc-7-api-down';
let keysDir: string;
let trustFile: string;

beforeAll(async () => {
  keysDir = mkdtempSync(join(tmpdir(), 'bg-keys-'));
  for (const [name, email] of [
    ['alice', 'alice@customer.example'],
    ['bob', 'bob@customer.example'],
  ]) {
    const r = await cli(['keygen', '--name', name!, '--email', email!, '--out', keysDir], { cwd: keysDir });
    expect(r.code).toBe(0);
  }
  trustFile = join(keysDir, 'trust.yaml');
  writeFileSync(trustFile, 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: alice.asc }\n  - { name: bob, openpgp: bob.asc }\n');
});

/** A repository with an approved policy and a committed request. */
async function repoWithRequest(opts: { origin?: boolean } = {}): Promise<Repo> {
  const repo = new Repo();
  if (opts.origin !== false) repo.git('remote', 'add', 'origin', 'git@github.com:customer/access.git');
  repo.write('policies/production.yaml', policyYaml({ approvers: ['alice', 'bob'] }));
  repo.commit('policy');
  const args = [
    'request',
    'new',
    '--id',
    ID,
    '--resource',
    'prod-eu',
    '--privilege',
    'view',
    '--duration',
    '1h',
    '--network',
    'direct',
    '--reason',
    'INC-7: api down after deploy, need logs',
    '--requester',
    'oncall@vendor.example',
    '--recipient',
    '0123456789ABCDEF0123456789ABCDEF01234567',
  ];
  expect((await cli(args, { cwd: repo.dir })).code).toBe(0);
  if (opts.origin !== false) expect((await cli(['approve', '--policy', 'production', '--key', join(keysDir, 'alice.sec.asc'), '--yes'], { cwd: repo.dir })).code).toBe(0);
  repo.commit('request');
  return repo;
}

describe('keygen', () => {
  it('writes the public key and a 0600 secret key, and prints the fingerprint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bg-kg-'));
    const r = await cli(['keygen', '--name', 'carol', '--email', 'carol@customer.example', '--out', out], { cwd: out });
    expect(r.stdout).toMatch(/^[0-9A-F]{40}$/);
    expect(statSync(join(out, 'carol.sec.asc')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, 'carol.asc'), 'utf8')).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    expect((await cli(['keygen', '--name', 'carol', '--email', 'carol@customer.example', '--out', out], { cwd: out })).code).toBe(2);
  });
});

describe('approve, then verify', () => {
  it('writes a signed approval that verify accepts (exit 0, JSON on stdout)', async () => {
    const repo = await repoWithRequest();
    const r = await cli(['approve', ID, '--key', join(keysDir, 'bob.sec.asc'), '--yes', '--commit'], { cwd: repo.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Break-glass request inc-7-api-down');
    const body = readFileSync(join(repo.dir, `sessions/${ID}/approvals/bob.yaml`), 'utf8');
    expect(body).toMatch(/^nonce: "[0-9a-f]{32}"$/m);
    expect(body).toContain('repository: github.com/customer/access');
    expect(repo.git('status', '--porcelain')).toBe('');
    const v = await cli(['verify', ID, '--trust', trustFile, '--json'], { cwd: repo.dir });
    expect(v.code).toBe(0);
    const json = JSON.parse(v.stdout) as { approved: boolean; accepted: { approver: string }[] };
    expect(json.approved).toBe(true);
    expect(json.accepted.map((a) => a.approver)).toEqual(['bob']);
    const show = await cli(['show', ID, '--trust', trustFile], { cwd: repo.dir });
    expect(show.stdout).toContain('bob (verified)');
  });
  it('--commit commits only the approval and its signature', async () => {
    const repo = await repoWithRequest();
    repo.write('unrelated.txt', 'staged, not mine');
    repo.git('add', 'unrelated.txt');
    expect((await cli(['approve', ID, '--key', join(keysDir, 'alice.sec.asc'), '--yes', '--commit'], { cwd: repo.dir })).code).toBe(0);
    expect(repo.git('show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([`sessions/${ID}/approvals/alice.yaml`, `sessions/${ID}/approvals/alice.yaml.asc`]);
    expect(repo.git('status', '--porcelain').trim()).toBe('A  unrelated.txt');
  });
  it('refuses to sign without --yes when nobody is at a terminal (exit 2, nothing written)', async () => {
    const repo = await repoWithRequest();
    const r = await cli(['approve', ID, '--key', join(keysDir, 'alice.sec.asc')], { cwd: repo.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(existsSync(join(repo.dir, `sessions/${ID}/approvals/alice.yaml`))).toBe(false);
  });
  it('refuses when the repository name is unknown (no origin, no --repository)', async () => {
    const repo = await repoWithRequest({ origin: false });
    const r = await cli(['approve', ID, '--key', join(keysDir, 'alice.sec.asc'), '--yes'], { cwd: repo.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--repository');
  });
  it('never prints the secret key', async () => {
    const repo = await repoWithRequest();
    const r = await cli(['approve', ID, '--key', join(keysDir, 'alice.sec.asc'), '--yes'], { cwd: repo.dir, env: { BREAKGLASS_DEBUG: '1' } });
    const secret = readFileSync(join(keysDir, 'alice.sec.asc'), 'utf8');
    const body = secret.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    expect(body.length).toBeGreaterThan(0);
    for (const line of body) expect(`${r.stdout}\n${r.stderr}`).not.toContain(line);
  });
  // The real binary: everything the process prints when it fails, Node's own output included.
  it('never prints the secret key from the real binary either, even when it fails', async () => {
    const repo = await repoWithRequest();
    const secret = readFileSync(join(keysDir, 'alice.sec.asc'), 'utf8');
    const ok = await binary(['approve', ID, '--key', join(keysDir, 'alice.sec.asc'), '--yes'], { cwd: repo.dir, env: { BREAKGLASS_DEBUG: '1' } });
    expect(ok.code, ok.stderr).toBe(0);
    const broken = join(keysDir, 'broken.sec.asc');
    writeFileSync(broken, secret.replace(/^([A-Za-z0-9+/]{20})/m, '$1!!'));
    const bad = await binary(['approve', ID, '--key', broken, '--yes'], { cwd: repo.dir, env: { BREAKGLASS_DEBUG: '1' } });
    expect(bad.code).toBe(2);
    for (const line of secret.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      expect(`${ok.stdout}${ok.stderr}${bad.stdout}${bad.stderr}`).not.toContain(line);
    }
  });
  it('refuses a --duration longer than requested', async () => {
    const repo = await repoWithRequest();
    expect((await cli(['approve', ID, '--key', join(keysDir, 'alice.sec.asc'), '--yes', '--duration', '2h'], { cwd: repo.dir })).code).toBe(2);
  });
});

describe('verify lists every reason', () => {
  it('exit 1 for an uncommitted approval, an expired one, and a rejection', async () => {
    const repo = await repoWithRequest();
    expect((await cli(['approve', ID, '--key', join(keysDir, 'alice.sec.asc'), '--yes', '--expires', '30m'], { cwd: repo.dir })).code).toBe(0);
    // Not committed yet: verify reads HEAD only.
    const before = await cli(['verify', ID, '--trust', trustFile], { cwd: repo.dir });
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('THRESHOLD_NOT_MET');
    repo.commit('approve');
    expect((await cli(['verify', ID, '--trust', trustFile], { cwd: repo.dir })).code).toBe(0);
    const later = await cli(['verify', ID, '--trust', trustFile, '--at', new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z')], { cwd: repo.dir });
    expect(later.code).toBe(1);
    expect(later.stdout).toContain('APPROVAL_EXPIRED');
    expect((await cli(['reject', ID, '--reason', 'not during the freeze', '--by', 'bob@customer.example', '--commit'], { cwd: repo.dir })).code).toBe(0);
    const rejected = await cli(['verify', ID, '--trust', trustFile], { cwd: repo.dir });
    expect(rejected.code).toBe(1);
    expect(rejected.stdout).toContain('SESSION_REJECTED');
  });
  it('exit 2 for a trust file inside the repository', async () => {
    const repo = await repoWithRequest();
    repo.write('trust.yaml', readFileSync(trustFile, 'utf8'));
    const r = await cli(['verify', ID, '--trust', join(repo.dir, 'trust.yaml')], { cwd: repo.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('inside the repository');
  });
});

describe('end', () => {
  it('writes an unsigned end.yaml and commits it', async () => {
    const repo = await repoWithRequest();
    const r = await cli(['end', ID, '--reason', 'fixed', '--by', 'alice@customer.example', '--commit'], { cwd: repo.dir });
    expect(r.code).toBe(0);
    const body = readFileSync(join(repo.dir, `sessions/${ID}/end.yaml`), 'utf8');
    expect(body).toContain('kind: End');
    expect(body).toContain('reason: fixed');
    expect(repo.git('status', '--porcelain')).toBe('');
  });
});
