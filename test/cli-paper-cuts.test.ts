/**
 * The paper cuts a newcomer hit (issue 14): the exact message, the exit code
 * (0 ok, 1 negative verdict, 2 usage or operational error), and that nothing
 * was written or created. Each runs the binary's code in-process with the
 * binary's environment and output (inProcess); only the help of a bare
 * `breakglass` starts the real binary, for what the process prints where.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditRepo, REPOSITORY, T } from './helpers/audit-history.js';
import { binary, inProcess, NODE, ROOT } from './helpers/cli.js';
import { run } from '../src/dev/exec.js';
import { CLI_INVOCATION } from '../src/core/invocation.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const FPR = '0123456789ABCDEF0123456789ABCDEF01234567';
const made: string[] = [];

afterAll(async () => {
  await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-cuts-'));
  made.push(dir);
  return dir;
}

/** A git repository with the base policy and no origin remote. */
async function scratch(): Promise<string> {
  const dir = await tempDir();
  await cp(join(FIXTURES, 'base'), dir, { recursive: true });
  execFileSync('git', ['-C', dir, 'init', '-q', '-b', 'main']);
  execFileSync('git', ['-C', dir, 'config', 'user.email', 'alice@customer.example']);
  return dir;
}

const request = (id: string, over: Record<string, string> = {}) => {
  const o = { resource: 'prod-eu', privilege: 'view', duration: '30m', network: 'direct', reason: 'INC-7: read pod logs on prod-eu', requester: 'oncall@vendor.example', recipient: FPR, ...over };
  return ['request', 'new', '--id', id, ...Object.entries(o).flatMap(([k, v]) => [`--${k}`, v])];
};

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

describe('end of a session that does not exist', () => {
  it('refuses with SESSION_MISSING, exit 2, and writes nothing', async () => {
    const dir = await scratch();
    const r = await inProcess(['end', 'nosuch', '--reason', 'done'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `breakglass: SESSION_MISSING: no session nosuch in ${dir}: there is no sessions/nosuch/request.yaml; nothing written\n` });
    expect(await exists(join(dir, 'sessions'))).toBe(false);
  });

  it('still ends a session that exists', async () => {
    const dir = await scratch();
    expect((await inProcess(request('inc-7-logs'), { cwd: dir })).code).toBe(0);
    const r = await inProcess(['end', 'inc-7-logs', '--reason', 'done'], { cwd: dir });
    expect(r).toMatchObject({ code: 0, stdout: 'wrote sessions/inc-7-logs/end.yaml\n' });
  });
});

describe('a --config or --key file that does not exist', () => {
  it.each([['runner', '--once'], ['drill']])('%s --config names the path: FILE_MISSING, exit 2', async (...command) => {
    const dir = await tempDir();
    const r = await inProcess([...command, '--config', 'nope.yaml'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `breakglass: FILE_MISSING: --config ${join(dir, 'nope.yaml')}: no such file\n` });
  });

  // A fresh Node (the compiled lib/, as the binary loads it): in-process tests share a module graph where the
  // Kubernetes client may already be loaded. It takes a second of CPU to load, which a mistyped path should not cost.
  it('runner and drill refuse a missing --config before they load the Kubernetes client', async () => {
    const dir = await tempDir();
    const script = [
      "import { registerHooks } from 'node:module';",
      'const kube = [];',
      "registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.includes('/@kubernetes/client-node/')) kube.push(r.url); return r; } });",
      `const { run } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'lib', 'cli', 'main.js')).href)});`,
      'const err = [];',
      'const io = { out: () => {}, err: (s) => err.push(s), now: Date.now, env: {}, cwd: process.cwd(), interactive: false };',
      "const codes = [await run(['runner', '--config', 'nope.yaml'], io), await run(['drill', '--config', 'nope.yaml'], io)];",
      'console.log(JSON.stringify({ codes, err, kube: kube.length }));',
    ].join('\n');
    const r = await run(NODE, ['--input-type=module', '-e', script], { cwd: dir });
    expect(r.stderr).toBe('');
    const missing = `breakglass: FILE_MISSING: --config ${join(dir, 'nope.yaml')}: no such file`;
    expect(JSON.parse(r.stdout)).toEqual({ codes: [2, 2], err: [missing, missing], kube: 0 });
  });

  it('runner --config given a directory says it is not a file', async () => {
    const dir = await tempDir();
    const r = await inProcess(['runner', '--config', dir, '--once'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stderr: `breakglass: FILE_MISSING: --config ${dir}: not a file\n` });
  });

  it('receive --key names the path: KEY_MISSING, exit 2', async () => {
    const dir = await tempDir();
    const r = await inProcess(['receive', 'inc-7-logs', '--key', 'vendor.sec.asc'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `breakglass: KEY_MISSING: --key ${join(dir, 'vendor.sec.asc')}: no such file\n` });
  });

  it('verify --trust names the path before asking for an origin remote: FILE_MISSING, exit 2', async () => {
    const dir = await scratch();
    const r = await inProcess(['verify', 'inc-7-logs', '--trust', 'trust.yaml'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `breakglass: FILE_MISSING: --trust ${join(dir, 'trust.yaml')}: no such file\n` });
  });
});

