/**
 * The recording format (breakglass-recording/v1): a round trip through the
 * writer, the keyless chain check and the auditor's opener, then every way
 * to tamper with a recording someone can write to git — a chunk dropped,
 * swapped, edited, re-encrypted, added, or brought from another session, and
 * a head that does not match — each refused with its own code.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import { generateKeyPair, readPrivateKey, readPublicKey, type PrivateKey, type PublicKey } from '../src/crypto/openpgp.js';
import { sealToKeys } from '../src/crypto/recording-seal.js';
import { chainHead, chunkFileName, chunkIndexOf, formatHead, RecordingWriter, type EventInput, type EventOf, type SealedChunk } from '../src/core/recording.js';
import { verifyChain, type ChunkFile } from '../src/core/recording-chain.js';
import { openRecording, parseChunk } from '../src/core/recording-open.js';

const T0 = new Date('2026-11-21T02:30:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

let auditor: { pub: PublicKey; sec: PrivateKey };
let second: { pub: PublicKey; sec: PrivateKey };
let stranger: { pub: PublicKey; sec: PrivateKey };

async function pair(name: string) {
  const k = await generateKeyPair({ name, email: `${name}@customer.example` });
  return { pub: await readPublicKey(k.publicKey), sec: await readPrivateKey(k.privateKey) };
}

const get: EventOf<'request'> = { type: 'request', id: 'r1', method: 'GET', path: '/api/v1/namespaces/payments/pods', query: 'limit=500', verb: 'list', resource: { group: '', version: 'v1', resource: 'pods', namespace: 'payments' } };

/** A session's recording of `chunks` chunks with two events each, sealed to `keys`. */
async function record(session: string, chunks: number, keys: PublicKey[] = [auditor.pub]): Promise<{ files: ChunkFile[]; sealed: SealedChunk[]; head: string }> {
  const w = new RecordingWriter({ session, seal: (p) => sealToKeys(keys, p) });
  const sealed: SealedChunk[] = [];
  for (let i = 0; i < chunks; i++) {
    const id = `r${i + 1}`;
    w.append({ ...get, id }, at(i));
    w.append({ type: 'response', id, status: 200, bytes: 1234 }, at(i));
    sealed.push((await w.cut())!);
  }
  const s = await w.summary();
  expect(s.chunks).toBe(chunks);
  return { files: sealed.map((c) => ({ name: c.fileName, bytes: c.bytes })), sealed, head: s.head };
}

beforeAll(async () => {
  [auditor, second, stranger] = await Promise.all([pair('sec-team'), pair('ciso'), pair('stranger')]);
});

