/**
 * What `replay` and `review` share: a session's runner-signed record and its
 * recording, read from the checkout, the record's signature checked with the
 * trust file's runner key as of when the record was committed, and the
 * recording opened only when its chain matches the head that record signs.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { git, gitText } from '../adapters/git.js';
import { loadRunnerKeys } from '../adapters/trust.js';
import { loadDocument } from '../core/document.js';
import { BreakglassError } from '../core/errors.js';
import { VerificationFailure } from '../core/reasons.js';
import type { RecordingFinding, ChunkFile } from '../core/recording-chain.js';
import { openRecording, type OpenResult } from '../core/recording-open.js';
import { recordingDir } from '../core/recording.js';
import type { ReviewRecording } from '../core/review.js';
import { SessionId, type Record } from '../core/schemas.js';
import { fingerprints, readPrivateKey, verifyDetached, type PrivateKey } from '../crypto/openpgp.js';
import type { CliIo } from './io.js';
import { messageOf } from '../crypto/error-parts.js';

/** Why a recording is not shown: a recording code, or the record's own (RECORD_UNSIGNED, RECORD_NOT_RUNNER, RECORD_INVALID). */
export type Refusal = Omit<RecordingFinding, 'code'> & { code: RecordingFinding['code'] | 'RECORD_UNSIGNED' | 'RECORD_NOT_RUNNER' | 'RECORD_INVALID' };

/** A refusal to show a recording: a verdict about the repository (exit 1), with a stable code. */
export class RecordingRefused extends Error {
  readonly findings: readonly Refusal[];
  constructor(findings: readonly Refusal[]) {
    super(findings.map((f) => `${f.code}: ${f.message}`).join('; '));
    this.findings = findings;
  }
}

/** A session's verified record and the files of its recording folder. */
export interface SignedSession {
  record: Record;
  files: ChunkFile[];
}

export function checkSessionId(id: string): void {
  if (!SessionId.safeParse(id).success) throw new BreakglassError('USAGE', `${JSON.stringify(id)} is not a session id`);
}

/** The auditor's secret key; a passphrase comes from BREAKGLASS_PASSPHRASE, as for `receive`. */
export async function readAuditorKey(io: CliIo, file: string): Promise<PrivateKey> {
  try {
    return await readPrivateKey(await readFile(file, 'utf8'), io.env.BREAKGLASS_PASSPHRASE);
  } catch (e) {
    throw new BreakglassError('KEY_UNREADABLE', `--key ${file}: ${messageOf(e)}${/passphrase/i.test(messageOf(e)) ? ' (set BREAKGLASS_PASSPHRASE)' : ''}`, { cause: e });
  }
}

async function chunkFiles(dir: string, id: string): Promise<ChunkFile[]> {
  const folder = join(dir, recordingDir(id));
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const files: ChunkFile[] = [];
  for (const e of entries) files.push({ name: e.isDirectory() ? `${e.name}/` : e.name, bytes: e.isFile() ? await readFile(join(folder, e.name)) : new Uint8Array() });
  return files;
}

/**
 * When the record was committed, as `audit` judges its signature: the
 * committer time of the last first-parent commit that changed
 * `sessions/<id>/record.yaml`. A runner key that expired or was rotated since
 * still vouches for what it signed while valid. Only when the file in the
 * checkout is byte for byte that commit's; an uncommitted or edited record, or
 * a folder outside git, is judged at `now`, as a record with no history.
 */
async function committedAt(dir: string, id: string, bytes: Uint8Array, now: number): Promise<number> {
  const path = `sessions/${id}/record.yaml`;
  try {
    const [commit, seconds] = (await gitText(dir, ['log', '-1', '--first-parent', '--format=%H %ct', 'HEAD', '--', path])).split(' ');
    if (!commit || !seconds) return now;
    const committed = (await git(dir, ['show', `${commit}:./${path}`])).stdout;
    return committed.equals(bytes) ? Number(seconds) * 1000 : now;
  } catch {
    return now;
  }
}

/**
 * Reads and verifies `sessions/<id>/record.yaml` against the runner key named
 * by the trust file, at the time the record was committed. Throws BreakglassError for what cannot be judged (no
 * session, no record yet, no runner key) and RecordingRefused for a record
 * that is not the runner's.
 */