describe('approve --key that names nothing', () => {
  async function setup() {
    const dir = await scratch();
    expect((await inProcess(request('inc-7-logs'), { cwd: dir })).code).toBe(0);
    const home = join(await tempDir(), 'home');
    return { dir, home, env: { HOME: home, GNUPGHOME: '' } };
  }

  it('a missing key file is KEY_MISSING, exit 2; gpg is never run and ~/.gnupg never created', async () => {
    const { dir, home, env } = await setup();
    const r = await inProcess(['approve', 'inc-7-logs', '--key', 'alice.sec.asc', '--yes'], { cwd: dir, env });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `breakglass: KEY_MISSING: --key ${join(dir, 'alice.sec.asc')}: no such file; nothing written\n` });
    expect(await exists(home)).toBe(false);
    expect(await exists(join(dir, 'sessions/inc-7-logs/approvals'))).toBe(false);
  });

  // A fresh Node whose own HOME differs from the account's: a command reads HOME from io.env, never from the process.
  it("with no HOME in the command's environment, GnuPG's home is the account's, not the process's HOME", async () => {
    const home = join(await tempDir(), 'process-home');
    const common = pathToFileURL(join(ROOT, 'lib', 'cli', 'common.js')).href;
    const script = `const { gnupgHome } = await import(${JSON.stringify(common)}); console.log(gnupgHome({ env: {} }));`;
    const r = await run(NODE, ['--input-type=module', '-e', script], { cwd: ROOT, env: { HOME: home } });
    expect(r).toMatchObject({ code: 0, stdout: `${join(userInfo().homedir, '.gnupg')}\n` });
  });

  it('a path with a slash is never handed to gpg as a key id', async () => {
    const { dir, home, env } = await setup();
    const r = await inProcess(['approve', 'inc-7-logs', '--key', 'keys/alice', '--yes'], { cwd: dir, env });
    expect(r).toMatchObject({ code: 2, stderr: `breakglass: KEY_MISSING: --key ${join(dir, 'keys/alice')}: no such file; nothing written\n` });
    expect(await exists(home)).toBe(false);
  });

  it('a gpg key id with no GnuPG home is KEY_MISSING, and the home is not created', async () => {
    const { dir, home, env } = await setup();
    const r = await inProcess(['approve', 'inc-7-logs', '--key', 'alice@customer.example', '--yes'], { cwd: dir, env });
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `breakglass: KEY_MISSING: --key "alice@customer.example": no file ${join(dir, 'alice@customer.example')}, and no GnuPG home at ${join(home, '.gnupg')} to find a key named so; nothing written (pass a secret key file, or a key id gpg knows)\n`,
    });
    expect(await exists(home)).toBe(false);
  });

  it("a gpg key id gpg does not hold is GPG_NO_KEY, without gpg's own output", async () => {
    const { dir } = await setup();
    const gnupg = join(await tempDir(), 'gnupg');
    await mkdir(gnupg, { mode: 0o700 });
    const r = await inProcess(['approve', 'inc-7-logs', '--key', 'nobody@customer.example', '--repository', 'github.com/customer/access', '--yes'], { cwd: dir, env: { GNUPGHOME: gnupg } });
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'breakglass: GPG_NO_KEY: gpg has no secret key for "nobody@customer.example"; pass a secret key file, or a key id that gpg --list-secret-keys shows\n',
    });
    expect(await exists(join(dir, 'sessions/inc-7-logs/approvals'))).toBe(false);
  });

  it('approve --policy checks the key the same way', async () => {
    const { dir, home, env } = await setup();
    const r = await inProcess(['approve', '--policy', 'production', '--key', 'alice.sec.asc', '--yes'], { cwd: dir, env });
    expect(r).toMatchObject({ code: 2, stderr: `breakglass: KEY_MISSING: --key ${join(dir, 'alice.sec.asc')}: no such file; nothing written\n` });
    expect(await exists(home)).toBe(false);
  });
});

