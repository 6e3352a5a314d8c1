/**
 * Shared by approve, reject and end: who signs (an armored secret key file, or
 * a key kept in gpg), which repository name to bind, confirmation at a
 * terminal, and committing exactly the files a command wrote.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { confirm, isCancel, password } from '@clack/prompts';
import { BreakglassError } from '../core/errors.js';
import { ApproverName } from '../core/schemas.js';
import { git, gitText, originName } from '../adapters/git.js';
import { gpgDetachSign, gpgSecretKey } from '../adapters/gpg.js';
import { needsPassphrase, readPrivateKey, signDetached } from '../crypto/openpgp.js';
import { gnupgHome } from './common.js';
import type { CliIo } from './io.js';

/** Signs exact bytes; `name` is a default approver name taken from the key's user id. */
export interface SigningKey {
  fingerprint: string;
  name?: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

function nameFromUserId(uid: string | undefined): string | undefined {
  const candidate = uid
    ?.replace(/\s*[<(].*$/, '')
    .trim()
    .toLowerCase();
  return candidate && ApproverName.safeParse(candidate).success ? candidate : undefined;
}

async function passphraseFor(io: CliIo, armored: string): Promise<string | undefined> {
  if (!(await needsPassphrase(armored))) return undefined;
  if (io.env.BREAKGLASS_PASSPHRASE !== undefined) return io.env.BREAKGLASS_PASSPHRASE;
  if (!io.interactive) throw new BreakglassError('KEY_LOCKED', 'the secret key is passphrase-protected: set BREAKGLASS_PASSPHRASE or run at a terminal');
  const p = await password({ message: 'Passphrase for the secret key' });
  if (isCancel(p)) throw new BreakglassError('CANCELLED', 'cancelled; nothing written');
  return p;
}

/** Where `--key` points: a secret key file, or a key kept in gpg. */
export type KeyRef = { file: string } | { gpgId: string };

/** Names that can only be meant as files: never handed to gpg as a key id. */
const LOOKS_LIKE_FILE = /[/\\]|^\.|^~/;
const KEY_FILE_EXTENSIONS = new Set(['.asc', '.gpg', '.key', '.pgp', '.sec', '.pem']);

/**
 * Decides what `--key` names without running gpg: an existing file is a key
 * file; a value that can only be a path (a slash, a key-file extension) and
 * does not exist is KEY_MISSING; anything else is a gpg key id, fingerprint or
 * e-mail, and then GnuPG's home must already exist, since asking gpg would
 * create ~/.gnupg (and an agent) as a side effect of a typo.
 */
export async function locateKey(io: CliIo, key: string): Promise<KeyRef> {
  const path = resolve(io.cwd, key);
  const st = await stat(path).catch(() => undefined);
  if (st?.isFile()) return { file: path };
  if (st) throw new BreakglassError('KEY_MISSING', `--key ${path}: not a file`);
  if (LOOKS_LIKE_FILE.test(key) || KEY_FILE_EXTENSIONS.has(extname(key).toLowerCase())) {
    throw new BreakglassError('KEY_MISSING', `--key ${path}: no such file; nothing written`);
  }
  const home = gnupgHome(io);
  if (
    !(await stat(home).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new BreakglassError(
      'KEY_MISSING',
      `--key ${JSON.stringify(key)}: no file ${path}, and no GnuPG home at ${home} to find a key named so; nothing written (pass a secret key file, or a key id gpg knows)`,
    );
  }
  return { gpgId: key };
}

/** Opens the key `locateKey` found: an armored secret key file, or a gpg key id, fingerprint or e-mail. */
export async function openSigningKey(io: CliIo, ref: KeyRef): Promise<SigningKey> {
  if ('file' in ref) {
    const path = ref.file;
    const armored = await readFile(path, 'utf8');
    if (!armored.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) throw new BreakglassError('KEY_INVALID', `${path} does not hold an armored OpenPGP secret key`);
    const priv = await readPrivateKey(armored, await passphraseFor(io, armored)).catch((e: Error) => {
      // openpgp's message only: never echo the key material.
      throw new BreakglassError('KEY_INVALID', `cannot use the secret key in ${path}: ${e.message}`);
    });
    const uid = priv.users[0]?.userID;
    return { fingerprint: priv.getFingerprint().toUpperCase(), name: nameFromUserId(uid?.name), sign: async (d) => Buffer.from(await signDetached(priv, d)) };
  }
  const info = await gpgSecretKey(ref.gpgId, io.env);
  return { fingerprint: info.fingerprint, name: nameFromUserId(info.userId), sign: (d) => gpgDetachSign(info.fingerprint, d, io.env) };
}

/** `--repository`, else the origin remote as host/owner/name; exit 2 when neither exists. */
export async function repositoryName(dir: string, flag: string | undefined): Promise<string> {
  const name = flag ?? (await originName(dir));
  if (!name) throw new BreakglassError('REPOSITORY_UNKNOWN', `cannot tell which repository this is: there is no origin remote in ${dir}; pass --repository host/owner/name`);
  return name;
}

/** Asks before signing at a terminal; refuses (exit 2) when nobody can be asked and --yes was not given. */
export async function confirmOrRefuse(io: CliIo, yes: boolean | undefined, question: string): Promise<void> {
  if (yes) return;
  if (!io.interactive) throw new BreakglassError('CONFIRMATION_REQUIRED', 'not at a terminal: read the view above and pass --yes to sign without a prompt');
  const ok = await confirm({ message: question, initialValue: false });
  if (isCancel(ok) || !ok) throw new BreakglassError('CANCELLED', 'not confirmed; nothing written');
}

/** Commits exactly `paths` (relative to `dir`), leaving anything else staged or changed alone. */
export async function commitPaths(dir: string, paths: readonly string[], message: string): Promise<string> {
  await git(dir, ['add', '--', ...paths]);
  await git(dir, ['commit', '-q', '-m', message, '--only', '--', ...paths]);
  return gitText(dir, ['rev-parse', 'HEAD']);
}

/** Who is acting, for unsigned records (reject, end): `--by`, else git's user.email. */
export async function actor(dir: string, by: string | undefined): Promise<string> {
  if (by) return by;
  const email = await gitText(dir, ['config', 'user.email']).catch(() => '');
  if (!email) throw new BreakglassError('ACTOR_UNKNOWN', 'cannot tell who you are: pass --by or set git config user.email');
  return email;
}