export async function loadSignedSession(io: CliIo, dir: string, id: string, trustFile: string): Promise<SignedSession> {
  const runner = await loadRunnerKeys(trustFile, dir);
  if (runner.length === 0) throw new BreakglassError('TRUST_NO_RUNNER', `${trustFile} names no runner key (runner: keys/runner.asc); a record is believed only when that key signed it`);
  const folder = join(dir, 'sessions', id);
  const path = join(folder, 'record.yaml');
  const bytes = await readFile(path).catch(() => undefined);
  if (!bytes) {
    const exists = await readdir(folder).then(
      () => true,
      () => false,
    );
    if (!exists) throw new BreakglassError('SESSION_MISSING', `no session ${id} in ${dir} (no folder sessions/${id}/)`);
    throw new BreakglassError(
      'RECORDING_NONE',
      `session ${id} has no record.yaml yet: it is still open or was never activated, and a recording is verified only against the record the runner signs at the end`,
    );
  }
  const signature = await readFile(`${path}.asc`).catch(() => undefined);
  if (!signature) throw new RecordingRefused([{ code: 'RECORD_UNSIGNED', file: `sessions/${id}/record.yaml`, message: 'record.yaml has no record.yaml.asc beside it; nothing it says is believed' }]);
  try {
    await verifyDetached(bytes, signature, runner, new Date(await committedAt(dir, id, bytes, io.now())));
  } catch (e) {
    if (!(e instanceof VerificationFailure)) throw e;
    throw new RecordingRefused([
      {
        code: 'RECORD_NOT_RUNNER',
        file: `sessions/${id}/record.yaml`,
        message: `the record is not signed by the runner key${runner.length > 1 ? 's' : ''} ${fingerprints(runner)}: ${e.code} ${e.message}`,
      },
    ]);
  }
  const loaded = loadDocument(`sessions/${id}/record.yaml`, bytes, 'Record');
  if (!loaded.ok)
    throw new RecordingRefused([
      { code: 'RECORD_INVALID', file: `sessions/${id}/record.yaml`, message: `the record is not a valid Record: ${loaded.findings.map((f) => `${f.code} ${f.message}`).join('; ')}` },
    ]);
  if (loaded.value.session !== id) throw new RecordingRefused([{ code: 'RECORD_INVALID', message: `the record is for session ${loaded.value.session}, but it sits in sessions/${id}/` }]);
  return { record: loaded.value, files: await chunkFiles(dir, id) };
}

/**
 * Opens the recording of a verified session. Undefined when the signed record
 * names no recording and there are no chunks (the session was not recorded).
 */
export async function openSessionRecording(s: SignedSession, id: string, key: PrivateKey): Promise<Extract<OpenResult, { ok: true }> | undefined> {
  if (!s.record.recording) {
    if (s.files.length === 0) return undefined;
    throw new RecordingRefused([{ code: 'RECORDING_UNBOUND', file: recordingDir(id), message: `${s.files.length} file(s) in ${recordingDir(id)}/, but the runner-signed record names no recording` }]);
  }
  const opened = await openRecording(id, s.files, s.record.recording, key);
  if (!opened.ok) throw new RecordingRefused(opened.findings);
  return opened;
}

/** The record (when the runner wrote one) and what the review may say of the recording. */
export async function recordingFor(io: CliIo, dir: string, id: string, trustFile: string, keyFile: string | undefined): Promise<{ record?: Record; recording: ReviewRecording }> {
  let session: SignedSession;
  try {
    session = await loadSignedSession(io, dir, id, trustFile);
  } catch (e) {
    // No record yet, one the runner did not sign, or a folder since deleted: the audit's findings say which.
    if (e instanceof RecordingRefused || (e instanceof BreakglassError && ['RECORDING_NONE', 'SESSION_MISSING'].includes(e.code))) return { recording: { state: 'not-recorded' } };
    throw e;
  }
  const { record } = session;
  if (!record.recording && session.files.length === 0) return { record, recording: { state: 'not-recorded' } };
  if (!keyFile) return { record, recording: { state: 'no-key' } };
  try {
    const opened = await openSessionRecording(session, id, await readAuditorKey(io, keyFile));
    return { record, recording: opened ? { state: 'opened', events: opened.events } : { state: 'not-recorded' } };
  } catch (e) {
    if (e instanceof RecordingRefused) return { record, recording: { state: 'refused', reasons: e.findings } };
    throw e;
  }
}
