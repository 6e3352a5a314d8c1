/**
 * GnuPG interop, both ways, with the real `gpg` binary and a throwaway
 * GNUPGHOME: gpg-made keys (ed25519 with a signing subkey, RSA 3072) sign
 * approvals that breakglass verifies, and breakglass keys and signatures are
 * imported and verified by gpg.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { approvalYaml, ID, isoFromNow, makeKeys, policyYaml, Repo, REPOSITORY, requestYaml, seed, trustOf, type Keys } from './helpers/approvals.js';
import { cli } from './helpers/cli.js';
import { gpgRecipe } from '../src/core/view.js';
import { generateKeyPair, readPrivateKey, signDetached } from '../src/crypto/openpgp.js';
import type { SessionVerdict } from '../src/core/verify-session.js';

const home = mkdtempSync(join(tmpdir(), 'bg-gnupg-'));
const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
const BATCH = ['--batch', '--pinentry-mode', 'loopback', '--passphrase', ''];

function gpg(...args: string[]): string {
  return execFileSync('gpg', [...BATCH, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function fingerprintOf(uid: string): string[] {
  return gpg('--with-colons', '--list-keys', uid)
    .split('\n')
    .filter((l) => l.startsWith('fpr:'))
    .map((l) => l.split(':')[9]!);
}
function exportKey(fpr: string): string {
  return gpg('--armor', '--export', fpr);
}

let keys: Keys;
let dave: string; // ed25519 primary (certify only) + ed25519 signing subkey
let daveSub: string;
let erin: string; // RSA 3072

beforeAll(async () => {
  keys = await makeKeys({ alice: 'alice@customer.example' });
  gpg('--quick-gen-key', 'dave <dave@customer.example>', 'ed25519', 'cert', 'never');
  dave = fingerprintOf('dave@customer.example')[0]!;
  gpg('--quick-add-key', dave!, 'ed25519', 'sign', 'never');
  daveSub = fingerprintOf('dave@customer.example')[1]!;
  gpg('--quick-gen-key', 'erin <erin@customer.example>', 'rsa3072', 'sign', 'never');
  erin = fingerprintOf('erin@customer.example')[0]!;
});

/** A repository whose request was just made (gpg signs with the real clock) and whose policy lists the gpg approvers. */
function fresh(repo: Repo): Promise<string> {
  return seed(repo, keys, { policy: policyYaml({ approvers: ['alice', 'dave', 'erin', 'hank'] }), request: requestYaml(ID, { created: isoFromNow(-120_000) }) });
}

async function gpgApproval(name: string, fpr: string, extra: string[] = []): Promise<SessionVerdict> {
  const repo = new Repo();
  const digest = await fresh(repo);
  const rel = `sessions/${ID}/approvals/${name}.yaml`;
  repo.write(rel, approvalYaml(name, digest, { signed: isoFromNow(-60_000), expires: isoFromNow(3600_000) }));
  gpg(...extra, '--armor', '--detach-sign', '--local-user', fpr, '--output', join(repo.dir, `${rel}.asc`), join(repo.dir, rel));
  repo.commit('approve with gpg');
  const trust = await trustOf([
    { name: 'alice', key: keys.alice! },
    { name, key: exportKey(fpr) },
  ]);
  return repo.verify(trust, Date.now());
}

