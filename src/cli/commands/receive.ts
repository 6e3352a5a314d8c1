import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { BreakglassError } from '../../core/errors.js';
import { SessionId } from '../../core/schemas.js';
import { readPrivateKey, unseal } from '../../crypto/openpgp.js';
import type { CredentialPayload, SealedPayload } from '../../runner/delivery.js';
import { requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';

/** A kubeconfig that kubectl and k9s use as is: one cluster, one token user, one context. */
export function kubeconfigFor(p: CredentialPayload): string {
  const cluster: Record<string, string> = { server: p.server };
  if (p.certificateAuthority) cluster['certificate-authority-data'] = Buffer.from(p.certificateAuthority).toString('base64');
  const name = `breakglass-${p.session}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user: { token: p.token } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  });
}

/** Parses any sealed credential (Kubernetes token or command output) for session `id`. */
export function parseSealed(bytes: Uint8Array, id: string): SealedPayload {
  const p = JSON.parse(new TextDecoder().decode(bytes)) as SealedPayload;
  const ok = p.kind === 'Credential' && ((p.type === 'kubernetes-token' && typeof p.token === 'string') || (p.type === 'command' && p.encoding === 'base64' && typeof p.data === 'string'));
  if (!ok) throw new BreakglassError('RECEIVE_INVALID', 'the sealed message is not a breakglass credential');
  // Sealed to me, but for which session? A message for another session must not be used under this name.
  if (p.session !== id) throw new BreakglassError('RECEIVE_MISMATCH', `the sealed credential is for session ${p.session}, not ${id}`);
  return p;
}

/** Parses a sealed Kubernetes credential; anything else is refused. */
export function parsePayload(bytes: Uint8Array, id: string): CredentialPayload {
  const p = parseSealed(bytes, id);
  if (p.type !== 'kubernetes-token') throw new BreakglassError('RECEIVE_INVALID', 'the sealed message is not a breakglass Kubernetes credential');
  return p;
}

/** The bytes `--out` receives: a kubeconfig for a Kubernetes token, the credential itself for any other kind. */
function outputFor(p: SealedPayload): { bytes: string | Buffer; what: string } {
  if (p.type === 'kubernetes-token') return { bytes: kubeconfigFor(p), what: 'kubeconfig' };
  return { bytes: Buffer.from(p.data, 'base64'), what: `output of command ${p.command}` };
}

/**
 * Writes a secret so it is never readable by others, not even for a moment:
 * a new file (O_EXCL, mode 0600) beside `out`, then renamed over it. Writing
 * `out` directly would keep an existing file's looser mode until a chmod, and
 * would follow a symlink planted at `out`; rename replaces the link itself.
 */
export async function writeSecretFile(out: string, bytes: string | Buffer): Promise<void> {
  const tmp = `${out}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes, { mode: 0o600, flag: 'wx' });
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function registerReceive(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('receive')
    .argument('<id>', 'session id')
    .description('decrypt a delivered credential and write a kubeconfig, or the credential itself for a command resource (mode 0600)')
    .requiredOption('--key <file>', 'your OpenPGP secret key (armored); passphrase from BREAKGLASS_PASSPHRASE')
    .option('--from <dir>', 'delivery directory (default: current directory)')
    .option('--out <file>', 'where to write it (default: <id>.kubeconfig, or <id>.credential for a command credential)')
    .action(async (id: string, opts: { key: string; from?: string; out?: string }) => {
      if (!SessionId.safeParse(id).success) throw new BreakglassError('USAGE', `${JSON.stringify(id)} is not a session id`);
      const key = await readPrivateKey(await readFile(await requireFile(io, '--key', opts.key, 'KEY_MISSING'), 'utf8'), io.env.BREAKGLASS_PASSPHRASE);
      const sealedPath = resolve(io.cwd, opts.from ?? '.', `${id}.asc`);
      const sealed = await readFile(sealedPath, 'utf8').catch(() => {
        throw new BreakglassError('RECEIVE_MISSING', `nothing delivered for session ${id} at ${sealedPath}`);
      });
      // The file may be a saved PR comment: take the armored block, whatever surrounds it.
      const block = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(sealed)?.[0];
      if (!block) throw new BreakglassError('RECEIVE_INVALID', `${sealedPath} holds no OpenPGP message`);
      const payload = parseSealed(await unseal(key, block), id);
      const out = resolve(io.cwd, opts.out ?? (payload.type === 'kubernetes-token' ? `${id}.kubeconfig` : `${id}.credential`));
      const { bytes, what } = outputFor(payload);
      await writeSecretFile(out, bytes);
      io.out(payload.type === 'kubernetes-token' ? `wrote ${out} (expires ${payload.expires}); use: KUBECONFIG=${out} kubectl ...` : `wrote the ${what} to ${out} (expires ${payload.expires})`);
      done(0);
    });
}