describe('a recording written by the writer', () => {
  it('opens with every auditor key and gives back each event in order', async () => {
    const w = new RecordingWriter({ session: 'inc-1', seal: (p) => sealToKeys([auditor.pub, second.pub], p) });
    w.append(get, at(0));
    w.append({ type: 'response', id: 'r1', status: 200, bytes: 42 }, at(1));
    const first = (await w.cut())!;
    w.append({ type: 'request', id: 'r2', method: 'POST', path: '/api/v1/namespaces/payments/pods/api-0/exec', query: 'command=sh&command=-c&command=ls&stdin=true', verb: 'create', resource: { group: '', version: 'v1', resource: 'pods', namespace: 'payments', name: 'api-0', subresource: 'exec' }, argv: ['sh', '-c', 'ls'] }, at(2));
    w.append({ type: 'stream', id: 'r2', direction: 'server', data: Buffer.from('bin\netc\n').toString('base64') }, at(3));
    w.append({ type: 'close', id: 'r2', bytesIn: 0, bytesOut: 8 }, at(4));
    w.append({ type: 'denied', id: 'r3', rule: 'delete namespaces' }, at(5));
    w.append({ type: 'refused', reason: 'session ended' }, at(6));
    const second_ = (await w.cut())!;
    expect(await w.cut()).toBeUndefined();
    const summary = await w.summary();
    expect(summary).toEqual({ chunks: 2, head: second_.head });
    expect([first.path, second_.path]).toEqual(['sessions/inc-1/recording/000001.pgp', 'sessions/inc-1/recording/000002.pgp']);
    expect(summary.head).toBe(formatHead(chainHead('inc-1', [first.bytes, second_.bytes])));

    const files = [first, second_].map((c) => ({ name: c.fileName, bytes: c.bytes }));
    for (const key of [auditor.sec, second.sec]) {
      const opened = await openRecording('inc-1', files, summary, key);
      expect(opened.ok).toBe(true);
      if (!opened.ok) return;
      expect(opened.events.map((e) => [e.seq, e.type])).toEqual([[1, 'request'], [2, 'response'], [3, 'request'], [4, 'stream'], [5, 'close'], [6, 'denied'], [7, 'refused']]);
      expect(opened.chunks[1]!.header).toEqual({ format: 'breakglass-recording/v1', session: 'inc-1', index: 2, prev: first.head });
      expect(opened.events[0]!.time).toBe('2026-11-21T02:30:00.000Z');
    }
  });

  it('is verified by the chain alone, with no key', async () => {
    const r = await record('inc-2', 3);
    expect(verifyChain('inc-2', r.files, { chunks: 3, head: r.head })).toMatchObject({ ok: true, findings: [] });
  });

  it('of no chunks has the session-bound start as its head', () => {
    const head = formatHead(chainHead('inc-0', []));
    expect(verifyChain('inc-0', [], { chunks: 0, head }).ok).toBe(true);
    expect(verifyChain('inc-1', [], { chunks: 0, head }).findings.map((f) => f.code)).toEqual(['RECORDING_ALTERED']);
  });

  it('is binary OpenPGP with no plaintext in the bytes', async () => {
    const r = await record('inc-3', 1);
    const text = Buffer.from(r.sealed[0]!.bytes).toString('latin1');
    for (const clear of ['payments', 'breakglass-recording', 'inc-3', '"seq"']) expect(text).not.toContain(clear);
    const message = await openpgp.readMessage({ binaryMessage: r.sealed[0]!.bytes });
    expect(message.getEncryptionKeyIDs().length).toBeGreaterThan(0);
  });

  it('never holds a secret the gateway names, in strings, argv or stream bytes', async () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.sa-token.sig';
    const w = new RecordingWriter({ session: 'inc-4', seal: (p) => sealToKeys([auditor.pub], p), secrets: [token] });
    w.append({ ...get, query: `token=${token}`, argv: ['echo', token] }, at(0));
    w.append({ type: 'stream', id: 'r1', direction: 'client', data: Buffer.from(`curl -H "Authorization: Bearer ${token}"\n`).toString('base64') }, at(1));
    const c = (await w.cut())!;
    const opened = await openRecording('inc-4', [{ name: c.fileName, bytes: c.bytes }], await w.summary(), auditor.sec);
    if (!opened.ok) throw new Error('not opened');
    const all = JSON.stringify(opened.events) + opened.events.map((e) => (e.type === 'stream' ? Buffer.from(e.data, 'base64').toString() : '')).join('');
    expect(all).not.toContain(token);
    expect(all).toContain('Bearer [redacted]');
  });

  it('refuses an event that does not fit the format, and numbers nothing for it', async () => {
    const w = new RecordingWriter({ session: 'inc-5', seal: (p) => sealToKeys([auditor.pub], p) });
    expect(() => w.append({ type: 'response', id: 'x', status: 200, bytes: 1 } as EventInput, at(0))).toThrow();
    expect(w.append({ type: 'response', id: 'r1', status: 200, bytes: 1 }, at(0))).toBe(1);
  });

  it('cuts are sealed in order even when the gateway does not wait for each', async () => {
    const w = new RecordingWriter({ session: 'inc-6', seal: (p) => sealToKeys([auditor.pub], p) });
    const cuts: Promise<SealedChunk | undefined>[] = [];
    for (let i = 1; i <= 4; i++) {
      w.append({ type: 'response', id: `r${i}`, status: 200, bytes: i }, at(i));
      cuts.push(w.cut());
    }
    const sealed = (await Promise.all(cuts)).map((c) => c!);
    const opened = await openRecording('inc-6', sealed.map((c) => ({ name: c.fileName, bytes: c.bytes })), await w.summary(), auditor.sec);
    expect(opened.ok).toBe(true);
  });
});

describe('chunk names', () => {
  it('are six digits, one name per chunk', () => {
    expect(chunkFileName(1)).toBe('000001.pgp');
    expect(chunkFileName(1234567)).toBe('1234567.pgp');
    expect(['000001.pgp', '000012.pgp', '1234567.pgp'].map(chunkIndexOf)).toEqual([1, 12, 1234567]);
    for (const bad of ['000000.pgp', '0000001.pgp', '1.pgp', '000001.pgp.asc', '00001a.pgp', '000001.asc']) expect(chunkIndexOf(bad)).toBeUndefined();
  });
});

