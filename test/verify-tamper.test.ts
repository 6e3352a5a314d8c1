/**
 * The tamper suite: every attack on an approval we could think of, each with
 * real keys, real signatures and a real git repository, each refused with its
 * own stable reason code. (Sigstore attacks: verify-sigstore.test.ts.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { approvalYaml, approve, codes, EXPIRES, ID, makeKeys, NOW, policyApprovalYaml, policyYaml, Repo, requestYaml, seed, sign, trustOf, type Keys as K } from './helpers/approvals.js';
import { generateKeyPair, readPrivateKey, revoke } from '../src/crypto/openpgp.js';
import { loadTrust } from '../src/adapters/trust.js';
import type { SessionVerdict } from '../src/core/verify-session.js';
import type { TrustMaterial } from '../src/core/trust.js';

let keys: K;
let trust: TrustMaterial;

beforeAll(async () => {
  keys = await makeKeys({ alice: 'alice@customer.example', bob: 'bob@customer.example', carol: 'carol@customer.example', mallory: 'mallory@evil.example', vince: 'oncall@vendor.example' });
  trust = await trustOf([
    { name: 'alice', key: keys.alice! },
    { name: 'bob', key: keys.bob! },
    { name: 'carol', key: keys.carol! },
    { name: 'vince', key: keys.vince! },
  ]);
});

/** The reason codes reported for one file. */
function fileCodes(v: SessionVerdict, file: string): string[] {
  return v.reasons.filter((r) => r.file === `sessions/${ID}/approvals/${file}.yaml`).map((r) => r.code);
}

async function single(mutate: (repo: Repo, digest: string) => Promise<void>, t: TrustMaterial = trust): Promise<SessionVerdict> {
  const repo = new Repo();
  const digest = await seed(repo, keys);
  await mutate(repo, digest);
  repo.commit('attack');
  return repo.verify(t);
}

describe('a valid approval', () => {
  it('is accepted, binding the key fingerprint', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d), keys.alice!));
    expect(v.reasons).toEqual([]);
    expect(v.approved).toBe(true);
    expect(v.approvals?.accepted[0]?.keyId).toBe(`openpgp:${keys.alice!.fingerprint}`);
  });
  it('carries the verified session: the request, its governing policy resource and the accepted approvals', async () => {
    let digest = '';
    const v = await single(async (repo, d) => {
      digest = d;
      await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    });
    if (!v.approved) throw new Error(`expected approval, got ${v.reasons.map((r) => r.code).join(', ')}`);
    expect(v.session).toMatchObject({ id: ID, requestDigest: digest, policy: { name: 'production', path: 'policies/production.yaml' } });
    expect(v.session.request.metadata.id).toBe(ID);
    expect(v.session.governing.policy.metadata.name).toBe('production');
    expect(v.session.approvals.map((a) => a.approver)).toEqual(['alice']);
  });
  it('may narrow the duration', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { duration: '30m' }), keys.alice!));
    expect(v.approved).toBe(true);
  });
});

describe('when the request changed after approval', () => {
  it('one byte changed: REQUEST_DIGEST_MISMATCH', async () => {
    const v = await single(async (repo, d) => {
      await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
      repo.write(`sessions/${ID}/request.yaml`, requestYaml().replace('duration: 1h', 'duration: 2h'));
    });
    expect(fileCodes(v, 'alice')).toEqual(['REQUEST_DIGEST_MISMATCH']);
    expect(v.approved).toBe(false);
  });
  it('reformatted without changing its meaning: REQUEST_DIGEST_MISMATCH', async () => {
    const v = await single(async (repo, d) => {
      await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
      repo.write(`sessions/${ID}/request.yaml`, requestYaml().replace('kind: Request', 'kind: "Request"'));
    });
    expect(fileCodes(v, 'alice')).toEqual(['REQUEST_DIGEST_MISMATCH']);
  });
});

describe('when an approval is replayed', () => {
  it('copied from another session: SESSION_MISMATCH', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { session: 'inc-1-other' }), keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['SESSION_MISMATCH']);
  });
  it('from another repository: REPOSITORY_MISMATCH', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { repository: 'github.com/other/access' }), keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['REPOSITORY_MISMATCH']);
  });
  it('a signed rejection placed as an approval: DECISION_NOT_APPROVE', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { decision: 'reject' }), keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['DECISION_NOT_APPROVE']);
  });
  it('after it expired: APPROVAL_EXPIRED', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { expires: '2026-11-21T02:25:00Z' }), keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['APPROVAL_EXPIRED']);
  });
  it('signed in the future: APPROVAL_NOT_YET_VALID', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { signed: '2026-11-21T03:00:00Z' }), keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['APPROVAL_NOT_YET_VALID']);
  });
});

