/**
 * The informational signature check: with the `trust` input naming the
 * repository's keys, approvals signed with real OpenPGP keys are verified by
 * the core verifier; a signature by the wrong key is shown as invalid, and a
 * pull request that changes those keys is called out.
 *
 * In-process (test/github-fake/harness.ts) except the first test, which runs
 * the bundle: real signatures verified by the OpenPGP code as bundled.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, readPrivateKey, signDetached, type GeneratedKey } from '../src/crypto/openpgp.js';
import { approval, digestOf, request, useScenario } from './github-fake/harness.js';

const ID = 'inc-4411-prod-crashloop';
const TRUST = ['apiVersion: breakglass.dev/v1', 'kind: Trust', 'threshold: 1', 'approvers:', '  - { name: alice, openpgp: keys/alice.asc }', '  - { name: bob, openpgp: keys/bob.asc }', ''].join('\n');

let alice: GeneratedKey;
let bob: GeneratedKey;
beforeAll(async () => {
  [alice, bob] = await Promise.all([generateKeyPair({ name: 'Alice', email: 'alice@customer.example' }), generateKeyPair({ name: 'Bob', email: 'bob@customer.example' })]);
});

const s = useScenario();

async function sign(key: GeneratedKey, text: string): Promise<string> {
  return signDetached(await readPrivateKey(key.privateKey), new TextEncoder().encode(text));
}

function withTrust(): void {
  s.repo.git('checkout', '-q', 'main');
  s.repo.write('.github/breakglass/trust.yaml', TRUST);
  s.repo.write('.github/breakglass/keys/alice.asc', alice.publicKey);
  s.repo.write('.github/breakglass/keys/bob.asc', bob.publicKey);
  s.base = s.repo.commit('repository keys');
}

const inputs = { trust: '.github/breakglass/trust.yaml' };

describe('when the trust input names the repository keys', () => {
  it('verifies real signatures and counts only the ones that verify', async () => {
    withTrust();
    s.branch();
    const req = request(ID);
    const a = approval(ID, 'alice', digestOf(req));
    const forged = approval(ID, 'bob', digestOf(req));
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.write(`sessions/${ID}/approvals/alice.yaml`, a);
    s.repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, await sign(alice, a));
    s.repo.write(`sessions/${ID}/approvals/bob.yaml`, forged);
    s.repo.write(`sessions/${ID}/approvals/bob.yaml.asc`, await sign(alice, forged)); // alice signs in bob's name
    s.repo.commit('request, one real approval, one in the wrong name');
    const r = await s.runPull(31, { inputs, bundle: true });

    expect(r.code).toBe(0);
    expect(JSON.parse(r.outputs.approvals!)).toEqual({ [ID]: '1 of 2' });
    const body = s.api.comments.get(31)![0]!.body;
    expect(body).toMatch(/1 of 2 — alice \(verified: key openpgp:[0-9A-F]{40}\), bob \(invalid: APPROVER\\_NAME\\_MISMATCH/);
    expect(body).toContain("the repository's keys in .github/breakglass/trust.yaml (informational)");
    expect(body).toContain('informational only');
  });

  it('warns when the pull request changes the keys it is checked with', async () => {
    withTrust();
    s.branch();
    s.repo.write(`sessions/${ID}/request.yaml`, request(ID));
    s.repo.write('.github/breakglass/keys/bob.asc', alice.publicKey);
    s.repo.commit('request, and swap a key');
    const r = await s.runPull(32, { inputs });

    expect(r.code).toBe(0);
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'warning', file: '.github/breakglass/keys/bob.asc', title: 'breakglass TRUST_CHANGED' }));
  });

  it('degrades to "present (unverified)" with a warning when the trust file is broken', async () => {
    s.branch();
    const req = request(ID);
    const a = approval(ID, 'alice', digestOf(req));
    s.repo.write(`sessions/${ID}/request.yaml`, req);
    s.repo.write(`sessions/${ID}/approvals/alice.yaml`, a);
    s.repo.write(`sessions/${ID}/approvals/alice.yaml.asc`, 'not a signature');
    s.repo.commit('request');
    const r = await s.runPull(33, { inputs: { trust: 'no/such/trust.yaml' } });

    expect(r.code).toBe(0);
    expect(r.annotations).toContainEqual(expect.objectContaining({ level: 'warning', message: expect.stringContaining('cannot be used for the informational signature check') }));
    expect(s.api.comments.get(33)![0]!.body).toContain('1 of 2 — alice (unverified: signature present, not checked)');
  });
});
