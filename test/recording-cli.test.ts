/**
 * `replay`, `review` and `audit` on recordings made by the real writer, in a
 * real git history with runner-signed records. One clean recorded session,
 * then one session per way to tamper with a recording in git; each is an
 * `audit` finding and a `replay` refusal with the same stable code, and
 * nothing of a refused recording is printed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditReport } from '../src/core/audit.js';
import { generateKeyPair } from '../src/crypto/openpgp.js';
import { sign } from './helpers/approvals.js';
import { AUDIT_NOW, AuditRepo, T } from './helpers/audit-history.js';
import { binary, cli } from './helpers/cli.js';
import { auditorKeys, MARKERS, recordedSession, traffic, writeRecording } from './helpers/recording.js';

let repo: AuditRepo;
let keyDir: string;
let secKey: string;
let strangerKey: string;

const TAMPERED: [string, string][] = [
  ['inc-truncated', 'RECORDING_TRUNCATED'],
  ['inc-swapped', 'RECORDING_REORDERED'],
  ['inc-altered', 'RECORDING_ALTERED'],
  ['inc-reencrypted', 'RECORDING_ALTERED'],
  ['inc-extra', 'RECORDING_EXTRA'],
  ['inc-missing', 'RECORDING_MISSING'],
  ['inc-foreign', 'RECORDING_ALTERED'],
  ['inc-unbound', 'RECORDING_UNBOUND'],
];

beforeAll(async () => {
  repo = await AuditRepo.create();
  const { sec, stranger } = await auditorKeys();
  keyDir = mkdtempSync(join(tmpdir(), 'bg-rec-keys-'));
  secKey = join(keyDir, 'sec-team.sec.asc');
  strangerKey = join(keyDir, 'stranger.sec.asc');
  writeFileSync(secKey, sec.privateKey, { mode: 0o600 });
  writeFileSync(strangerKey, stranger.privateKey, { mode: 0o600 });
  const policy = await repo.policy(T('02:00:00'));
  await recordedSession(repo, 'inc-clean', policy);
  const name = (i: number) => `${String(i).padStart(6, '0')}.pgp`;
  const foreign = (await writeRecording('inc-other', sec.publicKey)).chunks;
  const resealed = (await writeRecording('inc-reencrypted', stranger.publicKey)).chunks;
  const files = (cs: { fileName: string; bytes: Uint8Array }[]) => cs.map((c) => ({ name: c.fileName, bytes: c.bytes }));
  await recordedSession(repo, 'inc-truncated', policy, { tamper: (c) => files(c).filter((f) => f.name !== name(2)) });
  await recordedSession(repo, 'inc-swapped', policy, { tamper: (c) => files(c).map((f) => (f.name === name(1) ? { ...f, name: name(3) } : f.name === name(3) ? { ...f, name: name(1) } : f)) });
  await recordedSession(repo, 'inc-altered', policy, {
    tamper: (c) => files(c).map((f) => (f.name === name(2) ? { ...f, bytes: Uint8Array.from(f.bytes, (b, i) => (i === 100 ? b ^ 0x20 : b)) } : f)),
  });
  await recordedSession(repo, 'inc-reencrypted', policy, { tamper: (c) => files(c).map((f) => (f.name === name(1) ? { ...f, bytes: resealed[0]!.bytes } : f)) });
  await recordedSession(repo, 'inc-extra', policy, { tamper: (c) => [...files(c), { name: name(c.length + 1), bytes: foreign.at(-1)!.bytes }] });
  await recordedSession(repo, 'inc-missing', policy, { tamper: () => [] });
  await recordedSession(repo, 'inc-foreign', policy, { tamper: (c) => files(c).map((f) => (f.name === name(2) ? { ...f, bytes: foreign[1]!.bytes } : f)) });
  await recordedSession(repo, 'inc-unbound', policy, { record: { recording: undefined } });
});

const run = (args: string[]) => cli(args, { cwd: repo.dir, now: AUDIT_NOW });

describe('replay of a recording that matches its signed record', () => {
  it('prints every request kubectl-like: verb, resource, status, exec argv and the streams as text', async () => {
    const r = await run(['replay', 'inc-clean', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/4 chunk\(s\), chain head sha256:[0-9a-f]{64} verified against the runner-signed record; 19 event\(s\)/);
    const lines = r.stdout.split('\n');
    const row = (verb: string, status: string, target: string) => lines.find((l) => l.includes(` ${verb} `) && l.includes(` ${status} `) && l.includes(target));
    expect(row('list', '200', 'pods -n payments')).toBeDefined();
    expect(row('create', '201', 'configmaps -n payments')).toBeDefined();
    expect(row('patch', '200', 'deployments.apps/api -n payments')).toBeDefined();
    expect(row('delete', '200', 'pods/api-0 -n payments')).toBeDefined();
    expect(row('watch', '200', 'pods -n payments')).toBeDefined();
    expect(row('create', '101', 'pods/api-1/exec -n payments')).toBeDefined();
    expect(r.stdout).toContain(`argv: ["cat","${MARKERS.argv}"]`);
    expect(r.stdout).toContain(`< ${MARKERS.output}`);
    expect(r.stdout).toContain('< {"type":"ADDED","object":{"kind":"Pod"}}');
    expect(r.stdout).toContain('DENIED (delete namespaces)');
    expect(r.stdout).toContain('REFUSED (session ended)');
    // Escape sequences from a stream never reach the terminal.
    expect(r.stdout).not.toContain('\u001b');
    expect(r.stdout).toContain('.[31mred.[0m');
  });

  it('with --json prints the verified events and nothing else', async () => {
    const r = await run(['replay', 'inc-clean', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { verified: boolean; events: { seq: number; type: string }[] };
    expect(doc.verified).toBe(true);
    expect(doc.events.map((e) => e.type)).toEqual(traffic().map((t) => t.event.type));
    expect(doc.events.map((e) => e.seq)).toEqual(traffic().map((_, i) => i + 1));
  });
});

describe('when a recording was tampered with in git', () => {
  it('audit reports each with its code and keeps the clean one clean', async () => {
    const r = await run(['audit', '--trust', repo.trustFile, '--repo', repo.dir, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as AuditReport;
    const byId = new Map(report.sessions.map((s) => [s.id, s]));
    expect(byId.get('inc-clean')!.findings).toEqual([]);
    expect(byId.get('inc-clean')!.recording).toMatchObject({ chunks: 4, verified: true });
    for (const [id, code] of TAMPERED)
      expect(
        byId.get(id)!.findings.map((f) => f.code),
        id,
      ).toEqual([code]);
    expect(byId.get('inc-altered')!.recording).toMatchObject({ verified: false });
  });

  for (const [id, code] of TAMPERED) {
    it(`replay refuses ${id} with ${code} (exit 1) and prints nothing of it`, async () => {
      const r = await run(['replay', id, '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`breakglass: refused ${code}:`);
      expect(r.stdout).not.toContain('payments');
      const json = await run(['replay', id, '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir, '--json']);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({ verified: false, findings: [expect.objectContaining({ code })] });
    });
  }
});

describe('replay cannot be misled or misused', () => {
  it('refuses a record the runner did not sign, however well its recording matches (exit 1)', async () => {
    const forged = await AuditRepo.create();
    const policy = await forged.policy(T('02:00:00'));
    await recordedSession(forged, 'inc-forged', policy, { key: 'mallory' });
    const r = await cli(['replay', 'inc-forged', '--key', secKey, '--trust', forged.trustFile, '--repo', forged.dir], { cwd: forged.dir, now: AUDIT_NOW });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused RECORD_NOT_RUNNER');
    expect(r.stdout).toBe('');
  });

  it('verifies the record at its commit time, as audit does: a runner key that expired since still vouches for it', async () => {
    const rotated = await AuditRepo.create();
    const policy = await rotated.policy(T('02:00:00'));
    // Valid from the day before the session until midnight after it: expired a day before "now".
    const runner = await generateKeyPair({ name: 'runner', email: 'runner@customer.example', date: new Date('2026-11-20T00:00:00Z'), expiresIn: 2 * 86_400 });
    const resign = async (id: string, key: typeof runner, at: string) => {
      const body = readFileSync(join(rotated.dir, 'sessions', id, 'record.yaml'));
      writeFileSync(join(rotated.dir, 'sessions', id, 'record.yaml.asc'), await sign(key, body, new Date(T('02:40:03'))));
      rotated.commit(at, `re-sign ${id}`);
    };
    await recordedSession(rotated, 'inc-rotated', policy);
    await resign('inc-rotated', runner, T('02:40:09'));
    writeFileSync(join(rotated.trustDir, 'keys', 'runner.asc'), runner.publicKey);
    const replay = (id: string) => cli(['replay', id, '--key', secKey, '--trust', rotated.trustFile, '--repo', rotated.dir], { cwd: rotated.dir, now: AUDIT_NOW });
    const ok = await replay('inc-rotated');
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toContain(MARKERS.argv);
    // Left in the checkout only (no longer in git), the same bytes are judged now, and the key has expired.
    const record = join(rotated.dir, 'sessions', 'inc-rotated', 'record.yaml');
    const bytes = readFileSync(record);
    rotated.remove('sessions/inc-rotated/record.yaml');
    rotated.commit(T('06:00:00'), 'remove the record');
    writeFileSync(record, bytes);
    const now = await replay('inc-rotated');
    expect([now.code, now.stderr]).toEqual([1, expect.stringContaining('refused RECORD_NOT_RUNNER')]);
  });

  const usage: [string, () => string[], string][] = [
    ['a key the recording was not sealed to', () => ['replay', 'inc-clean', '--key', strangerKey, '--trust', repo.trustFile, '--repo', repo.dir], 'RECORDING_NOT_FOR_KEY'],
    ['a key file that does not exist', () => ['replay', 'inc-clean', '--key', join(keyDir, 'none.asc'), '--trust', repo.trustFile, '--repo', repo.dir], 'KEY_MISSING'],
    ['a file that is not a secret key', () => ['replay', 'inc-clean', '--key', repo.trustFile, '--trust', repo.trustFile, '--repo', repo.dir], 'KEY_UNREADABLE'],
    ['a session that does not exist', () => ['replay', 'inc-nowhere', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir], 'SESSION_MISSING'],
    ['a session id that is not one', () => ['replay', '../inc-clean', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir], 'USAGE'],
    ['a trust file that does not exist', () => ['replay', 'inc-clean', '--key', secKey, '--trust', join(keyDir, 'none.yaml'), '--repo', repo.dir], 'FILE_MISSING'],
  ];
  for (const [what, args, code] of usage) {
    it(`exits 2 with ${code} for ${what}`, async () => {
      const r = await run(args());
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`breakglass: ${code}:`);
      expect(r.stdout).toBe('');
    });
  }

  it('exits 2 with RECORDING_NONE for a session the runner has not recorded yet', async () => {
    repo.request('inc-open');
    repo.commit(T('04:00:00'), 'open request');
    const r = await run(['replay', 'inc-open', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('breakglass: RECORDING_NONE:');
  });
});

describe('the post-incident review', () => {
  it("with an auditor key lists what was created, changed, deleted and exec'd, and leaves root cause and policy updates to fill in", async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bg-review-')), 'review.md');
    const r = await run(['review', 'inc-clean', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir, '--out', out]);
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const md = readFileSync(out, 'utf8');
    const section = (title: string) => md.split(`\n### ${title}\n`)[1]!.split('\n### ')[0]!;
    expect(section('Created')).toContain('`configmaps -n payments`');
    expect(section('Changed')).toContain('`deployments.apps/api -n payments`');
    expect(section('Deleted')).toContain('`pods/api-0 -n payments`');
    expect(section("Exec'd, attached or port-forwarded")).toContain(MARKERS.argv);
    expect(section('Denied by policy')).toContain('delete namespaces');
    expect(section('Refused after the session ended')).toContain('session ended');
    for (const h of ['## Requested and approved', '## When it was active', '## Why it ended', '## Revocation proof', '## Audit findings', '## Root cause', '## Policy updates'])
      expect(md).toContain(h);
    expect(md).toContain('`unauthenticated`');
    expect(md).toContain(repo.keys.alice!.fingerprint);
  });

  it("without a key writes everything but the recording's contents, and says so", async () => {
    const r = await run(['review', 'inc-clean', '--trust', repo.trustFile, '--repo', repo.dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("The recording's contents are not in this review");
    expect(r.stdout).toContain('the audit verified it against the runner-signed record');
    expect(r.stdout).not.toContain(MARKERS.argv);
    expect(r.stdout).toContain('## Revocation proof');
  });

  it('of a tampered recording says it was refused and exits 1, still written', async () => {
    const r = await run(['review', 'inc-swapped', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('**The recording was refused, so nothing it says is shown:**');
    expect(r.stdout).toContain('`RECORDING_REORDERED`');
    expect(r.stdout).not.toContain(MARKERS.argv);
  });
});

describe('no plaintext of a recording', () => {
  // The real binary: files it may leave under its own TMPDIR and HOME; in-process, os.tmpdir() is the test process's.
  it('is in the git history, the checkout, or any file the real binary leaves behind', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'bg-rec-scratch-'));
    const env = { ...process.env, TMPDIR: scratch, HOME: scratch };
    const replay = await binary(['replay', 'inc-clean', '--key', secKey, '--trust', repo.trustFile, '--repo', repo.dir], { cwd: scratch, env });
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(MARKERS.output);
    const audit = await binary(['audit', '--trust', repo.trustFile, '--repo', repo.dir, '--html', join(scratch, 'audit.html')], { cwd: scratch, env });
    expect(audit.code).toBe(1);
    // Every object git holds, decompressed: blobs of every version, trees, commits.
    const objects = execFileSync('git', ['-C', repo.dir, 'cat-file', '--batch-all-objects', '--batch'], { maxBuffer: 256 * 1024 * 1024 });
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
    const onDisk = [...files(repo.dir), ...files(scratch)].map((f) => readFileSync(f));
    for (const marker of Object.values(MARKERS)) {
      expect(objects.includes(marker), `${marker} in git objects`).toBe(false);
      for (const b of onDisk) expect(b.includes(marker), marker).toBe(false);
    }
  });
});
