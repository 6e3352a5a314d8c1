/**
 * One session's recording in this process: events are buffered with their
 * times, then cut into a chunk (size reached, the periodic tick, or the
 * session's end), sealed to the auditors and stored in the cluster. Cuts are
 * serialized per session. Each cut resumes the chain from the cluster's tip,
 * so a chunk written by another replica in between is simply followed; a
 * lost race (the index was taken) re-reads the tip and re-seals the same
 * events after it. Nothing is kept in clear anywhere but this buffer.
 */
import { RecordingWriter, type EventInput, type Sealer } from '../../core/recording.js';
import type { ChainTip, ChunkStore } from './chunks.js';

const ATTEMPTS = 8;

/** The recorder of one session. */
export class SessionRecorder {
  readonly session: string;
  private readonly store: ChunkStore;
  private readonly seal: Sealer;
  private readonly secrets: readonly string[];
  private readonly chunkBytes: number;
  private pending: { event: EventInput; at: Date }[] = [];
  private pendingBytes = 0;
  private tip: ChainTip | undefined;
  private tail: Promise<void> = Promise.resolve();
  /** Set when a cut could not be stored: the gateway stops forwarding for this session until one succeeds. */
  failure: Error | undefined;

  constructor(o: { session: string; store: ChunkStore; seal: Sealer; secrets: readonly string[]; chunkBytes: number }) {
    this.session = o.session;
    this.store = o.store;
    this.seal = o.seal;
    this.secrets = o.secrets;
    this.chunkBytes = o.chunkBytes;
  }

  /** Buffers one event; cuts a chunk when the buffer reaches the chunk size. */
  add(event: EventInput, at: Date): void {
    this.pending.push({ event, at });
    this.pendingBytes += 200 + ('data' in event && typeof event.data === 'string' ? event.data.length : 0);
    if (this.pendingBytes >= this.chunkBytes) void this.flush().catch(() => undefined);
  }

  get idle(): boolean {
    return this.pending.length === 0;
  }

  /** Cuts, seals and stores what is buffered; resolves when it is in the cluster. */
  flush(): Promise<void> {
    const run = this.tail.then(() => this.cutOnce());
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async cutOnce(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      for (let i = 0; i < ATTEMPTS; i++) {
        const tip = this.tip ?? (await this.store.tip(this.session));
        const writer = new RecordingWriter({ session: this.session, seal: this.seal, secrets: this.secrets, resume: tip.head ? { chunks: tip.chunks, head: tip.head, seq: tip.seq } : undefined });
        let seq = tip.seq;
        for (const e of batch) seq = writer.append(e.event, e.at);
        const chunk = (await writer.cut())!;
        if (await this.store.put(this.session, chunk.index, chunk.bytes, chunk.head, seq)) {
          this.tip = { chunks: chunk.index, head: chunk.head, seq };
          this.failure = undefined;
          return;
        }
        this.tip = undefined; // another replica appended: follow its chunk
      }
      throw new Error(`recording of session ${this.session}: chunk index still contended after ${ATTEMPTS} attempts`);
    } catch (e) {
      // Keep the events for the next cut, in order; the gateway refuses new requests meanwhile.
      this.pending = [...batch, ...this.pending];
      this.failure = e as Error;
      throw e;
    }
  }
}
