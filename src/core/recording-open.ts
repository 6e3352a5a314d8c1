/**
 * Opening a recording with an auditor key: the chain is checked first (no
 * key needed, recording-chain.ts), then every chunk is decrypted and its
 * plaintext parsed and checked against its place in the chain. Nothing is
 * returned unless the whole recording verifies: a partial timeline would
 * read as the whole story.
 */
import { isSealedToKey, openSealedBinary } from '../crypto/recording-seal.js';
import type { PrivateKey } from '../crypto/openpgp.js';
import { BreakglassError } from './errors.js';
import { chainNext, chainStart, chunkFileName, formatHead, recordingDir, RecordingEvent, RecordingHeader, type RecordingSummary } from './recording.js';
import { verifyChain, type ChunkFile, type RecordingFinding } from './recording-chain.js';
import { messageOf } from '../crypto/error-parts.js';

/** One decrypted chunk. */
export interface OpenedChunk {
  header: RecordingHeader;
  events: RecordingEvent[];
}

/** A verified, decrypted recording, or why it was refused. */
export type OpenResult = { ok: true; chunks: OpenedChunk[]; events: RecordingEvent[] } | { ok: false; findings: RecordingFinding[] };

/** Thrown when a chunk fails to parse or sits in the wrong place; carries its finding. */
class ChunkRefused extends Error {
  readonly finding: RecordingFinding;
  constructor(finding: RecordingFinding) {
    super(finding.message);
    this.finding = finding;
  }
}

function refuse(code: RecordingFinding['code'], file: string, message: string): never {
  throw new ChunkRefused({ code, file, message });
}

/**
 * Parses one chunk's plaintext and checks its header names this session,
 * this index and the chain head before it. `nextSeq` is the sequence number
 * the first event must carry (events are numbered across the whole recording).
 */
export function parseChunk(plaintext: Uint8Array, where: { session: string; index: number; prev: string; nextSeq: number; file: string }): OpenedChunk {
  const text = Buffer.from(plaintext).toString('utf8');
  if (!text.endsWith('\n')) refuse('RECORDING_MALFORMED', where.file, 'the chunk does not end with a newline: it was cut short');
  const lines = text.slice(0, -1).split('\n');
  const header = parseLine(lines[0]!, RecordingHeader, where.file, 1);
  // The chain binds ciphertexts; the header binds the plaintext to its place, so a writer bug cannot splice chunks either.
  if (header.session !== where.session) refuse('RECORDING_FOREIGN', where.file, `the chunk is chunk ${header.index} of session ${header.session}, not of ${where.session}`);
  if (header.index !== where.index || header.prev !== where.prev)
    refuse('RECORDING_MALFORMED', where.file, `the header says chunk ${header.index} after ${header.prev}; expected chunk ${where.index} after ${where.prev}`);
  const events: RecordingEvent[] = [];
  let seq = where.nextSeq;
  for (let i = 1; i < lines.length; i++) {
    const e = parseLine(lines[i]!, RecordingEvent, where.file, i + 1);
    if (e.seq !== seq) refuse('RECORDING_MALFORMED', where.file, `line ${i + 1}: event seq ${e.seq}, expected ${seq}: an event is missing or repeated`);
    seq++;
    events.push(e);
  }
  return { header, events };
}

function parseLine<T>(line: string, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } }, file: string, n: number): T {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    refuse('RECORDING_MALFORMED', file, `line ${n} is not JSON`);
  }
  const r = schema.safeParse(v);
  if (!r.success) refuse('RECORDING_MALFORMED', file, `line ${n} does not fit ${n === 1 ? 'the header' : 'an event'} of breakglass-recording/v1: ${r.error.message.slice(0, 300)}`);
  return r.data;
}

/**
 * Verifies the recording against the signed record's `recording:` field, then
 * decrypts and parses every chunk with `key`. Throws RECORDING_NOT_FOR_KEY
 * (an operational error, not a verdict) when the chain holds but the key is
 * not one the recording was sealed to.
 */
export async function openRecording(session: string, files: readonly ChunkFile[], expected: RecordingSummary, key: PrivateKey): Promise<OpenResult> {
  const chain = verifyChain(session, files, expected);
  if (!chain.ok) return { ok: false, findings: chain.findings };
  const chunks: OpenedChunk[] = [];
  let prev = chainStart(session);
  let nextSeq = 1;
  for (const [k, bytes] of chain.chunks.entries()) {
    const index = k + 1;
    const file = `${recordingDir(session)}/${chunkFileName(index)}`;
    try {
      if (!(await sealedToKey(bytes, key, file))) {
        throw new BreakglassError(
          'RECORDING_NOT_FOR_KEY',
          `${file} is not sealed to key ${key.getFingerprint().toUpperCase()}; use the secret key of an auditor the trust file listed when the session ran`,
        );
      }
      const plain = await decrypt(bytes, key, file);
      const chunk = parseChunk(plain, { session, index, prev: formatHead(prev), nextSeq, file });
      plain.fill(0);
      chunks.push(chunk);
      nextSeq += chunk.events.length;
    } catch (e) {
      if (e instanceof ChunkRefused) return { ok: false, findings: [e.finding] };
      throw e;
    }
    prev = chainNext(prev, bytes);
  }
  return { ok: true, chunks, events: chunks.flatMap((c) => c.events) };
}

async function sealedToKey(bytes: Uint8Array, key: PrivateKey, file: string): Promise<boolean> {
  try {
    return await isSealedToKey(bytes, key);
  } catch (e) {
    // The chain held, so the runner wrote these bytes: they are not an OpenPGP message at all.
    refuse('RECORDING_UNREADABLE', file, `not an OpenPGP message: ${messageOf(e)}`);
  }
}

async function decrypt(bytes: Uint8Array, key: PrivateKey, file: string): Promise<Uint8Array> {
  try {
    return await openSealedBinary(key, bytes);
  } catch (e) {
    refuse('RECORDING_UNREADABLE', file, `cannot be decrypted with key ${key.getFingerprint().toUpperCase()}: ${messageOf(e)}`);
  }
}