describe('keygen over existing keys', () => {
  it('refuses with KEY_EXISTS, exit 2, and leaves both files as they were', async () => {
    const dir = await tempDir();
    const first = await inProcess(['keygen', '--name', 'alice', '--email', 'alice@customer.example', '--out', 'keys'], { cwd: dir });
    expect(first.code).toBe(0);
    const before = await Promise.all(['alice.asc', 'alice.sec.asc'].map((f) => readFile(join(dir, 'keys', f), 'utf8')));
    const r = await inProcess(['keygen', '--name', 'alice', '--email', 'alice@customer.example', '--out', 'keys'], { cwd: dir });
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `breakglass: KEY_EXISTS: ${join(dir, 'keys', 'alice.sec.asc')} already exists; nothing written (choose another --out or --name; keys are never overwritten)\n`,
    });
    expect(await Promise.all(['alice.asc', 'alice.sec.asc'].map((f) => readFile(join(dir, 'keys', f), 'utf8')))).toEqual(before);
  });

  it('refuses when only the public half exists, and writes no secret beside it', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'keys'));
    await writeFile(join(dir, 'keys', 'bob.asc'), 'mine\n');
    const r = await inProcess(['keygen', '--name', 'bob', '--email', 'bob@customer.example', '--out', 'keys'], { cwd: dir });
    expect(r).toMatchObject({
      code: 2,
      stderr: `breakglass: KEY_EXISTS: ${join(dir, 'keys', 'bob.asc')} already exists; nothing written (choose another --out or --name; keys are never overwritten)\n`,
    });
    expect(await readdir(join(dir, 'keys'))).toEqual(['bob.asc']);
    expect(await readFile(join(dir, 'keys', 'bob.asc'), 'utf8')).toBe('mine\n');
  });
});

describe('inputs are checked before the origin remote', () => {
  it('approve names a missing session, not the missing origin', async () => {
    const dir = await scratch();
    const r = await inProcess(['approve', 'nosuch', '--key', 'alice.sec.asc', '--yes'], { cwd: dir, env: { HOME: dir } });
    expect(r.code).toBe(2);
    // The key is looked at first (it is the cheapest input), then the session; the origin only after both.
    expect(r.stderr).toBe(`breakglass: KEY_MISSING: --key ${join(dir, 'alice.sec.asc')}: no such file; nothing written\n`);
    await writeFile(join(dir, 'alice.sec.asc'), 'not a key\n');
    const again = await inProcess(['approve', 'nosuch', '--key', 'alice.sec.asc', '--yes'], { cwd: dir });
    expect(again).toMatchObject({ code: 2, stderr: `breakglass: SESSION_MISSING: no session nosuch in ${dir}/sessions\n` });
  });

  it('approve --policy names a missing policy, not the missing origin', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'alice.sec.asc'), 'not a key\n');
    const r = await inProcess(['approve', '--policy', 'staging', '--key', 'alice.sec.asc', '--yes'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stderr: `breakglass: POLICY_MISSING: no policies/staging.yaml in ${dir}\n` });
  });

  it('the origin is asked for last, and says how to do without it', async () => {
    const dir = await scratch();
    expect((await inProcess(request('inc-7-logs'), { cwd: dir })).code).toBe(0);
    await inProcess(['keygen', '--name', 'alice', '--email', 'alice@customer.example', '--out', join(dir, '..', 'alice-keys')], { cwd: dir });
    made.push(join(dir, '..', 'alice-keys'));
    const r = await inProcess(['approve', 'inc-7-logs', '--key', join(dir, '..', 'alice-keys', 'alice.sec.asc'), '--yes'], { cwd: dir });
    expect(r).toMatchObject({
      code: 2,
      stderr: `breakglass: REPOSITORY_UNKNOWN: cannot tell which repository this is: there is no origin remote in ${dir}; pass --repository host/owner/name\n`,
    });
  });
});

