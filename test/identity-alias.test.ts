/**
 * Self-approval by alias. The requester may not approve their own request,
 * whatever spelling of their own address they put in it: plus-addressing and
 * case are folded before the comparison (SELF_APPROVAL), and invisible or
 * look-alike characters are refused at validation (IDENTITY_INVISIBLE_CHAR,
 * IDENTITY_CONFUSABLE_CHAR, or the byte-level FILE_BIDI / VALUE_CONTROL_CHAR),
 * so such a request never reaches an approver. Real CLI, real git, real keys.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { policyYaml, Repo } from './helpers/approvals.js';
import { inProcess, cli } from './helpers/cli.js';

const ID = 'inc-9-alias';
let keys: string;
let trust: string;

beforeAll(async () => {
  keys = mkdtempSync(join(tmpdir(), 'bg-alias-keys-'));
  // bob's key carries another address; his own is only in the trust file.
  for (const [name, email] of [
    ['alice', 'alice@customer.example'],
    ['bob', 'bob@keys.example'],
    ['carol', 'carol@customer.example'],
  ]) {
    expect((await cli(['keygen', '--name', name!, '--email', email!, '--out', keys], { cwd: keys })).code).toBe(0);
  }
  trust = join(keys, 'trust.yaml');
  writeFileSync(
    trust,
    'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: alice.asc }\n  - { name: bob, email: bob@customer.example, openpgp: bob.asc }\n  - { name: carol, openpgp: carol.asc }\n',
  );
});

/** Customers may request too (an on-call engineer who is also an approver). */
const POLICY = policyYaml({ approvers: ['alice', 'bob', 'carol'] }).replace('requesters: ["*@vendor.example"]', 'requesters: ["*@vendor.example", "*@customer.example"]');

function requestYaml(requester: string): string {
  return `apiVersion: breakglass.dev/v1
kind: Request
metadata:
  id: ${ID}
  requester: ${requester}
  created: 2026-11-21T02:17:00Z
spec:
  reason: "INC-9: api down after deploy, need logs"
  resource: prod-eu
  privilege: view
  duration: 1h
  network: direct
  recipient: 0123456789ABCDEF0123456789ABCDEF01234567
`;
}

/** A repository with the policy approved by carol and a request made through `request new`. */
async function requested(requester: string): Promise<Repo> {
  const repo = new Repo();
  repo.git('remote', 'add', 'origin', 'git@github.com:customer/access.git');
  repo.write('policies/production.yaml', POLICY);
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
    'INC-9: api down after deploy, need logs',
    '--requester',
    requester,
    '--recipient',
    '0123456789ABCDEF0123456789ABCDEF01234567',
  ];
  const r = await cli(args, { cwd: repo.dir });
  expect(r.code, r.stderr).toBe(0);
  expect((await cli(['approve', '--policy', 'production', '--key', join(keys, 'carol.sec.asc'), '--yes'], { cwd: repo.dir })).code).toBe(0);
  repo.commit('request');
  return repo;
}

async function approveAndVerify(repo: Repo, approver: string): Promise<{ code: number; reasons: { code: string; message: string }[] }> {
  expect((await cli(['approve', ID, '--key', join(keys, `${approver}.sec.asc`), '--yes', '--commit'], { cwd: repo.dir })).code).toBe(0);
  const v = await cli(['verify', ID, '--trust', trust, '--json'], { cwd: repo.dir });
  return { code: v.code, reasons: (JSON.parse(v.stdout) as { reasons: { code: string; message: string }[] }).reasons };
}

describe('when the requester approves their own request under an alias', () => {
  const aliases: [string, string, string][] = [
    ['plus-addressing', 'alice+incident@customer.example', 'alice'],
    ['upper case', 'ALICE@Customer.Example', 'alice'],
    ['plus-addressing and case, matched through the trust file e-mail', 'Bob+OnCall@CUSTOMER.example', 'bob'],
  ];
  for (const [how, requester, approver] of aliases) {
    it(`refuses ${how} (${requester} approved by ${approver}): SELF_APPROVAL, exit 1`, async () => {
      const repo = await requested(requester);
      const v = await approveAndVerify(repo, approver);
      expect(v.code).toBe(1);
      expect(v.reasons.map((r) => r.code)).toContain('SELF_APPROVAL');
      expect(v.reasons.find((r) => r.code === 'SELF_APPROVAL')!.message).toContain(`is an alias of ${approver}@customer.example`);
    });
  }

  it('still accepts another person approving the same aliased request (the control)', async () => {
    const repo = await requested('alice+incident@customer.example');
    const v = await approveAndVerify(repo, 'carol');
    expect(v.reasons).toEqual([]);
    expect(v.code).toBe(0);
  });
});

