import { rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { BreakglassError } from '../../core/errors.js';
import { ApproverName, Requester } from '../../core/schemas.js';
import { generateKeyPair } from '../../crypto/openpgp.js';
import { makeDirectory } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

async function writeExclusive(path: string, data: string, mode: number): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode }).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'EEXIST' ? new BreakglassError('KEY_EXISTS', `${path} already exists; nothing written (keys are never overwritten)`, { cause: e }) : e;
  });
}

export function registerKeygen(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('keygen')
    .description('make an OpenPGP key pair (v4 ed25519, usable with gpg 2.2): DIR/<name>.asc public, DIR/<name>.sec.asc secret (mode 0600)')
    .requiredOption('--name <name>', 'approver name, as it will appear in the trust file')
    .requiredOption('--email <email>', 'e-mail address for the key user id')
    .requiredOption('--out <dir>', 'directory to write the key files to')
    .action(async (opts: { name: string; email: string; out: string }) => {
      if (!ApproverName.safeParse(opts.name).success) throw new BreakglassError('USAGE', `--name ${JSON.stringify(opts.name)} is not an approver name: lower-case letters, digits, "-" and "_"`);
      if (!Requester.safeParse(opts.email).success) throw new BreakglassError('USAGE', `--email ${JSON.stringify(opts.email)} is not an e-mail address`);
      const dir = resolve(io.cwd, opts.out);
      const pub = join(dir, `${opts.name}.asc`);
      const sec = join(dir, `${opts.name}.sec.asc`);
      // Checked before a key is made: an approver's existing key is never replaced, and half a pair is never written.
      for (const f of [sec, pub]) {
        if (
          await stat(f).then(
            () => true,
            () => false,
          )
        )
          throw new BreakglassError('KEY_EXISTS', `${f} already exists; nothing written (choose another --out or --name; keys are never overwritten)`);
      }
      await makeDirectory(dir);
      const key = await generateKeyPair({ name: opts.name, email: opts.email });
      // 'wx': never overwrite a key, even one that appeared meanwhile; mode 0600 from creation, so the secret is never world-readable.
      await writeExclusive(sec, key.privateKey, 0o600);
      await writeExclusive(pub, key.publicKey, 0o644).catch(async (e: unknown) => {
        await rm(sec, { force: true });
        throw e;
      });
      io.out(key.fingerprint);
      io.err(`wrote ${pub} (public: put it in the trust file) and ${sec} (secret, mode 0600: keep it off the repository)`);
      done(0);
    });
}