describe('validate in a directory that is not an access repository', () => {
  it('says NOTHING_TO_VALIDATE, exit 2, not ok', async () => {
    const dir = await tempDir();
    const r = await inProcess(['validate'], { cwd: dir });
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `breakglass: NOTHING_TO_VALIDATE: nothing to validate in ${dir}: no policies/*.yaml and no sessions/; run it in an access repository (or pass --repo), or set one up with breakglass init\n`,
    });
  });

  it('prints nothing on stdout with --json either', async () => {
    const dir = await tempDir();
    const r = await inProcess(['validate', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});

describe('request new with schema and policy errors together', () => {
  it('reports every problem in one try, exit 1, and writes nothing', async () => {
    const dir = await scratch();
    const r = await inProcess(request('inc-9-all', { duration: '99x', reason: 'short', requester: 'someone@other.example' }), { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'sessions/inc-9-all/request.yaml:5:14: error POLICY_REQUESTER: requester "someone@other.example" is not allowed by policy production; allowed: *@vendor.example',
        'sessions/inc-9-all/request.yaml:8:11: error POLICY_REASON_LENGTH: reason is 5 characters; policy production requires at least 20',
        'sessions/inc-9-all/request.yaml:8:11: error POLICY_REASON_PATTERN: reason "short" does not match the pattern "^INC-[0-9]+" required by policy production',
        'sessions/inc-9-all/request.yaml:11:13: error DURATION_INVALID: spec.duration "99x" is not a duration such as 30s, 15m, 2h or 1h30m',
        '4 errors',
        'nothing written',
        '',
      ].join('\n'),
    );
    expect(await exists(join(dir, 'sessions'))).toBe(false);
  });

  it('reports a schema error once where policy would repeat it', async () => {
    const dir = await scratch();
    const r = await inProcess(request('inc-9-fpr', { recipient: 'XYZ' }), { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.match(/request\.yaml:13:\d+: error /g)).toHaveLength(1);
    expect(r.stderr).not.toContain('POLICY_RECIPIENT');
  });
});

describe('bare breakglass', () => {
  // The real binary: the help goes to the process's stderr, not stdout, and the process exits 2.
  it('prints the help on stderr and exits 2', async () => {
    const r = await binary([], { cwd: ROOT });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: breakglass \[options\] \[command\]\n/);
    expect(r.stderr).toContain('  init [dir] ');
  });

  it('a command group without its subcommand is usage too; --help stays exit 0', async () => {
    expect((await inProcess(['request'], { cwd: ROOT })).code).toBe(2);
    // The real binary: --help as the process prints it, on stdout, exit 0.
    const help = await binary(['--help'], { cwd: ROOT });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: breakglass /);
  });
});

describe('a directory that cannot be created', () => {
  it('init /proc/nope fails at once with DIR_UNUSABLE, exit 2', async () => {
    const r = await inProcess(['init', '/proc/nope'], { cwd: ROOT });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: 'breakglass: DIR_UNUSABLE: cannot create directory /proc/nope (ENOENT); choose a directory you can write to\n' });
  });

  it('keygen --out under /proc fails the same way', async () => {
    const r = await inProcess(['keygen', '--name', 'alice', '--email', 'alice@customer.example', '--out', '/proc/nope/keys'], { cwd: ROOT });
    expect(r).toMatchObject({ code: 2, stderr: 'breakglass: DIR_UNUSABLE: cannot create directory /proc/nope (ENOENT); choose a directory you can write to\n' });
  });

  it('init under a regular file names the file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'plain'), '');
    const r = await inProcess(['init', join(dir, 'plain', 'repo')], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stderr: `breakglass: DIR_UNUSABLE: cannot create directory ${join(dir, 'plain', 'repo')}: ${join(dir, 'plain')} exists and is not a directory\n` });
  });
});

