/**
 * The session recording format (breakglass-recording/v1, docs/security/recording.md).
 *
 * A recording is a run of chunks `sessions/<id>/recording/000001.pgp`, ...,
 * each one binary OpenPGP message sealed to every auditor key. The plaintext
 * of a chunk is JSON Lines: a header, then events. The chunks are hash-chained
 * over their CIPHERTEXT, so anyone — with no key at all — can check a
 * recording against the chain head the runner signs into the record:
 *
 *   h0 = sha256("breakglass-recording-v1\n" + sessionId)
 *   hi = sha256(h(i-1) || sha256(chunk i bytes))        (raw 32-byte digests)
 *
 * Pure: the sealing function is injected (the runner passes one that encrypts
 * to the trust file's auditors), and times are arguments.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const RECORDING_FORMAT = 'breakglass-recording/v1';
const CHAIN_DOMAIN = 'breakglass-recording-v1\n';

/** The folder of a session's recording, relative to the repository root. */
export function recordingDir(session: string): string {
  return `sessions/${session}/recording`;
}

/** The file name of chunk `index` (1-based): `000001.pgp`. */
export function chunkFileName(index: number): string {
  return `${String(index).padStart(6, '0')}.pgp`;
}

/** The chunk index a file name stands for, or undefined when the name is not exactly `chunkFileName(n)`. */
export function chunkIndexOf(fileName: string): number | undefined {
  const m = /^(\d{6,})\.pgp$/.exec(fileName);
  if (!m) return undefined;
  const n = Number(m[1]);
  // `0000001.pgp` and `000000.pgp` are not names the writer makes: one chunk, one name.
  return n >= 1 && Number.isSafeInteger(n) && chunkFileName(n) === fileName ? n : undefined;
}

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** `sha256:<hex>` as the header's `prev` and the record's `head` write a chain value. */
export function formatHead(h: Uint8Array): string {
  return `sha256:${hex(h)}`;
}

/** The chain value before any chunk: bound to the session id, so a chunk moved from another session breaks the chain. */
export function chainStart(session: string): Uint8Array {
  return sha(Buffer.from(CHAIN_DOMAIN + session, 'utf8'));
}

/** The SHA-256 of one chunk's bytes, as the chain takes it. */
export function chunkDigest(chunk: Uint8Array): Uint8Array {
  return sha(chunk);
}

/** The chain value after a chunk whose SHA-256 is `digest`. */
export function chainStep(prev: Uint8Array, digest: Uint8Array): Uint8Array {
  return sha(prev, digest);
}

/** The chain value after one more chunk. */
export function chainNext(prev: Uint8Array, chunk: Uint8Array): Uint8Array {
  return chainStep(prev, chunkDigest(chunk));
}

/** The chain head over chunks in order. */
export function chainHead(session: string, chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.reduce<Uint8Array>((h, c) => chainNext(h, c), chainStart(session));
}

// ---------------------------------------------------------------- plaintext schema

const Seq = z.number().int().min(1);
const Iso = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/);
const RequestId = z.string().regex(/^r[0-9]+$/);
const Head = z.string().regex(/^sha256:[0-9a-f]{64}$/);

/** The first line of every chunk's plaintext. */
export const RecordingHeader = z.strictObject({
  format: z.literal(RECORDING_FORMAT),
  session: z.string().min(1),
  index: z.number().int().min(1),
  prev: Head,
});
export type RecordingHeader = z.infer<typeof RecordingHeader>;

