/**
 * `breakglass audit` on the command line (run in-process, with the binary's
 * environment and output): exit codes 0 / 1 / 2, and `--json` prints one JSON
 * document on stdout and nothing else. The process's own streams and exit
 * status are tried on `validate` in cli.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inProcess } from './helpers/cli.js';
import { AuditRepo, T } from './helpers/audit-history.js';

describe('breakglass audit on the command line', () => {
  it('exits 0 on a clean history and 1 once a record is forged; --json is one document', async () => {
    const repo = await AuditRepo.create();
    const policy = await repo.policy(T('02:00:00'));
    await repo.session('inc-1', policy);
    const clean = await inProcess(['audit', '--trust', repo.trustFile, '--json'], { cwd: repo.dir });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ clean: true, sessions: [{ id: 'inc-1', status: 'recorded' }] });

    const request = repo.request('inc-2');
    repo.commit(T('03:00:00'));
    const approval = await repo.approve('inc-2', 'alice', request, { signed: T('03:01:00'), expires: T('04:00:00') });
    const commit = repo.commit(T('03:01:30'));
    await repo.record('inc-2', repo.recordDoc('inc-2', { request, approval, policy, commit }, { activated: T('03:02:00'), expires: T('04:02:00'), ended: T('04:02:03') }), T('04:02:10'), 'mallory');
    const text = await inProcess(['audit', '--trust', repo.trustFile], { cwd: repo.dir });
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^RECORD_FORGED session inc-2 commit [0-9a-f]{12}: /m);
    const json = await inProcess(['audit', '--trust', repo.trustFile, '--json'], { cwd: repo.dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).clean).toBe(false);
  });

  it('exits 2 when the trust file names no runner key, or an option is malformed', async () => {
    const repo = await AuditRepo.create();
    await repo.policy(T('02:00:00'));
    const noRunner = join(repo.trustDir, 'no-runner.yaml');
    writeFileSync(noRunner, 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: keys/alice.asc }\n');
    const r = await inProcess(['audit', '--trust', noRunner, '--json'], { cwd: repo.dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('runner');
    expect((await inProcess(['audit', '--trust', repo.trustFile, '--poll-interval', '5 seconds'], { cwd: repo.dir })).code).toBe(2);
  });
});
