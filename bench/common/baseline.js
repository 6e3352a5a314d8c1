// Shared by the benchmarks (not a benchmark itself: bench/run.js imports only
// bench/*.js): a one-resource policy, a timer, and the gpg --verify baseline.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** A policy with one approver (alice) and one resource, as the benchmarks' sessions use. */
export const POLICY = `apiVersion: breakglass.dev/v1
kind: Policy
metadata: { name: production }
spec:
  requesters: ["*@vendor.example"]
  recipients: [0123456789ABCDEF0123456789ABCDEF01234567]
  approvals: { required: 1, approvers: [alice], allowSelfApproval: false }
  requestExpiry: 4h
  resources:
    - { name: prod-eu, type: kubernetes, privileges: [view], maxDuration: 2h, network: [direct] }
`;

/** Milliseconds `fn` took, and what it returned. */
export async function timed(fn) {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e6, v];
}

/** A fresh GNUPGHOME under `dir` with the given armored public keys imported; returns the env to run gpg with. */
export function gpgHome(dir, publicKeys) {
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  for (const k of publicKeys) execFileSync('gpg', ['--batch', '--quiet', '--import'], { env, input: k, stdio: ['pipe', 'ignore', 'ignore'] });
  return env;
}

/** One `gpg --verify path.asc path` process, as a script over the files would run it. */
export function gpgVerify(env, path) {
  return new Promise((resolve, reject) => {
    const p = spawn('gpg', ['--batch', '--quiet', '--verify', `${path}.asc`, path], { env, stdio: 'ignore' });
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`gpg --verify ${path} exited ${code}`))));
  });
}
