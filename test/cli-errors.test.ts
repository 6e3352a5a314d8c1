/**
 * Every command's representative bad input (issue 16): exactly one line
 * `breakglass: CODE: message` on stderr, nothing on stdout, exit 2 (DESIGN's
 * "usage or operational error"), a code from the catalogue, and nothing left
 * behind — no file in the repository or the home directory changed, no
 * commit, no GnuPG home created.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../src/crypto/error-codes.js';
import { binary, cli, ROOT, type CliResult } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'fixtures');
const ID = 'inc-4411-prod-crashloop';
// Made at once: the table of cases below names paths inside it.
const work = mkdtempSync(join(tmpdir(), 'bg-errors-'));
const repo = join(work, 'repo');
const home = join(work, 'home');

beforeAll(async () => {
  await mkdir(home);
  await cp(join(FIXTURES, 'base'), repo, { recursive: true });
  await cp(join(FIXTURES, 'valid'), repo, { recursive: true });
  // A file where a directory is expected, and a trust file that is not one.
  await writeFile(join(work, 'plain'), 'not a directory\n');
  await writeFile(join(work, 'bad-trust.yaml'), 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers: []\nsurprise: true\n');
  execFileSync('git', ['-C', repo, 'init', '-q', '-b', 'main']);
  execFileSync('git', ['-C', repo, 'config', 'user.email', 'alice@customer.example']);
  execFileSync('git', ['-C', repo, 'config', 'user.name', 'alice']);
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, 'commit', '-qm', 'base']);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Every file under `dir` (the repository's .git by its HEAD and status only) with its content digest. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === '.git') continue;
      if (e.isDirectory()) await walk(p);
      else
        out[relative(dir, p)] = createHash('sha256')
          .update(await readFile(p))
          .digest('hex');
    }
  }
  await walk(dir);
  out['git HEAD'] = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  out['git status'] = execFileSync('git', ['-C', repo, 'status', '--porcelain', '--untracked-files=all'], { encoding: 'utf8' });
  return out;
}

/** Runs `args` in the repository with a private HOME, and checks the one-line form, the exit code and that nothing changed. */
async function refused(args: string[], code: ErrorCode, how: (a: string[], o: { cwd: string; env: NodeJS.ProcessEnv }) => Promise<CliResult> = cli): Promise<string> {
  const before = await snapshot(work);
  const r = await how(args, { cwd: repo, env: { HOME: home, PATH: process.env.PATH } });
  expect(r.stdout, 'nothing on stdout').toBe('');
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^breakglass: ${code}: \\S`));
  expect(r.code).toBe(2);
  expect(await snapshot(work), 'nothing written, committed or created').toEqual(before);
  return lines[0]!;
}

/** `request new` with every flag given: the id and reason vary, the rest is a valid request. */
function requestNew(id: string, reason: string): string[] {
  return [
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
    reason,
    '--requester',
    'oncall@vendor.example',
    '--recipient',
    '0123456789ABCDEF0123456789ABCDEF01234567',
  ];
}

describe('each command refuses bad input with one line breakglass: CODE: message, exit 2, nothing left behind', () => {
  it.each([
    ['init into a regular file', ['init', join('..', 'plain', 'repo')], 'DIR_UNUSABLE'],
    ['keygen into a regular file', ['keygen', '--name', 'x', '--email', 'x@example.com', '--out', join('..', 'plain')], 'DIR_UNUSABLE'],
    [
      'request new with an --input that is not key=value',
      [
        'request',
        'new',
        '--id',
        'inc-1-x',
        '--resource',
        'orders-db',
        '--privilege',
        'read-write',
        '--duration',
        '30m',
        '--network',
        'twingate',
        '--reason',
        'INC-1: rotate the orders password',
        '--requester',
        'oncall@vendor.example',
        '--recipient',
        '0123456789ABCDEF0123456789ABCDEF01234567',
        '--command',
        'db-password',
        '--input',
        'orders',
      ],
      'USAGE',
    ],
    ['request new of a session that already exists', requestNew(ID, 'INC-1: read pod logs on prod-eu'), 'SESSION_EXISTS'],
    ['validate in a directory that does not exist', ['validate', '--repo', join(tmpdir(), 'bg-errors-nonexistent')], 'REPO_MISSING'],
    ['show of an id that is not a DNS label', ['show', 'Not_An_Id'], 'ID_INVALID'],
    ['show of a session that does not exist', ['show', 'inc-0-nosuch'], 'SESSION_MISSING'],
    ['approve with a --key file that does not exist', ['approve', ID, '--key', './alice.sec.asc', '--yes'], 'KEY_MISSING'],
    ['approve --policy of a policy that does not exist', ['approve', '--policy', 'staging', '--key', join(work, 'plain'), '--yes'], 'POLICY_MISSING'],
    ['reject of a session that does not exist', ['reject', 'inc-0-nosuch', '--reason', 'no incident by that number'], 'SESSION_MISSING'],
    ['verify with a --trust file that does not exist', ['verify', ID, '--trust', join(work, 'trust.yaml')], 'FILE_MISSING'],
    ['end of a session that does not exist', ['end', 'inc-0-nosuch'], 'SESSION_MISSING'],
    ['runner with a --config file that does not exist', ['runner', '--config', join(work, 'runner.yaml'), '--once'], 'FILE_MISSING'],
    ['runner with an unknown --log-format', ['runner', '--config', join(work, 'runner.yaml'), '--log-format', 'xml'], 'USAGE'],
    ['receive with no runner key to verify the delivery', ['receive', ID, '--key', join(work, 'plain'), '--from', work], 'RUNNER_KEY_REQUIRED'],
    ['audit with a --trust file that does not exist', ['audit', '--trust', join(work, 'trust.yaml')], 'FILE_MISSING'],
    ['replay of an id that is not a session id', ['replay', '../escape', '--key', join(work, 'plain'), '--trust', join(work, 'plain')], 'USAGE'],
    ['review with a --trust file that does not exist', ['review', ID, '--trust', join(work, 'trust.yaml')], 'FILE_MISSING'],
    ['drill with a --config file that does not exist', ['drill', '--config', join(work, 'runner.yaml')], 'FILE_MISSING'],
    ['an unknown command', ['frobnicate'], 'USAGE'],
    ['an unknown option', ['validate', '--frob'], 'USAGE'],
    ['a required option left out', ['verify', ID], 'USAGE'],
    ['a missing argument', ['show'], 'USAGE'],
  ] as const)('%s', async (_what, args, code) => {
    await refused([...args], code);
  });

  it('a trust file that is not valid: its findings, then one INVALID_DOCUMENT line', async () => {
    const before = await snapshot(work);
    const r = await cli(['verify', ID, '--trust', join(work, 'bad-trust.yaml')], { cwd: repo, env: { HOME: home } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, -1).every((l) => /^\S+:\d+:\d+: error [A-Z_]+: /.test(l))).toBe(true);
    expect(lines.filter((l) => l.startsWith('breakglass: '))).toEqual([lines.at(-1)]);
    expect(lines.at(-1)).toMatch(/^breakglass: INVALID_DOCUMENT: \S/);
    expect(await snapshot(work)).toEqual(before);
  });

  it('bare breakglass: the help, then one USAGE line; --help stays exit 0 with nothing on stderr', async () => {
    const r = await cli([], { cwd: repo, env: {} });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: breakglass /);
    const said = r.stderr.split('\n').filter((l) => l.startsWith('breakglass: '));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/^breakglass: USAGE: \S/);
    expect(r.stderr.split('\n').at(-1)).toBe(said[0]);
    const help = await cli(['--help'], { cwd: repo, env: {} });
    expect(help).toMatchObject({ code: 0, stderr: '' });
  });

  // The real binary: what the process itself prints and its exit status, where an uncaught error would show.
  it('through the real binary too: one line, exit 2, no stack trace', async () => {
    const line = await refused(['show', 'inc-0-nosuch'], 'SESSION_MISSING', binary);
    expect(line).toBe(`breakglass: SESSION_MISSING: no session inc-0-nosuch in ${repo}/sessions`);
    await refused(['validate', '--frob'], 'USAGE', binary);
  });
});

describe('an unexpected failure (a bug)', () => {
  // A clock that reads NaN makes `request new` fail inside Date, where no error of ours is thrown.
  const broken = requestNew('inc-2-clock', 'INC-2: read pod logs on prod-eu');

  it('is one INTERNAL line, exit 2, without a stack trace', async () => {
    const before = await snapshot(work);
    const r = await cli(broken, { cwd: repo, now: Number.NaN, env: { BREAKGLASS_DEBUG: undefined } });
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^breakglass: INTERNAL: \S/);
    expect(await snapshot(work)).toEqual(before);
  });

  it('shows the stack only when BREAKGLASS_DEBUG is set', async () => {
    const r = await cli(broken, { cwd: repo, now: Number.NaN, env: { BREAKGLASS_DEBUG: '1' } });
    expect(r.code).toBe(2);
    const [first, ...rest] = r.stderr.split('\n');
    expect(first).toMatch(/^breakglass: INTERNAL: \S/);
    expect(rest.some((l) => /^\s+at /.test(l))).toBe(true);
  });
});

describe('the launcher in bin/', () => {
  // A process: bin/breakglass.js runs before any of our code is loaded.
  it('says INSTALL_BROKEN in one line, exit 2, when the compiled CLI is missing', async () => {
    const copy = join(work, 'unbuilt');
    await mkdir(join(copy, 'bin'), { recursive: true });
    await cp(join(ROOT, 'bin', 'breakglass.js'), join(copy, 'bin', 'breakglass.js'));
    await writeFile(join(copy, 'package.json'), '{ "type": "module" }\n');
    const r = await binaryAt(join(copy, 'bin', 'breakglass.js'));
    expect(r.code).toBe(2);
    expect(r.stderr.replace(/\n$/, '').split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^breakglass: INSTALL_BROKEN: cannot load the compiled CLI \(lib\/\): /);
  });
});

/** Runs a copy of the launcher under the Node that runs the tests. */
async function binaryAt(entry: string): Promise<{ code: number; stderr: string }> {
  try {
    execFileSync(process.execPath, [entry, '--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stderr: string };
    return { code: err.status, stderr: err.stderr };
  }
}