describe('when the requester hides an alias behind invisible or look-alike characters', () => {
  const R = `sessions/${ID}/request.yaml`;
  const hidden: [string, string, string][] = [
    ['a zero-width space', 'alice\u200b@customer.example', 'IDENTITY_INVISIBLE_CHAR'],
    ['a word joiner', 'alice@customer.example\u2060', 'IDENTITY_INVISIBLE_CHAR'],
    ['a soft hyphen', 'al\u00adice@customer.example', 'IDENTITY_INVISIBLE_CHAR'],
    ['a byte-order mark inside', 'alice\ufeff@customer.example', 'IDENTITY_INVISIBLE_CHAR'],
    ['a raw right-to-left override', 'alice\u202e@customer.example', 'FILE_BIDI'],
    ['an escaped right-to-left override', '"alice\\u202e@customer.example"', 'VALUE_CONTROL_CHAR'],
    ['a Cyrillic homoglyph', '\u0430lice@customer.example', 'IDENTITY_CONFUSABLE_CHAR'],
    ['fullwidth letters', '\uff41lice@customer.example', 'IDENTITY_CONFUSABLE_CHAR'],
  ];
  for (const [how, requester, code] of hidden) {
    it(`validate refuses ${how} with ${code} at the requester, and verify refuses the request`, async () => {
      const repo = new Repo();
      repo.write('policies/production.yaml', POLICY);
      repo.write(R, requestYaml(requester));
      repo.commit('hostile request');
      const r = await inProcess(['validate', '--repo', repo.dir], { cwd: repo.dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^${R}:5:\\d+: error ${code}: `, 'm'));
      const v = await cli(['verify', ID, '--trust', trust, '--repository', 'github.com/customer/access', '--json'], { cwd: repo.dir });
      expect(v.code).toBe(1);
      expect(JSON.parse(v.stdout).reasons.map((x: { code: string }) => x.code)).toEqual(['REQUEST_INVALID']);
    });
  }

  it('request new refuses to write such a request (nothing written)', async () => {
    const repo = new Repo();
    repo.write('policies/production.yaml', POLICY);
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
      'INC-9: api down after deploy, need logs',
      '--requester',
      'alice\u200b@customer.example',
      '--recipient',
      '0123456789ABCDEF0123456789ABCDEF01234567',
    ];
    const r = await cli(args, { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error IDENTITY_INVISIBLE_CHAR: metadata.requester "alice\\u{200b}@customer.example" contains the invisible character U+200B');
    expect(r.stderr).toContain('nothing written');
  });

  it('a policy naming a look-alike approver is refused: IDENTITY_CONFUSABLE_CHAR', async () => {
    const repo = new Repo();
    repo.write('policies/production.yaml', POLICY.replace('approvers: [alice, bob, carol]', 'approvers: [alice, b\u043eb, carol]'));
    repo.commit('policy');
    const r = await cli(['validate', '--repo', repo.dir], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/policies\/production\.yaml:\d+:\d+: error IDENTITY_CONFUSABLE_CHAR: spec\.approvals\.approvers\[1\] "b\\u\{43e\}b" contains U\+043E, a Cyrillic character/);
  });

  it('a trust file with a look-alike e-mail is refused before any verification: exit 2', async () => {
    const repo = await requested('alice+incident@customer.example');
    const bad = join(keys, 'trust-lookalike.yaml');
    writeFileSync(bad, 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, email: "\u0430lice@customer.example", openpgp: alice.asc }\n');
    const v = await cli(['verify', ID, '--trust', bad], { cwd: repo.dir });
    expect(v.code).toBe(2);
    expect(v.stderr).toContain('IDENTITY_CONFUSABLE_CHAR');
  });
});
