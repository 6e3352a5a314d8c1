/**
 * Checks a recording's chunks against the chain head in the runner-signed
 * record. Needs no key: an auditor who cannot read a recording can still
 * prove it is complete and unaltered. Does NOT check what is inside the
 * chunks (that needs an auditor key: recording-open.ts), nor the record's
 * signature (the caller verifies the record first and passes its field).
 */
import { chainStart, chainStep, chunkDigest, chunkFileName, chunkIndexOf, formatHead, recordingDir, type RecordingSummary } from './recording.js';
import type { RecordingCode } from './reasons.js';

/** One file found in `sessions/<id>/recording/`. */
export interface ChunkFile {
  /** The file name inside the recording folder (`000001.pgp`). */
  name: string;
  bytes: Uint8Array;
}

/** One thing wrong with a recording. */
export interface RecordingFinding {
  code: RecordingCode;
  message: string;
  file?: string;
}

/** The outcome of a chain check; `chunks` are the ordered chunk bytes when the chain holds. */
export interface ChainCheck {
  ok: boolean;
  findings: RecordingFinding[];
  chunks: Uint8Array[];
}

// Diagnosing a swap tries every pair: n^3/2 hashes of 64 bytes, cheap for small recordings.
const MAX_SWAP_DIAGNOSIS = 64;

/**
 * Verifies `files` against `expected` (the record's `recording:` field):
 * every chunk 1..n present, nothing else in the folder, and the chain over
 * their ciphertext ending at the signed head.
 */
export function verifyChain(session: string, files: readonly ChunkFile[], expected: RecordingSummary): ChainCheck {
  const dir = recordingDir(session);
  const findings: RecordingFinding[] = [];
  const byIndex = new Map<number, Uint8Array>();
  for (const f of files) {
    const i = chunkIndexOf(f.name);
    // A file the writer never makes, or a chunk past the signed count, was added by someone else.
    if (i === undefined) findings.push({ code: 'RECORDING_EXTRA', file: `${dir}/${f.name}`, message: `${f.name} is not a chunk name (000001.pgp, 000002.pgp, ...); nothing else belongs in ${dir}/` });
    else if (i > expected.chunks) findings.push({ code: 'RECORDING_EXTRA', file: `${dir}/${f.name}`, message: `chunk ${f.name} is beyond the ${expected.chunks} chunk(s) the signed record names` });
    else byIndex.set(i, f.bytes);
  }
  const missing: string[] = [];
  for (let i = 1; i <= expected.chunks; i++) if (!byIndex.has(i)) missing.push(chunkFileName(i));
  if (expected.chunks > 0 && byIndex.size === 0) {
    findings.push({ code: 'RECORDING_MISSING', file: dir, message: `the signed record names a recording of ${expected.chunks} chunk(s), but ${dir}/ holds none` });
  } else if (missing.length) {
    findings.push({ code: 'RECORDING_TRUNCATED', file: dir, message: `${missing.length} of ${expected.chunks} chunk(s) are missing: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}` });
  }
  if (missing.length) return { ok: false, findings, chunks: [] };
  const chunks = Array.from({ length: expected.chunks }, (_, k) => byIndex.get(k + 1)!);
  const digests = chunks.map(chunkDigest);
  const head = formatHead(headOfDigests(session, digests));
  if (head !== expected.head) findings.push(diagnose(session, dir, digests, expected.head, head));
  return { ok: findings.length === 0, findings, chunks: findings.length === 0 ? chunks : [] };
}

// Chunks are hashed once; the swap diagnosis re-chains their digests only.
function headOfDigests(session: string, digests: readonly Uint8Array[]): Uint8Array {
  return digests.reduce<Uint8Array>((h, d) => chainStep(h, d), chainStart(session));
}

/** Names a swap of two chunks when that alone explains the mismatch; otherwise the recording was altered. */
function diagnose(session: string, dir: string, digests: Uint8Array[], want: string, got: string): RecordingFinding {
  if (digests.length <= MAX_SWAP_DIAGNOSIS) {
    for (let a = 0; a < digests.length; a++) {
      for (let b = a + 1; b < digests.length; b++) {
        const order = [...digests];
        [order[a], order[b]] = [order[b]!, order[a]!];
        if (formatHead(headOfDigests(session, order)) === want) {
          return { code: 'RECORDING_REORDERED', file: dir, message: `chunks ${chunkFileName(a + 1)} and ${chunkFileName(b + 1)} are swapped: each is intact, but not where the runner wrote it` };
        }
      }
    }
  }
  return {
    code: 'RECORDING_ALTERED',
    file: dir,
    message: `the chain over the chunks ends at ${got}, but the signed record says ${want}: a chunk was edited, re-encrypted, reordered or taken from another session`,
  };
}
