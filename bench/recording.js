// Session recordings (issue 12): what 1,000 kubectl requests cost in git, and
// what the writer, the keyless chain check and the auditor's opener cost,
// each next to a baseline measured in the same run (ratio).
// Figures only; nothing asserts a time.
import { createHash } from 'node:crypto';
import { generateKeyPair, readPrivateKey, readPublicKey } from '../lib/crypto/openpgp.js';
import { openSealedBinary, sealToKeys } from '../lib/crypto/recording-seal.js';
import { RecordingWriter } from '../lib/core/recording.js';
import { verifyChain } from '../lib/core/recording-chain.js';
import { openRecording } from '../lib/core/recording-open.js';
import { timed } from './common/baseline.js';

const N = 1000;
const row = (label, value, unit, base, baseLabel) =>
  `  ${label.padEnd(40)} ${value.toFixed(0).padStart(9)} ${unit}   baseline ${baseLabel.padEnd(30)} ${base.toFixed(0).padStart(9)} ${unit}   ratio ${(value / base).toFixed(2)}x`;

/** A kubectl get of one pod, then its response: what the gateway appends per request. */
function request(i) {
  return [
    {
      type: 'request',
      id: `r${i}`,
      method: 'GET',
      path: `/api/v1/namespaces/payments/pods/api-${i % 50}`,
      query: '',
      verb: 'get',
      resource: { group: '', version: 'v1', resource: 'pods', namespace: 'payments', name: `api-${i % 50}` },
    },
    { type: 'response', id: `r${i}`, status: 200, bytes: 4096 },
  ];
}

async function record(session, keys, chunkBytes) {
  const w = new RecordingWriter({ session, seal: (p) => sealToKeys(keys, p), chunkBytes });
  const chunks = [];
  const now = new Date('2026-12-02T13:00:00Z');
  for (let i = 1; i <= N; i++) {
    for (const e of request(i)) w.append(e, now);
    if (w.full) chunks.push(await w.cut());
  }
  const last = await w.cut();
  if (last) chunks.push(last);
  return { chunks, summary: await w.summary() };
}

export default async function bench() {
  const date = new Date('2026-01-01T00:00:00Z');
  const pair = await generateKeyPair({ name: 'sec-team', email: 'sec@example.invalid', date });
  const keys = [await readPublicKey(pair.publicKey)];
  const secret = await readPrivateKey(pair.privateKey);
  // The same events as JSON Lines, unsealed and unchained: what the bytes would be in the clear.
  const plain = Buffer.from(
    Array.from({ length: N }, (_, k) =>
      request(k + 1)
        .map((e, j) => `${JSON.stringify({ seq: 2 * k + j + 1, time: '2026-12-02T13:00:00.000Z', ...e })}\n`)
        .join(''),
    ).join(''),
  );
  await record('warm-up', keys, 64 * 1024);
  const [writeMs, rec] = await timed(() => record('inc-bench', keys, 64 * 1024));
  const [sealMs] = await timed(() => sealToKeys(keys, plain));
  const sealed = rec.chunks.reduce((n, c) => n + c.bytes.length, 0);
  const files = rec.chunks.map((c) => ({ name: c.fileName, bytes: c.bytes }));
  const [chainMs] = await timed(async () => {
    for (let i = 0; i < 20; i++) verifyChain('inc-bench', files, rec.summary);
  });
  const [hashMs] = await timed(async () => {
    for (let i = 0; i < 20; i++) for (const f of files) createHash('sha256').update(f.bytes).digest();
  });
  const [openMs] = await timed(() => openRecording('inc-bench', files, rec.summary, secret));
  const [decryptMs] = await timed(async () => {
    for (const f of files) await openSealedBinary(secret, f.bytes);
  });
  console.log(`recording: ${N} kubectl get requests (request + response events), 64 KiB chunks (${rec.chunks.length}), one auditor key, one run;`);
  console.log(row('size in git per 1,000 requests', sealed / 1024, 'KiB', plain.length / 1024, 'the same JSON Lines in clear'));
  console.log(row('writer: append, cut, seal, chain', writeMs, 'ms ', sealMs, 'one sealToKeys of the JSONL'));
  console.log(row('keyless chain check (x20)', chainMs, 'ms ', hashMs, 'sha256 of each chunk (x20)'));
  console.log(row('auditor open: chain + decrypt + parse', openMs, 'ms ', decryptMs, 'decrypt each chunk only'));
}