describe('when an approval would widen access', () => {
  it('duration longer than requested: DURATION_WIDENS', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d, { duration: '2h' }), keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['DURATION_WIDENS']);
  });
  it('an extra key smuggled into the approval: APPROVAL_INVALID', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', `${approvalYaml('alice', d)}privilege: cluster-admin\n`, keys.alice!));
    expect(fileCodes(v, 'alice')).toEqual(['APPROVAL_INVALID']);
  });
});

describe('when the signature is wrong', () => {
  it('missing: SIGNATURE_MISSING', async () => {
    const v = await single(async (repo, d) => void repo.write(`sessions/${ID}/approvals/alice.yaml`, approvalYaml('alice', d)));
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_MISSING']);
  });
  it('text mode (0x01): SIGNATURE_TEXT_MODE', async () => {
    const v = await single(async (repo, d) => {
      const body = approvalYaml('alice', d);
      const message = await openpgp.createMessage({ text: body });
      const sig = await openpgp.sign({ message, signingKeys: await readPrivateKey(keys.alice!.privateKey), detached: true, date: new Date('2026-11-21T02:21:00Z') });
      repo.write(`sessions/${ID}/approvals/alice.yaml`, body);
      repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, sig);
    });
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_TEXT_MODE']);
  });
  it('over a different file: SIGNATURE_INVALID', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d), keys.alice!, approvalYaml('alice', d)));
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_INVALID']);
  });
  it('truncated: SIGNATURE_MALFORMED', async () => {
    const v = await single(async (repo, d) => {
      const body = approvalYaml('alice', d);
      const sig = await sign(keys.alice!, body);
      repo.write(`sessions/${ID}/approvals/alice.yaml`, body);
      repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, sig.slice(0, Math.floor(sig.length / 2)));
    });
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_MALFORMED']);
  });
  it('garbage: SIGNATURE_MALFORMED', async () => {
    const v = await single(async (repo, d) => {
      repo.write(`sessions/${ID}/approvals/alice.yaml`, approvalYaml('alice', d));
      repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, Buffer.from('\x89\x01garbage not a signature at all'));
    });
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_MALFORMED']);
  });
  it('two signatures in one file: SIGNATURE_MULTIPLE', async () => {
    const v = await single(async (repo, d) => {
      const body = approvalYaml('alice', d);
      const message = await openpgp.createMessage({ binary: Buffer.from(body) });
      const signingKeys = [await readPrivateKey(keys.alice!.privateKey), await readPrivateKey(keys.bob!.privateKey)];
      repo.write(`sessions/${ID}/approvals/alice.yaml`, body);
      repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, await openpgp.sign({ message, signingKeys, detached: true, date: new Date('2026-11-21T02:21:00Z') }));
    });
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_MULTIPLE']);
  });
  it('both an .asc and a .sigstore.json: SIGNATURE_AMBIGUOUS', async () => {
    const v = await single(async (repo, d) => {
      await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
      repo.write(`sessions/${ID}/approvals/alice.yaml.sigstore.json`, '{}');
    });
    expect(fileCodes(v, 'alice')).toEqual(['SIGNATURE_AMBIGUOUS']);
  });
});

