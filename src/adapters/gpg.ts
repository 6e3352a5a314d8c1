/**
 * The `gpg` binary, for approvers whose keys already live in GnuPG (or on a
 * smartcard behind it). argv only, never a shell; data on stdin; GNUPGHOME
 * and the agent come from the environment the caller hands in.
 */
import { execFile } from 'node:child_process';
import { BreakglassError } from '../core/errors.js';

function gpg(args: readonly string[], env: NodeJS.ProcessEnv, input?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile('gpg', ['--batch', '--no-tty', ...args], { encoding: 'buffer', env: { ...env, LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err)
        reject(new BreakglassError('GPG_FAILED', `gpg ${args.filter((a) => a.startsWith('--')).join(' ')} failed: ${Buffer.from(stderr).toString('utf8').trim() || err.message}`, { cause: err }));
      else resolve(Buffer.from(stdout));
    });
    // gpg may exit before reading its input (no such key, no home): the write then fails with
    // EPIPE, which must not crash the process; the exit status above reports what went wrong.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? Buffer.alloc(0));
  });
}

/** The secret key `keyId` names in gpg: its fingerprint and first user id. */
export async function gpgSecretKey(keyId: string, env: NodeJS.ProcessEnv): Promise<{ fingerprint: string; userId?: string }> {
  const noKey = () => new BreakglassError('GPG_NO_KEY', `gpg has no secret key for ${JSON.stringify(keyId)}; pass a secret key file, or a key id that gpg --list-secret-keys shows`);
  const listed = await gpg(['--with-colons', '--list-secret-keys', '--', keyId], env).catch((e: unknown) => {
    // gpg's own chatter (keybox created, trustdb created) says nothing useful to an approver.
    throw e instanceof BreakglassError && /No secret key/.test(e.message) ? noKey() : e;
  });
  const out = listed.toString('utf8').split('\n');
  const fpr = out.find((l) => l.startsWith('fpr:'))?.split(':')[9];
  const uid = out.find((l) => l.startsWith('uid:'))?.split(':')[9];
  if (!fpr) throw noKey();
  return { fingerprint: fpr, userId: uid };
}

/**
 * A detached, armored, binary-mode signature (never --textmode or --clearsign:
 * approvals bind exact bytes) by `keyId`, over `data`.
 */
export async function gpgDetachSign(keyId: string, data: Uint8Array, env: NodeJS.ProcessEnv): Promise<Buffer> {
  return gpg(['--armor', '--detach-sign', '--local-user', keyId, '--output', '-'], env, data);
}