describe('when someone tampers with a recording', () => {
  const codes = (session: string, files: ChunkFile[], chunks: number, head: string) => verifyChain(session, files, { chunks, head }).findings.map((f) => f.code);

  it('a dropped chunk is truncation; all chunks gone is a missing recording', async () => {
    const r = await record('inc-7', 3);
    expect(codes('inc-7', [r.files[0]!, r.files[2]!], 3, r.head)).toEqual(['RECORDING_TRUNCATED']);
    expect(codes('inc-7', r.files.slice(0, 2), 3, r.head)).toEqual(['RECORDING_TRUNCATED']);
    expect(codes('inc-7', [], 3, r.head)).toEqual(['RECORDING_MISSING']);
  });

  it('two chunks swapped (renamed into each other) are named as reordered', async () => {
    const r = await record('inc-8', 3);
    const swapped = [{ name: '000001.pgp', bytes: r.files[2]!.bytes }, r.files[1]!, { name: '000003.pgp', bytes: r.files[0]!.bytes }];
    const check = verifyChain('inc-8', swapped, { chunks: 3, head: r.head });
    expect(check.findings.map((f) => f.code)).toEqual(['RECORDING_REORDERED']);
    expect(check.findings[0]!.message).toContain('000001.pgp and 000003.pgp');
    expect(check.chunks).toEqual([]);
  });

  it('one altered byte anywhere in any chunk breaks the chain', async () => {
    const r = await record('inc-9', 2);
    for (const [k, where] of [[0, 0], [1, 40], [1, -1]] as const) {
      const files = r.files.map((f) => ({ ...f, bytes: Uint8Array.from(f.bytes) }));
      const b = files[k]!.bytes;
      const i = where < 0 ? b.length + where : where;
      b[i] = b[i]! ^ 0x01;
      expect(codes('inc-9', files, 2, r.head)).toEqual(['RECORDING_ALTERED']);
    }
  });

  it('a chunk re-encrypted to another key breaks the chain, even with the same plaintext', async () => {
    const r = await record('inc-10', 2);
    const w = new RecordingWriter({ session: 'inc-10', seal: (p) => sealToKeys([stranger.pub], p) });
    w.append({ ...get, id: 'r1' }, at(0));
    w.append({ type: 'response', id: 'r1', status: 200, bytes: 1234 }, at(0));
    const forged = (await w.cut())!;
    expect(codes('inc-10', [{ name: '000001.pgp', bytes: forged.bytes }, r.files[1]!], 2, r.head)).toEqual(['RECORDING_ALTERED']);
  });

  it('an extra chunk after the last signed one, or a stray file, is extra', async () => {
    const r = await record('inc-11', 2);
    const more = await record('inc-11', 3);
    expect(codes('inc-11', [...r.files, more.files[2]!], 2, r.head)).toEqual(['RECORDING_EXTRA']);
    expect(codes('inc-11', [...r.files, { name: 'notes.txt', bytes: new Uint8Array([1]) }], 2, r.head)).toEqual(['RECORDING_EXTRA']);
  });

  it("a chunk from another session's recording breaks the chain (and the opener names it foreign)", async () => {
    const mine = await record('inc-12', 2);
    const theirs = await record('inc-13', 2);
    const files = [mine.files[0]!, theirs.files[1]!];
    expect(codes('inc-12', files, 2, mine.head)).toEqual(['RECORDING_ALTERED']);
    // A whole recording moved from another session, with its head: the session-bound start catches it.
    expect(codes('inc-12', theirs.files, 2, theirs.head)).toEqual(['RECORDING_ALTERED']);
    const plain = Buffer.from(`${JSON.stringify({ format: 'breakglass-recording/v1', session: 'inc-13', index: 1, prev: formatHead(chainHead('inc-13', [])) })}\n`);
    expect(() => parseChunk(plain, { session: 'inc-12', index: 1, prev: formatHead(chainHead('inc-12', [])), nextSeq: 1, file: 'x' })).toThrow(/session inc-13/);
  });

  it('a head that does not match the chunks is refused, and the opener returns nothing', async () => {
    const r = await record('inc-14', 2);
    const other = formatHead(chainHead('inc-14', [r.files[0]!.bytes]));
    expect(codes('inc-14', r.files, 2, other)).toEqual(['RECORDING_ALTERED']);
    expect(codes('inc-14', r.files.slice(0, 1), 1, r.head)).toEqual(['RECORDING_ALTERED']);
    const opened = await openRecording('inc-14', r.files, { chunks: 2, head: other }, auditor.sec);
    expect(opened).toEqual({ ok: false, findings: [expect.objectContaining({ code: 'RECORDING_ALTERED' })] });
  });
});

describe('opening with a key', () => {
  it('that is not an auditor key is an operational error, not a verdict', async () => {
    const r = await record('inc-15', 1);
    await expect(openRecording('inc-15', r.files, { chunks: 1, head: r.head }, stranger.sec)).rejects.toMatchObject({ code: 'RECORDING_NOT_FOR_KEY' });
  });

  it('refuses plaintext whose events skip a number or that is cut short', () => {
    const where = { session: 'inc-16', index: 1, prev: formatHead(chainHead('inc-16', [])), nextSeq: 1, file: 'x' };
    const header = JSON.stringify({ format: 'breakglass-recording/v1', session: 'inc-16', index: 1, prev: where.prev });
    const ev = (seq: number) => JSON.stringify({ seq, time: '2026-11-21T02:30:00Z', type: 'refused', reason: 'ended' });
    expect(parseChunk(Buffer.from(`${header}\n${ev(1)}\n${ev(2)}\n`), where).events).toHaveLength(2);
    expect(() => parseChunk(Buffer.from(`${header}\n${ev(1)}\n${ev(3)}\n`), where)).toThrow(/expected 2/);
    expect(() => parseChunk(Buffer.from(`${header}\n${ev(1)}`), where)).toThrow(/cut short/);
    expect(() => parseChunk(Buffer.from(`${header}\n{"seq":1,"type":"mystery"}\n`), where)).toThrow(/does not fit/);
    expect(() => parseChunk(Buffer.from(`${header.replace('"index":1', '"index":2')}\n`), where)).toThrow(/expected chunk 1/);
  });
});