/** What a request was about, as the Kubernetes API server's request info names it. */
export const ResourceRef = z.strictObject({
  group: z.string(),
  version: z.string(),
  resource: z.string(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  subresource: z.string().optional(),
});
export type ResourceRef = z.infer<typeof ResourceRef>;

const base = { seq: Seq, time: Iso };

export const RecordingEvent = z.discriminatedUnion('type', [
  z.strictObject({
    ...base,
    type: z.literal('request'),
    id: RequestId,
    method: z.string().min(1),
    path: z.string(),
    query: z.string(),
    verb: z.string(),
    // Absent for non-resource URLs (/version, /api, /healthz).
    resource: ResourceRef.optional(),
    // The command of an exec (the `command` query parameters in order).
    argv: z.array(z.string()).optional(),
  }),
  z.strictObject({ ...base, type: z.literal('response'), id: RequestId, status: z.number().int(), bytes: z.number().int().min(0) }),
  z.strictObject({ ...base, type: z.literal('stream'), id: RequestId, direction: z.enum(['client', 'server']), data: z.base64() }),
  z.strictObject({ ...base, type: z.literal('close'), id: RequestId, bytesIn: z.number().int().min(0), bytesOut: z.number().int().min(0) }),
  z.strictObject({ ...base, type: z.literal('denied'), id: RequestId, rule: z.string() }),
  // A request with the session's gateway credential after the session ended.
  z.strictObject({ ...base, type: z.literal('refused'), reason: z.string(), method: z.string().optional(), path: z.string().optional() }),
]);
export type RecordingEvent = z.infer<typeof RecordingEvent>;

/** An event as the gateway hands it to the writer: the writer numbers it and stamps the time. */
export type EventInput = RecordingEvent extends infer E ? (E extends RecordingEvent ? Omit<E, 'seq' | 'time'> : never) : never;
/** One kind of event as the gateway hands it to the writer: `EventOf<'request'>`. */
export type EventOf<T extends RecordingEvent['type']> = Omit<Extract<RecordingEvent, { type: T }>, 'seq' | 'time'>;

/** The record's `recording:` field: how many chunks and the chain head after the last. */
export interface RecordingSummary {
  chunks: number;
  head: string;
}

// ---------------------------------------------------------------- writer

/** Seals one chunk's plaintext (the runner: to every auditor key); binary OpenPGP out. */
export type Sealer = (plaintext: Uint8Array) => Promise<Uint8Array>;

/** One sealed chunk, ready to write at `path`. */
export interface SealedChunk {
  index: number;
  fileName: string;
  /** `sessions/<id>/recording/<fileName>`. */
  path: string;
  bytes: Uint8Array;
  /** The chain head after this chunk: what the record carries if this is the last one. */
  head: string;
}

export interface WriterOptions {
  session: string;
  seal: Sealer;
  /** Plaintext size at which `full` turns true (the gateway then cuts); default 1 MiB. */
  chunkBytes?: number;
  /**
   * Secrets that must never appear in a recording (the gateway credential, the
   * ServiceAccount token): replaced by `[redacted]` in every string and in
   * stream data, as a second line of defence behind the gateway never
   * recording headers.
   */
  secrets?: readonly string[];
  /**
   * Continue a chain whose first `chunks` chunks exist already (the gateway:
   * written by another replica, or by an earlier writer of this one): the next
   * chunk is `chunks + 1`, its header names `head`, events are numbered from `seq + 1`.
   */
  resume?: { chunks: number; head: string; seq: number };
}

const REDACTED = '[redacted]';

/**
 * Numbers and timestamps events, cuts them into chunks, seals each and keeps
 * the running chain head. Cuts are serialized: chunk i+1's header names the
 * head after chunk i's ciphertext, which exists only once chunk i is sealed.
 */
export class RecordingWriter {
  readonly session: string;
  private readonly seal: Sealer;
  private readonly chunkBytes: number;
  private readonly secrets: Buffer[];
  private seq = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private cutCount = 0;
  private sealed = 0;
  private head: Uint8Array;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(opts: WriterOptions) {
    this.session = opts.session;
    this.seal = opts.seal;
    this.chunkBytes = opts.chunkBytes ?? 1024 * 1024;
    this.secrets = (opts.secrets ?? []).filter((s) => s.length > 0).map((s) => Buffer.from(s, 'utf8'));
    this.head = opts.resume ? new Uint8Array(Buffer.from(opts.resume.head.slice('sha256:'.length), 'hex')) : chainStart(opts.session);
    this.cutCount = this.sealed = opts.resume?.chunks ?? 0;
    this.seq = opts.resume?.seq ?? 0;
  }

  /** Appends one event; returns its sequence number. Throws when the event does not fit the format. */
  append(event: EventInput, now: Date): number {
    const seq = this.seq + 1;
    const full = RecordingEvent.parse(this.redact({ ...event, seq, time: now.toISOString() }));
    const line = `${JSON.stringify(full)}\n`;
    this.seq = seq;
    this.pending.push(line);
    this.pendingBytes += Buffer.byteLength(line);
    return seq;
  }

  /** True when the pending plaintext has reached the chunk size. */
  get full(): boolean {
    return this.pendingBytes >= this.chunkBytes;
  }

  /** Events appended but not yet in a cut chunk. */
  get pendingEvents(): number {
    return this.pending.length;
  }

  /**
   * Seals what is pending as the next chunk. Undefined when nothing is pending.
   * The events are taken now, synchronously; later appends go to the next chunk.
   */
  cut(): Promise<SealedChunk | undefined> {
    if (this.pending.length === 0) return this.tail.then(() => undefined);
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const index = ++this.cutCount;
    const run = this.tail.then(() => this.sealChunk(index, lines));
    // A failed seal must stop the chain: every later chunk would name a wrong `prev`.
    this.tail = run;
    return run;
  }

  /** The record's `recording:` field after every chunk cut so far is sealed. */
  async summary(): Promise<RecordingSummary> {
    await this.tail;
    return { chunks: this.sealed, head: formatHead(this.head) };
  }

  private async sealChunk(index: number, lines: string[]): Promise<SealedChunk> {
    const header: RecordingHeader = { format: RECORDING_FORMAT, session: this.session, index, prev: formatHead(this.head) };
    const plaintext = Buffer.from(`${JSON.stringify(header)}\n${lines.join('')}`, 'utf8');
    const bytes = await this.seal(plaintext);
    plaintext.fill(0);
    this.head = chainNext(this.head, bytes);
    this.sealed = index;
    const fileName = chunkFileName(index);
    return { index, fileName, path: `${recordingDir(this.session)}/${fileName}`, bytes, head: formatHead(this.head) };
  }

  private redact<T extends object>(event: T): T {
    if (this.secrets.length === 0) return event;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(event)) out[k] = this.redactValue(k, v);
    return out as T;
  }

  private redactValue(key: string, v: unknown): unknown {
    if (key === 'data' && typeof v === 'string') return this.redactBytes(Buffer.from(v, 'base64')).toString('base64');
    if (typeof v === 'string') return this.redactBytes(Buffer.from(v, 'utf8')).toString('utf8');
    if (Array.isArray(v)) return v.map((x) => this.redactValue('', x));
    if (v && typeof v === 'object') return this.redact(v);
    return v;
  }

  private redactBytes(b: Buffer): Buffer {
    let out = b;
    for (const s of this.secrets) {
      let at = out.indexOf(s);
      while (at >= 0) {
        out = Buffer.concat([out.subarray(0, at), Buffer.from(REDACTED), out.subarray(at + s.length)]);
        at = out.indexOf(s, at + REDACTED.length);
      }
    }
    return out;
  }
}
