/**
 * `receive` accepts only a delivery the runner signed, bound to this session:
 * each test forges or replays a delivery as an attacker would and runs the
 * command line on it (in-process), asserting the exact refusal code and that nothing was
 * written. Anyone can seal to the vendor (the vendor's key is public); only
 * the runner can sign.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256Digest } from '../src/core/digest.js';
import { generateKeyPair, readPrivateKey, revoke, sealTo, type GeneratedKey } from '../src/crypto/openpgp.js';
import { seal, type CredentialPayload, type DeliveryBinding } from '../src/runner/delivery.js';
import { inProcess, type CliResult } from './helpers/cli.js';

const ID = 'inc-9-api-down';
const REPOSITORY = 'github.com/customer/access';
const REQUEST = 'apiVersion: breakglass.dev/v1\nkind: Request\n';

let dir: string;
let vendor: GeneratedKey;
let runner: GeneratedKey;
let attacker: GeneratedKey;

const credential = (session = ID, server = 'https://prod-eu.example:6443'): CredentialPayload => ({
  apiVersion: 'breakglass.dev/v1',
  kind: 'Credential',
  session,
  type: 'kubernetes-token',
  server,
  token: 'eyJ-the-token',
  expires: '2026-12-02T15:00:00Z',
});

const binding = (over: Partial<DeliveryBinding> = {}): DeliveryBinding => ({
  session: ID,
  request: sha256Digest(Buffer.from(REQUEST)),
  commit: 'a'.repeat(40),
  repository: REPOSITORY,
  recipient: vendor.fingerprint,
  runner: runner.fingerprint,
  sealed: '2026-12-02T13:00:00Z',
  ...over,
});

/** Seals as a runner would, with `by`'s key: the runner's for a genuine delivery, anyone else's for a forgery. */
async function sealedBy(by: GeneratedKey, payload = credential(), b = binding()): Promise<string> {
  return seal(payload, vendor.publicKey, { signingKey: await readPrivateKey(by.privateKey), publicKey: by.publicKey }, b);
}

function deliver(armored: string, name = ID): void {
  writeFileSync(join(dir, 'outbox', `${name}.asc`), armored);
}

async function receive(extra: string[], id = ID): Promise<CliResult> {
  return inProcess(['receive', id, '--key', 'vendor.sec.asc', '--from', 'outbox', '--out', `${id}.kubeconfig`, ...extra], { cwd: dir });
}

