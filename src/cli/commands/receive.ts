import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { BreakglassError } from '../../core/errors.js';
import { SessionId } from '../../core/schemas.js';
import { loadRunnerKeys } from '../../adapters/trust.js';
import { sha256Digest } from '../../core/digest.js';
import { VerificationFailure } from '../../core/reasons.js';
import { readPrivateKey, readPublicKey } from '../../crypto/openpgp.js';
import type { CredentialPayload, SealedPayload } from '../../runner/delivery.js';
import { verifyDelivery, type DeliveryExpectation, type RunnerPin, type VerifiedDelivery } from '../../core/verify-delivery.js';
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

const FINGERPRINT = /^(?:[0-9A-F]{40}|[0-9A-F]{64})$/;

/** `--runner-key` is a fingerprint (spaces allowed, as gpg prints it) or a key file; `--trust` names the runner key under `runner:`. */
async function runnerPin(io: CliIo, opts: { runnerKey?: string; trust?: string }): Promise<RunnerPin> {
  if (opts.runnerKey && opts.trust) throw new BreakglassError('USAGE', 'give either --runner-key or --trust, not both');
  if (opts.runnerKey) {
    const fpr = opts.runnerKey.replace(/\s+/g, '').toUpperCase();
    if (FINGERPRINT.test(fpr)) return { fingerprint: fpr };
    const bytes = await readFile(resolve(io.cwd, opts.runnerKey)).catch((e: Error) => {
      throw new BreakglassError('RUNNER_KEY_UNREADABLE', `--runner-key ${opts.runnerKey} is neither a fingerprint (40 or 64 hex digits) nor a readable key file: ${e.message}`);
    });
    const key = await readPublicKey(bytes).catch((e: Error) => {
      throw new BreakglassError('RUNNER_KEY_UNREADABLE', `--runner-key ${opts.runnerKey} holds no OpenPGP public key: ${e.message}`);
    });
    return { keys: [key] };
  }
  const keys = opts.trust ? await loadRunnerKeys(resolve(io.cwd, opts.trust)) : [];
  if (keys.length > 0) return { keys };
  // Never fall back to accepting an unsigned delivery: without the runner key, anyone could have sealed it.
  const why = opts.trust ? `the trust file ${opts.trust} names no runner key (runner:)` : 'no runner key given';
  throw new BreakglassError(
    'RUNNER_KEY_REQUIRED',
    `${why}: pass --runner-key <key file or fingerprint> (from the customer) or --trust <file> with a runner: key; an unsigned or unverifiable delivery is never accepted`,
  );
}

/** What the delivery must be bound to: always the session; the request's bytes when the vendor has the repository. */
async function expectation(io: CliIo, id: string, opts: { repo?: string; repository?: string }): Promise<DeliveryExpectation> {
  if (!opts.repo) return { session: id, repository: opts.repository };
  const path = resolve(io.cwd, opts.repo, 'sessions', id, 'request.yaml');
  const bytes = await readFile(path).catch(() => {
    throw new BreakglassError('REQUEST_MISSING', `--repo: no ${path}`);
  });
  return { session: id, repository: opts.repository, request: sha256Digest(bytes) };
}

interface ReceiveOptions {
  key: string;
  runnerKey?: string;
  trust?: string;
  repo?: string;
  repository?: string;
  from?: string;
  out?: string;
}

export function registerReceive(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('receive')
    .argument('<id>', 'session id')
    .description('verify and decrypt a delivered credential and write a kubeconfig, or the credential itself for a command resource (mode 0600)')
    .requiredOption('--key <file>', 'your OpenPGP secret key (armored); passphrase from BREAKGLASS_PASSPHRASE')
    .option('--runner-key <file|fingerprint>', "the customer's runner public key, or its fingerprint: only a delivery it signed is accepted")
    .option('--trust <file>', 'a trust file whose runner: names the runner key (instead of --runner-key)')
    .option('--repo <dir>', 'the repository: the delivery must be bound to the exact bytes of its sessions/<id>/request.yaml')
    .option('--repository <name>', 'the delivery must be bound to this repository (host/owner/name)')
    .option('--from <dir>', 'delivery directory (default: current directory)')
    .option('--out <file>', 'where to write it (default: <id>.kubeconfig, or <id>.credential for a command credential)')
    .action(async (id: string, opts: ReceiveOptions) => {
      if (!SessionId.safeParse(id).success) throw new BreakglassError('USAGE', `${JSON.stringify(id)} is not a session id`);
      const keyFile = await requireFile(io, '--key', opts.key, 'KEY_MISSING');
      const pin = await runnerPin(io, opts);
      const want = await expectation(io, id, opts);
      const key = await readPrivateKey(await readFile(keyFile, 'utf8'), io.env.BREAKGLASS_PASSPHRASE);
      const sealedPath = resolve(io.cwd, opts.from ?? '.', `${id}.asc`);
      const sealed = await readFile(sealedPath, 'utf8').catch(() => {
        throw new BreakglassError('RECEIVE_MISSING', `nothing delivered for session ${id} at ${sealedPath}`);
      });
      // The file may be a saved PR comment: take the armored block, whatever surrounds it.
      const block = /-----BEGIN PGP MESSAGE-----[\s\S]*?-----END PGP MESSAGE-----/.exec(sealed)?.[0];
      if (!block) throw new BreakglassError('RECEIVE_INVALID', `${sealedPath} holds no OpenPGP message`);
      let verified: VerifiedDelivery;
      try {
        verified = await verifyDelivery(block, key, pin, want, new Date(io.now()));
      } catch (e) {
        if (!(e instanceof VerificationFailure)) throw e;
        // A refused delivery is a verdict (exit 1), and nothing was written.
        io.err(`breakglass: refused ${e.code}: ${e.message}`);
        return done(1);
      }
      const { payload, binding } = verified;
      const out = resolve(io.cwd, opts.out ?? (payload.type === 'kubernetes-token' ? `${id}.kubeconfig` : `${id}.credential`));
      const { bytes, what } = outputFor(payload);
      await writeSecretFile(out, bytes);
      io.out(`verified: signed by runner ${verified.runnerFingerprint} for ${binding.repository} at ${binding.commit.slice(0, 12)}, sealed ${binding.sealed}`);
      io.out(payload.type === 'kubernetes-token' ? `wrote ${out} (expires ${payload.expires}); use: KUBECONFIG=${out} kubectl ...` : `wrote the ${what} to ${out} (expires ${payload.expires})`);
      done(0);
    });
}