describe('a policy nobody has approved', () => {
  it('validate still passes the rules (exit 0) but says the runner will refuse it', async () => {
    const dir = await scratch();
    const r = await inProcess(['validate'], { cwd: dir });
    expect(r).toMatchObject({
      code: 0,
      stdout: 'ok: 1 policy, 0 sessions\n',
      stderr: `note: policy production has no approval of its current bytes: the runner refuses every session it governs until approvers sign it (${CLI_INVOCATION} approve --policy production --key <your-key.asc> --commit)\n`,
    });
    const json = JSON.parse((await inProcess(['validate', '--json'], { cwd: dir })).stdout) as { unapprovedPolicies: string[] };
    expect(json.unapprovedPolicies).toEqual(['production']);
  });

  it('show does not say "Policy OK"', async () => {
    const dir = await scratch();
    expect((await inProcess(request('inc-7-logs'), { cwd: dir })).code).toBe(0);
    const r = await inProcess(['show', 'inc-7-logs'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/Policy +OK/);
    expect(r.stdout).toContain('  Policy          NOT IN FORCE: the rules allow this request, but the policy is not approved\n');
    expect(r.stdout).toContain(
      `                  policy production has no approval of its current bytes: the runner refuses every session it governs until approvers sign it (${CLI_INVOCATION} approve --policy production --key <your-key.asc> --commit)\n`,
    );
  });

  it("init's next steps say how to approve the policy", async () => {
    const dir = await tempDir();
    const r = await inProcess(['init', 'access'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`then approvers sign its exact bytes: ${CLI_INVOCATION} approve --policy production --key <your-key.asc> --commit\n`);
    expect(r.stdout).toContain('(the runner refuses every session under a policy that the trust threshold has not approved)\n');
  });
});

describe('audit in a clone with no origin remote', () => {
  it('audit --trust names the path before asking for an origin remote: FILE_MISSING, exit 2', async () => {
    const dir = await scratch();
    const r = await inProcess(['audit', '--trust', 'trust.yaml'], { cwd: dir });
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: `breakglass: FILE_MISSING: --trust ${join(dir, 'trust.yaml')}: no such file\n` });
  });

  it('learns the repository name from the runner-signed records', async () => {
    const repo = await AuditRepo.create();
    made.push(repo.dir, repo.trustDir);
    const policy = await repo.policy(T('02:00:00'));
    await repo.session('inc-1', policy);
    repo.git('remote', 'remove', 'origin');
    const r = await inProcess(['audit', '--trust', repo.trustFile], { cwd: repo.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^audit of ${REPOSITORY} \\(main at [0-9a-f]{12}, \\d+ commits\\): 1 session\\(s\\), 0 finding\\(s\\)\n`));
  });

  it('ignores a record naming another repository that the runner did not sign', async () => {
    const repo = await AuditRepo.create();
    made.push(repo.dir, repo.trustDir);
    const policy = await repo.policy(T('02:00:00'));
    const { request, approval, commit } = await repo.session('inc-1', policy);
    const forged = repo.recordDoc(
      'inc-2',
      { request, approval, policy, commit },
      { repository: 'github.com/mallory/elsewhere', activated: T('03:02:00'), expires: T('03:30:00'), ended: T('03:30:03') },
    );
    await repo.record('inc-2', forged, T('03:31:00'), 'mallory');
    repo.git('remote', 'remove', 'origin');
    const r = await inProcess(['audit', '--trust', repo.trustFile, '--json'], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ repository: REPOSITORY, clean: false });
  });

  it('refuses with REPOSITORY_UNKNOWN, exit 2, when no record is signed by the runner', async () => {
    const repo = await AuditRepo.create();
    made.push(repo.dir, repo.trustDir);
    await repo.policy(T('02:00:00'));
    repo.git('remote', 'remove', 'origin');
    const r = await inProcess(['audit', '--trust', repo.trustFile], { cwd: repo.dir });
    expect(r).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `breakglass: REPOSITORY_UNKNOWN: cannot tell which repository this is: there is no origin remote in ${repo.dir} and no runner-signed record to learn it from; pass --repository host/owner/name\n`,
    });
  });
});
