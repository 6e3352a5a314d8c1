/**
 * Two runner replicas recording one session append to one chain: each cut
 * resumes from the newest chunk in the store, and a lost race for an index
 * re-seals the same events after the winner's chunk. The result opens with
 * the auditor key as one recording, every event once, in a valid chain.
 * The store here keeps the real ChunkStore's contract (create-only indexes,
 * the public chain state beside each chunk) in memory.
 */
import { describe, expect, it } from 'vitest';
import { openRecording } from '../src/core/recording-open.js';
import { chainHead, chunkFileName, formatHead, type EventInput } from '../src/core/recording.js';
import { generateKeyPair, readPrivateKey, readPublicKey } from '../src/crypto/openpgp.js';
import { sealToKeys } from '../src/crypto/recording-seal.js';
import type { ChainTip, ChunkStore, StoredChunk } from '../src/runner/gateway/chunks.js';
import { SessionRecorder } from '../src/runner/gateway/recorder.js';

class MemoryChunks {
  readonly chunks = new Map<number, StoredChunk & { seq: number }>();
  failNext = false;
  async tip(): Promise<ChainTip> {
    const last = [...this.chunks.values()].sort((a, b) => b.index - a.index)[0];
    return last ? { chunks: last.index, head: last.head, seq: last.seq } : { chunks: 0, seq: 0 };
  }
  async put(_s: string, index: number, bytes: Uint8Array, head: string, seq: number): Promise<boolean> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('KUBE_UNREACHABLE');
    }
    if (this.chunks.has(index)) return false;
    this.chunks.set(index, { index, bytes, head, seq, name: `c${index}` });
    return true;
  }
}

const SESSION = 'two-replicas';
const req = (n: number, query = ''): EventInput => ({ type: 'request', id: `r${n}`, method: 'GET', path: `/api/v1/namespaces/w/pods/p${n}`, query, verb: 'get' });

describe('one chain written by two replicas', () => {
  it('interleaved cuts, a lost race for an index and a failed store open as one recording: every event once, in order', async () => {
    const auditor = await generateKeyPair({ name: 'a', email: 'a@customer.example', date: new Date('2026-01-01T00:00:00Z') });
    const keys = [await readPublicKey(auditor.publicKey)];
    const store = new MemoryChunks();
    const make = () => new SessionRecorder({ session: SESSION, store: store as unknown as ChunkStore, seal: (pt) => sealToKeys(keys, pt), secrets: ['bgw1.two-replicas.secret'], chunkBytes: 1 << 20 });
    const [a, b] = [make(), make()];
    const at = new Date('2026-11-21T02:30:00Z');
    a.add(req(1), at);
    await a.flush();
    b.add(req(2), at);
    await b.flush();
    // A still takes chunk 1 for the tip and tries index 2, which B holds: it re-reads the tip and seals after B's chunk.
    a.add(req(3, 'token=bgw1.two-replicas.secret'), at);
    await a.flush();
    // A store that fails once: the events are kept and go out with the next cut, nothing forwarded meanwhile.
    store.failNext = true;
    b.add(req(4), at);
    await expect(b.flush()).rejects.toThrow('KUBE_UNREACHABLE');
    expect(b.failure).toBeDefined();
    b.add(req(5), at);
    await b.flush();
    expect(b.failure).toBeUndefined();
    const chunks = [...store.chunks.values()].sort((x, y) => x.index - y.index);
    expect(chunks.map((c) => c.index)).toEqual([1, 2, 3, 4]);
    const head = formatHead(chainHead(SESSION, chunks.map((c) => c.bytes)));
    expect(chunks.at(-1)!.head).toBe(head);
    const opened = await openRecording(SESSION, chunks.map((c) => ({ name: chunkFileName(c.index), bytes: c.bytes })), { chunks: chunks.length, head }, await readPrivateKey(auditor.privateKey));
    expect(opened.ok, JSON.stringify(opened)).toBe(true);
    if (!opened.ok) return;
    expect(opened.events.map((e) => (e.type === 'request' ? e.id : '?'))).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(opened.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(JSON.stringify(opened.events)).not.toContain('bgw1.two-replicas.secret');
  });
});