describe('approvals signed by gpg', () => {
  it('with an ed25519 signing subkey verify, naming subkey and primary', async () => {
    const v = await gpgApproval('dave', dave!);
    expect(v.reasons).toEqual([]);
    expect(daveSub).not.toBe(dave);
    expect(v.approvals?.accepted[0]).toMatchObject({ keyId: `openpgp:${dave}`, signingKey: daveSub });
  });
  it('with an RSA 3072 key verify', async () => {
    const v = await gpgApproval('erin', erin!);
    expect(v.reasons).toEqual([]);
  });
  it('in text mode (--textmode) are refused: SIGNATURE_TEXT_MODE', async () => {
    const v = await gpgApproval('dave', dave!, ['--textmode']);
    expect(v.reasons.map((r) => r.code)).toEqual(['SIGNATURE_TEXT_MODE', 'THRESHOLD_NOT_MET']);
  });
  it('with an RSA 2048 key are refused: KEY_WEAK', async () => {
    gpg('--quick-gen-key', 'frank <frank@customer.example>', 'rsa2048', 'sign', 'never');
    const [frank] = fingerprintOf('frank@customer.example');
    const v = await gpgApproval('erin', frank!);
    expect(v.reasons.map((r) => r.code)).toEqual(['KEY_WEAK', 'THRESHOLD_NOT_MET']);
  });
  it('by following the plain-gpg recipe from the approval view verify', async () => {
    const repo = new Repo();
    const digest = await fresh(repo);
    const script = gpgRecipe(ID, digest, REPOSITORY)
      .replace('APPROVER=your-name', 'APPROVER=dave')
      .replace(/^git add .*$/m, '');
    const sh = spawnSync('bash', ['-euc', script.replace('gpg --armor', `gpg ${BATCH.join(' ')} --local-user ${dave} --armor`).replace("''", "''")], { cwd: repo.dir, env, encoding: 'utf8' });
    expect(sh.status, sh.stderr).toBe(0);
    expect(sh.stdout).toContain(digest.slice('sha256:'.length));
    repo.commit('approve with plain gpg');
    const v = await repo.verify(
      await trustOf([
        { name: 'alice', key: keys.alice! },
        { name: 'dave', key: exportKey(dave!) },
      ]),
      Date.now(),
    );
    expect(v.reasons).toEqual([]);
  });
  it('through `breakglass approve --key <gpg fingerprint>` verify', async () => {
    const repo = new Repo();
    repo.git('remote', 'add', 'origin', 'https://github.com/customer/access.git');
    const digest = await fresh(repo);
    const r = await cli(['approve', ID, '--key', dave!, '--yes', '--commit'], { cwd: repo.dir, env, now: Date.now() });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(repo.dir, `sessions/${ID}/approvals/dave.yaml`), 'utf8')).toContain(digest);
    const v = await repo.verify(
      await trustOf([
        { name: 'alice', key: keys.alice! },
        { name: 'dave', key: exportKey(dave!) },
      ]),
      Date.now(),
    );
    expect(v.reasons).toEqual([]);
  });
});

describe('breakglass keys in gpg', () => {
  it('import into gpg 2.2, and gpg verifies their binary-mode signatures', async () => {
    const k = await generateKeyPair({ name: 'gina', email: 'gina@customer.example' });
    const dir = mkdtempSync(join(tmpdir(), 'bg-gpgv-'));
    writeFileSync(join(dir, 'gina.asc'), k.publicKey);
    writeFileSync(join(dir, 'approval.yaml'), 'kind: Approval\n');
    writeFileSync(join(dir, 'approval.yaml.asc'), await signDetached(await readPrivateKey(k.privateKey), readFileSync(join(dir, 'approval.yaml'))));
    gpg('--import', join(dir, 'gina.asc'));
    expect(fingerprintOf('gina@customer.example')[0]).toBe(k.fingerprint);
    const ok = spawnSync('gpg', [...BATCH, '--status-fd', '1', '--verify', join(dir, 'approval.yaml.asc'), join(dir, 'approval.yaml')], { env, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`VALIDSIG ${k.fingerprint} .* 00 ${k.fingerprint}`));
    writeFileSync(join(dir, 'approval.yaml'), 'kind: Approval \n');
    expect(spawnSync('gpg', [...BATCH, '--verify', join(dir, 'approval.yaml.asc'), join(dir, 'approval.yaml')], { env }).status).not.toBe(0);
  });
  it('secret keys from keygen import into gpg and sign approvals that verify', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bg-kg-'));
    const r = await cli(['keygen', '--name', 'hank', '--email', 'hank@customer.example', '--out', out], { cwd: out });
    gpg('--import', join(out, 'hank.sec.asc'));
    const v = await gpgApproval('hank', r.stdout.trim());
    expect(v.reasons).toEqual([]);
  });
});