describe('when the key is not one the customer trusts', () => {
  it('an untrusted key: KEY_UNTRUSTED', async () => {
    const v = await single(async (repo, d) => approve(repo, 'alice', approvalYaml('alice', d), keys.mallory!));
    expect(fileCodes(v, 'alice')).toEqual(['KEY_UNTRUSTED']);
  });
  it('a key present only in the repository: KEY_UNTRUSTED, and a trust file pointing there is refused', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys);
    repo.write('keys/alice.asc', keys.mallory!.publicKey);
    repo.write('trust.yaml', 'apiVersion: breakglass.dev/v1\nkind: Trust\nthreshold: 1\napprovers:\n  - { name: alice, openpgp: keys/alice.asc }\n');
    await approve(repo, 'alice', approvalYaml('alice', d), keys.mallory!);
    repo.commit('attack');
    expect(fileCodes(await repo.verify(trust), 'alice')).toEqual(['KEY_UNTRUSTED']);
    await expect(loadTrust(`${repo.dir}/trust.yaml`, repo.dir)).rejects.toMatchObject({ code: 'TRUST_IN_REPOSITORY' });
  });
  it("signed with alice's key in bob's name: APPROVER_NAME_MISMATCH", async () => {
    const v = await single(async (repo, d) => approve(repo, 'bob', approvalYaml('bob', d), keys.alice!));
    expect(fileCodes(v, 'bob')).toEqual(['APPROVER_NAME_MISMATCH']);
  });
  it('a file name that disagrees with its approver: APPROVAL_FILE_MISMATCH', async () => {
    const v = await single(async (repo, d) => approve(repo, 'bob', approvalYaml('alice', d), keys.alice!));
    expect(fileCodes(v, 'bob')).toEqual(['APPROVAL_FILE_MISMATCH']);
  });
  it('a trusted approver the policy does not list: APPROVER_NOT_IN_POLICY', async () => {
    const t = await trustOf([
      { name: 'alice', key: keys.alice! },
      { name: 'mallory', key: keys.mallory! },
    ]);
    const v = await single(async (repo, d) => approve(repo, 'mallory', approvalYaml('mallory', d), keys.mallory!), t);
    expect(fileCodes(v, 'mallory')).toEqual(['APPROVER_NOT_IN_POLICY']);
  });
  it('a revoked key: KEY_REVOKED', async () => {
    const revoked = await revoke(keys.carol!.privateKey);
    const t = await trustOf([
      { name: 'alice', key: keys.alice! },
      { name: 'carol', key: revoked },
    ]);
    const v = await single(async (repo, d) => approve(repo, 'carol', approvalYaml('carol', d), keys.carol!), t);
    expect(fileCodes(v, 'carol')).toEqual(['KEY_REVOKED']);
  });
  it('an expired key: KEY_EXPIRED', async () => {
    const old = await generateKeyPair({ name: 'carol', email: 'carol@customer.example', date: KEYS_OLD, expiresIn: 30 * 86400 });
    const t = await trustOf([
      { name: 'alice', key: keys.alice! },
      { name: 'carol', key: old },
    ]);
    const v = await single(async (repo, d) => {
      const body = approvalYaml('carol', d);
      repo.write(`sessions/${ID}/approvals/carol.yaml`, body);
      repo.write(`sessions/${ID}/approvals/carol.yaml.asc`, await sign(old, body, new Date('2026-01-10T00:00:00Z')));
    }, t);
    expect(fileCodes(v, 'carol')).toEqual(['KEY_EXPIRED']);
  });
  it('an RSA 2048 key: KEY_WEAK', async () => {
    const weak = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'carol', email: 'carol@customer.example' }],
      date: new Date('2026-01-01T00:00:00Z'),
      format: 'armored',
      config: { v6Keys: false },
    });
    const t = await trustOf([
      { name: 'alice', key: keys.alice! },
      { name: 'carol', key: weak.publicKey },
    ]);
    const v = await single(async (repo, d) => {
      const body = approvalYaml('carol', d);
      const message = await openpgp.createMessage({ binary: Buffer.from(body) });
      const priv = await openpgp.readPrivateKey({ armoredKey: weak.privateKey });
      repo.write(`sessions/${ID}/approvals/carol.yaml`, body);
      repo.write(`sessions/${ID}/approvals/carol.yaml.asc`, await openpgp.sign({ message, signingKeys: priv, detached: true, date: new Date('2026-11-21T02:21:00Z') }));
    }, t);
    expect(fileCodes(v, 'carol')).toEqual(['KEY_WEAK']);
  });
});

const KEYS_OLD = new Date('2026-01-01T00:00:00Z');