function refused(r: CliResult, code: string, id = ID): void {
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^breakglass: refused ${code}: `));
  // Nothing is written before verification passes.
  expect(existsSync(join(dir, `${id}.kubeconfig`))).toBe(false);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bg-receive-'));
  const date = new Date('2026-01-01T00:00:00Z');
  const key = (name: string) => generateKeyPair({ name, email: `${name}@example.invalid`, date });
  [vendor, runner, attacker] = await Promise.all([key('vendor'), key('runner'), key('attacker')]);
  writeFileSync(join(dir, 'vendor.sec.asc'), vendor.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'runner.asc'), runner.publicKey);
  writeFileSync(join(dir, 'runner-revoked.asc'), await revoke(runner.privateKey));
  writeFileSync(join(dir, 'attacker.asc'), attacker.publicKey);
  const retiredRunner = await key('runner-old');
  writeFileSync(join(dir, 'runner-rotated.asc'), `${await revoke(retiredRunner.privateKey, { reason: 'superseded' })}\n${runner.publicKey}`);
  writeFileSync(
    join(dir, 'trust-rotated.yaml'),
    stringify({ apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: 'alice', openpgp: 'runner.asc' }], runner: 'runner-rotated.asc' }),
  );
  writeFileSync(join(dir, 'trust.yaml'), stringify({ apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: 'alice', openpgp: 'runner.asc' }], runner: 'runner.asc' }));
  writeFileSync(join(dir, 'trust-no-runner.yaml'), stringify({ apiVersion: 'breakglass.dev/v1', kind: 'Trust', threshold: 1, approvers: [{ name: 'alice', openpgp: 'runner.asc' }] }));
  for (const d of ['outbox', 'repo/sessions/' + ID]) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'repo', 'sessions', ID, 'request.yaml'), REQUEST);
});

describe('a delivery the runner signed', () => {
  it.each([
    ['the runner key file', ['--runner-key', 'runner.asc']],
    ['the runner fingerprint, grouped as gpg prints it', () => ['--runner-key', runner.fingerprint.replace(/(.{4})/g, '$1 ').trim()]],
    ['the trust file runner: key', ['--trust', 'trust.yaml']],
    ['a trust file whose runner: file holds a retired runner key and this one (a rotation)', ['--trust', 'trust-rotated.yaml']],
    ['the request bytes and repository it is bound to', ['--runner-key', 'runner.asc', '--repo', 'repo', '--repository', REPOSITORY]],
  ] as const)('is accepted with %s and written 0600', async (_what, args) => {
    deliver(await sealedBy(runner));
    const r = await receive([...(typeof args === 'function' ? args() : args)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`verified: signed by runner ${runner.fingerprint} for ${REPOSITORY}`);
    const out = join(dir, `${ID}.kubeconfig`);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readFileSync(out, 'utf8')).toContain('server: https://prod-eu.example:6443');
    rmSync(out);
  });
});

describe('without a runner key', () => {
  it('refuses to run at all (RUNNER_KEY_REQUIRED, exit 2): it never falls back to unsigned', async () => {
    deliver(await sealedBy(runner));
    const r = await receive([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^breakglass: RUNNER_KEY_REQUIRED: /);
    expect(existsSync(join(dir, `${ID}.kubeconfig`))).toBe(false);
  });

  it('refuses a trust file that names no runner key (RUNNER_KEY_REQUIRED)', async () => {
    const r = await receive(['--trust', 'trust-no-runner.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^breakglass: RUNNER_KEY_REQUIRED: the trust file trust-no-runner.yaml names no runner key/);
  });
});

describe('a forged delivery', () => {
  it('sealed to the vendor by anyone, unsigned, pointing at their server: DELIVERY_UNSIGNED', async () => {
    deliver(await sealTo(vendor.publicKey, Buffer.from(JSON.stringify({ ...credential(ID, 'https://attacker.example'), delivery: binding() }))));
    refused(await receive(['--runner-key', 'runner.asc']), 'DELIVERY_UNSIGNED');
  });

  it('signed by another key, with the runner key file pinned: DELIVERY_SIGNER_UNKNOWN', async () => {
    deliver(await sealedBy(attacker, credential(ID, 'https://attacker.example'), binding({ runner: runner.fingerprint })));
    refused(await receive(['--runner-key', 'runner.asc']), 'DELIVERY_SIGNER_UNKNOWN');
  });

  it('signed by another key that it carries along, with the runner fingerprint pinned: DELIVERY_SIGNER_UNKNOWN', async () => {
    deliver(await sealedBy(attacker, credential(ID, 'https://attacker.example'), binding({ runner: attacker.fingerprint })));
    refused(await receive(['--runner-key', runner.fingerprint]), 'DELIVERY_SIGNER_UNKNOWN');
  });

  it("signed by another key but carrying the runner's public key, fingerprint pinned: DELIVERY_SIGNER_UNKNOWN", async () => {
    const forged = await seal(credential(ID, 'https://attacker.example'), vendor.publicKey, { signingKey: await readPrivateKey(attacker.privateKey), publicKey: runner.publicKey }, binding());
    deliver(forged);
    refused(await receive(['--runner-key', runner.fingerprint]), 'DELIVERY_SIGNER_UNKNOWN');
  });

  it('signed by a runner key that has since been revoked: DELIVERY_SIGNATURE_INVALID', async () => {
    deliver(await sealedBy(runner));
    const r = await receive(['--runner-key', 'runner-revoked.asc']);
    refused(r, 'DELIVERY_SIGNATURE_INVALID');
    expect(r.stderr).toContain('KEY_REVOKED');
  });

  it('not encrypted to the vendor at all: RECEIVE_INVALID (exit 2)', async () => {
    deliver(await sealTo(attacker.publicKey, Buffer.from('{}')));
    const r = await receive(['--runner-key', 'runner.asc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^breakglass: RECEIVE_INVALID: /);
  });
});

describe('a genuine delivery replayed elsewhere', () => {
  it('for another session, saved under this session name: DELIVERY_BINDING_MISMATCH', async () => {
    deliver(await sealedBy(runner, credential('inc-8-other'), binding({ session: 'inc-8-other' })));
    refused(await receive(['--runner-key', 'runner.asc']), 'DELIVERY_BINDING_MISMATCH');
  });

  it('whose payload names this session but whose signed binding names another: DELIVERY_BINDING_MISMATCH', async () => {
    deliver(await sealedBy(runner, credential(), binding({ session: 'inc-8-other' })));
    refused(await receive(['--runner-key', 'runner.asc']), 'DELIVERY_BINDING_MISMATCH');
  });

  it('for another repository: DELIVERY_BINDING_MISMATCH', async () => {
    deliver(await sealedBy(runner, credential(), binding({ repository: 'github.com/customer/other' })));
    refused(await receive(['--runner-key', 'runner.asc', '--repository', REPOSITORY]), 'DELIVERY_BINDING_MISMATCH');
  });

  it('for other request bytes than the repository holds: DELIVERY_BINDING_MISMATCH', async () => {
    deliver(await sealedBy(runner, credential(), binding({ request: sha256Digest(Buffer.from('another request')) })));
    refused(await receive(['--runner-key', 'runner.asc', '--repo', 'repo']), 'DELIVERY_BINDING_MISMATCH');
  });

  it('bound to another recipient key: DELIVERY_BINDING_MISMATCH', async () => {
    deliver(await sealedBy(runner, credential(), binding({ recipient: attacker.fingerprint })));
    refused(await receive(['--runner-key', 'runner.asc']), 'DELIVERY_BINDING_MISMATCH');
  });

  it('leaves an existing file at --out untouched when it refuses', async () => {
    const out = join(dir, `${ID}.kubeconfig`);
    writeFileSync(out, 'previous', { mode: 0o600 });
    deliver(await sealTo(vendor.publicKey, Buffer.from(JSON.stringify(credential()))));
    const r = await receive(['--runner-key', 'runner.asc']);
    expect(r.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe('previous');
    rmSync(out);
  });
});
