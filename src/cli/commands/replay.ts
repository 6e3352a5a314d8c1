/**
 * `breakglass replay ID --key FILE --trust FILE`: the session's recording,
 * verified against the runner-signed record, decrypted with an auditor key
 * and printed as a kubectl-like timeline. Nothing of a recording that does
 * not verify is printed (exit 1); exit 2 when it cannot be judged.
 */
import type { Command } from 'commander';
import { timelineRows, type TimelineRow } from '../../core/recording-timeline.js';
import { repoDir, requireFile } from '../common.js';
import type { CliIo, ExitCode } from '../io.js';
import { checkSessionId, loadSignedSession, openSessionRecording, readAuditorKey, RecordingRefused } from '../recording-load.js';

interface ReplayOptions {
  key: string;
  trust: string;
  repo?: string;
  json?: boolean;
}

/** One line: no control characters from the recording may reach the terminal. */
const line = (s: string) => s.replace(/[\p{C}]/gu, (c) => (c === '\t' ? ' ' : '.'));

function printRows(io: CliIo, rows: readonly TimelineRow[]): void {
  io.out(`${'TIME'.padEnd(24)} ${'VERB'.padEnd(16)} ${'STATUS'.padEnd(8)} RESOURCE`);
  for (const r of rows) {
    io.out(line(`${r.time.padEnd(24)} ${r.verb.padEnd(16)} ${r.status.padEnd(8)} ${r.target}${r.bytes !== undefined ? `  (${r.bytes} B)` : ''}`));
    if (r.argv) io.out(line(`${' '.repeat(25)}argv: ${JSON.stringify(r.argv)}`));
    for (const s of r.streams) {
      const arrow = s.direction === 'client' ? '>' : '<';
      for (const text of s.text.split('\n').filter((t, i, all) => t !== '' || i < all.length - 1)) io.out(line(`${' '.repeat(25)}${arrow} ${text}`));
    }
    if (r.bytesIn !== undefined) io.out(`${' '.repeat(25)}closed: ${r.bytesIn} B in, ${r.bytesOut} B out`);
  }
}

export function registerReplay(program: Command, io: CliIo, done: (code: ExitCode) => void): void {
  program
    .command('replay')
    .argument('<id>', 'session id')
    .description("verify a session's recording against its signed record, decrypt it with an auditor key, and print the timeline")
    .requiredOption('--key <file>', "an auditor's OpenPGP secret key (armored); passphrase from BREAKGLASS_PASSPHRASE")
    .requiredOption('--trust <file>', 'the trust file (outside the repository): its runner: key must have signed the record')
    .option('--repo <dir>', 'repository directory (default: current directory)')
    .option('--json', 'print one JSON document on stdout: the verified events')
    .action(async (id: string, opts: ReplayOptions) => {
      checkSessionId(id);
      const keyFile = await requireFile(io, '--key', opts.key, 'KEY_MISSING');
      const trustFile = await requireFile(io, '--trust', opts.trust);
      const dir = await repoDir(io, opts.repo);
      const key = await readAuditorKey(io, keyFile);
      try {
        const session = await loadSignedSession(io, dir, id, trustFile);
        const opened = await openSessionRecording(session, id, key);
        const summary = session.record.recording ?? { chunks: 0, head: '' };
        if (opts.json) {
          io.out(JSON.stringify({ session: id, verified: true, recording: opened ? summary : null, events: opened?.events ?? [] }, null, 2));
          return done(0);
        }
        if (!opened) {
          io.out(`session ${id} was not recorded: its signed record names no recording`);
          return done(0);
        }
        io.out(`session ${id}: ${summary.chunks} chunk(s), chain head ${summary.head} verified against the runner-signed record; ${opened.events.length} event(s)`);
        printRows(io, timelineRows(opened.events));
        done(0);
      } catch (e) {
        if (!(e instanceof RecordingRefused)) throw e;
        if (opts.json) io.out(JSON.stringify({ session: id, verified: false, findings: e.findings }, null, 2));
        for (const f of e.findings) io.err(`breakglass: refused ${f.code}: ${f.file ? `${f.file}: ` : ''}${f.message}`);
        done(1);
      }
    });
}