describe('when the threshold is gamed', () => {
  it('the same key under two approver names counts once: DUPLICATE_KEY', async () => {
    const t = await trustOf([
      { name: 'alice', key: keys.alice! },
      { name: 'alice2', key: keys.alice! },
    ]);
    const repo = new Repo();
    const d = await seed(repo, keys, { policy: policyYaml({ required: 2 }) });
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    await approve(repo, 'alice2', approvalYaml('alice2', d), keys.alice!);
    repo.commit('attack');
    const v = await repo.verify(t);
    expect(fileCodes(v, 'alice2')).toEqual(['DUPLICATE_KEY']);
    expect(codes(v)).toContain('THRESHOLD_NOT_MET');
    expect(v.approvals?.accepted).toHaveLength(1);
  });
  it('short by one: THRESHOLD_NOT_MET', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys, { policy: policyYaml({ required: 2 }) });
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    repo.commit('attack');
    const v = await repo.verify(trust);
    expect(codes(v)).toEqual(['THRESHOLD_NOT_MET']);
  });
  it('the trust floor is higher than the policy: THRESHOLD_NOT_MET', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys, { policyApprovers: ['alice', 'bob'] });
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    repo.commit('attack');
    const v = await repo.verify({ ...trust, threshold: 2 });
    expect(codes(v)).toEqual(['THRESHOLD_NOT_MET']);
    expect(v.approvals?.need).toBe(2);
  });
  it('the requester approves their own request: SELF_APPROVAL', async () => {
    const v = await single(async (repo, d) => approve(repo, 'vince', approvalYaml('vince', d), keys.vince!));
    expect(fileCodes(v, 'vince')).toEqual(['SELF_APPROVAL']);
  });
  it('self-approval through the trust file e-mail: SELF_APPROVAL', async () => {
    const t = await trustOf([
      { name: 'alice', key: keys.alice! },
      { name: 'bob', key: keys.bob!, email: 'ONCALL@vendor.example' },
    ]);
    const v = await single(async (repo, d) => approve(repo, 'bob', approvalYaml('bob', d), keys.bob!), t);
    expect(fileCodes(v, 'bob')).toEqual(['SELF_APPROVAL']);
  });
});

describe('when the session or policy is not in force', () => {
  it('a rejected session: SESSION_REJECTED', async () => {
    const v = await single(async (repo, d) => {
      await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
      repo.write(`sessions/${ID}/rejection.yaml`, `apiVersion: breakglass.dev/v1\nkind: Rejection\nsession: ${ID}\nrequest: ${d}\nby: bob\nat: 2026-11-21T02:22:00Z\nreason: not now\n`);
    });
    expect(codes(v)).toEqual(['SESSION_REJECTED']);
  });
  it('a request the policy does not allow: POLICY_VIOLATION', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys, { request: requestYaml(ID, { privilege: 'admin:payments' }) });
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    repo.commit('attack');
    expect(codes(await repo.verify(trust))).toEqual(['POLICY_VIOLATION']);
  });
  it('approvals valid but for a policy version never approved: POLICY_UNAPPROVED', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys);
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    repo.write('policies/production.yaml', policyYaml({ maxDuration: '8h' }));
    repo.commit('attack');
    const v = await repo.verify(trust);
    expect(codes(v)).toEqual(['POLICY_DIGEST_MISMATCH', 'POLICY_UNAPPROVED']);
    expect(v.approved).toBe(false);
  });
  it('a policy approval copied from another policy: POLICY_NAME_MISMATCH', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys, { policyApprovers: [] });
    const body = policyApprovalYaml('alice', repo.write('policies/production.yaml', policyYaml()), { policy: 'staging' });
    repo.write('policies/approvals/production/alice.yaml', body);
    repo.write('policies/approvals/production/alice.yaml.asc', await sign(keys.alice!, body));
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    repo.commit('attack');
    expect(codes(await repo.verify(trust))).toEqual(['POLICY_NAME_MISMATCH', 'POLICY_UNAPPROVED']);
  });
  it('a policy approval from another repository: REPOSITORY_MISMATCH', async () => {
    const repo = new Repo();
    const d = await seed(repo, keys, { policyApprovers: [] });
    const body = policyApprovalYaml('alice', repo.write('policies/production.yaml', policyYaml()), { repository: 'github.com/other/access' });
    repo.write('policies/approvals/production/alice.yaml', body);
    repo.write('policies/approvals/production/alice.yaml.asc', await sign(keys.alice!, body));
    await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
    repo.commit('attack');
    expect(codes(await repo.verify(trust))).toEqual(['POLICY_UNAPPROVED', 'REPOSITORY_MISMATCH']);
  });
});

it('the expiry is checked against the time passed in, not the clock', async () => {
  const repo = new Repo();
  const d = await seed(repo, keys);
  await approve(repo, 'alice', approvalYaml('alice', d), keys.alice!);
  repo.commit('ok');
  expect((await repo.verify(trust, NOW)).approved).toBe(true);
  expect(codes(await repo.verify(trust, Date.parse(EXPIRES) + 1000))).toEqual(['APPROVAL_EXPIRED', 'THRESHOLD_NOT_MET']);
});
