/**
 * A throwaway GNUPGHOME driven through the real `gpg` binary, with gpg's own
 * `--faked-system-time` so that keys, signatures and revocations carry the
 * times a test's timeline needs. `dispose()` stops the agent and removes the
 * directory: nothing is left behind.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** gpg's reason menu for `--gen-revoke` and `revkey` (not the RFC codes: gpg maps 1 to keyCompromised, 2 to keySuperseded). */
export const GPG_REASON = { unspecified: '0', compromised: '1', superseded: '2', retired: '3' } as const;
export type GpgReason = keyof typeof GPG_REASON;

const seconds = (iso: string) => `${Math.floor(Date.parse(iso) / 1000)}!`;

export class GpgHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'bg-gpghome-'));
  private readonly env = { ...process.env, GNUPGHOME: this.dir, LC_ALL: 'C' };

  /** gpg in batch mode, the clock frozen at `at` when given. */
  run(args: string[], at?: string): string {
    const time = at ? ['--faked-system-time', seconds(at)] : [];
    return execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...time, ...args], { env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** gpg's interactive dialogs (revocation reasons): answers on --command-fd, no --batch, which refuses them. */
  private dialog(args: string[], answers: string[], at: string): void {
    const opts = ['--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', '--faked-system-time', seconds(at), '--command-fd', '0', '--yes'];
    execFileSync('gpg', [...opts, ...args], { env: this.env, input: `${answers.join('\n')}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Every primary and subkey fingerprint in the keyring, in listing order. */
  private fingerprints(): string[] {
    const out = this.run(['--with-colons', '--list-keys']);
    return out
      .split('\n')
      .filter((l) => l.startsWith('fpr:'))
      .map((l) => l.split(':')[9]!);
  }

  /** Runs `make` and returns the first fingerprint it added to the keyring. */
  private added(make: () => void): string {
    const before = new Set(this.fingerprints());
    make();
    return this.fingerprints().find((f) => !before.has(f))!;
  }

  /** Generates a key at `at` with user id `name <email>` (email defaults to name@customer.example): `algo` like ed25519 or rsa4096, `usage` sign or cert, `expire` like never or 5d. Returns its fingerprint. */
  generate(name: string, algo: string, usage: string, expire: string, at: string, email = `${name}@customer.example`): string {
    return this.added(() => this.run(['--yes', '--quick-gen-key', `${name} <${email}>`, algo, usage, expire], at));
  }

  /** Adds a subkey at `at`; returns its fingerprint. */
  addSubkey(primary: string, algo: string, usage: string, expire: string, at: string): string {
    return this.added(() => this.run(['--quick-add-key', primary, algo, usage, expire], at));
  }

  /** A detached signature over `file` by exactly `keyFpr` (a subkey is forced with gpg's `!`), made at `at`. */
  sign(keyFpr: string, file: string, out: string, at: string, opts: { armor?: boolean; textmode?: boolean } = {}): void {
    const flags = [...(opts.armor === false ? [] : ['--armor']), ...(opts.textmode ? ['--textmode'] : [])];
    this.run([...flags, '--yes', '--detach-sign', '--local-user', `${keyFpr}!`, '--output', out, file], at);
  }

  /** A revocation certificate for `primary` with `reason`, dated `at`; armored, not imported. */
  revocationCertificate(primary: string, reason: GpgReason, at: string): string {
    const out = join(this.dir, `rev-${primary}-${reason}.asc`);
    this.dialog(['--armor', '--output', out, '--gen-revoke', primary], ['y', GPG_REASON[reason], `${reason} (test)`, '', 'y'], at);
    return out;
  }

  /** Revokes subkey number `index` (1-based, in listing order) of `primary` with `reason`, dated `at`. */
  revokeSubkey(primary: string, index: number, reason: GpgReason, at: string): void {
    this.dialog(['--edit-key', primary], [`key ${index}`, 'revkey', 'y', GPG_REASON[reason], `${reason} (test)`, '', 'y', 'save'], at);
  }

  import(file: string): void {
    this.run(['--import', file]);
  }

  /** The armored public keys (one block, several keys when several are named). */
  exportKeys(...fprs: string[]): string {
    return this.run(['--armor', '--export', ...fprs]);
  }

  /** Stops gpg-agent (and any other daemon) for this home and removes it. */
  dispose(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'all'], { env: this.env, stdio: 'ignore' });
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
