/**
 * Recorded sessions for the CLI tests: a real git history (AuditRepo), a
 * recording made by the real RecordingWriter and sealed to real auditor
 * keys, and a runner-signed record carrying its chain head — as the runner's
 * gateway leaves them, without a cluster.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, readPublicKey, type GeneratedKey } from '../../src/crypto/openpgp.js';
import { sealToKeys } from '../../src/crypto/recording-seal.js';
import { RecordingWriter, type EventInput, type SealedChunk } from '../../src/core/recording.js';
import { type AuditRepo, T, type RecordOver } from './audit-history.js';

/** Unique strings in the recording's plaintext: none may ever be found outside the ciphertext. */
export const MARKERS = { argv: 'cat-the-runbook-7f3a', output: 'OUTPUT-ONLY-IN-RECORDING-91c2', path: 'only-in-recording-5d1e' };

/** A session's traffic: a list, a create, a patch, a delete, a watch, an exec with output, a denial, a refusal after the end. */
export function traffic(): { event: EventInput; at: string }[] {
  const pods = { group: '', version: 'v1', resource: 'pods', namespace: 'payments' };
  const out = Buffer.from(`runbook line 1\n${MARKERS.output}\n\u001b[31mred\u001b[0m\n`).toString('base64');
  return [
    { at: T('02:23:00'), event: { type: 'request', id: 'r1', method: 'GET', path: '/api/v1/namespaces/payments/pods', query: 'limit=500', verb: 'list', resource: pods } },
    { at: T('02:23:00'), event: { type: 'response', id: 'r1', status: 200, bytes: 5120 } },
    {
      at: T('02:24:00'),
      event: {
        type: 'request',
        id: 'r2',
        method: 'POST',
        path: '/api/v1/namespaces/payments/configmaps',
        query: '',
        verb: 'create',
        resource: { group: '', version: 'v1', resource: 'configmaps', namespace: 'payments' },
      },
    },
    { at: T('02:24:00'), event: { type: 'response', id: 'r2', status: 201, bytes: 400 } },
    {
      at: T('02:25:00'),
      event: {
        type: 'request',
        id: 'r3',
        method: 'PATCH',
        path: '/apis/apps/v1/namespaces/payments/deployments/api',
        query: '',
        verb: 'patch',
        resource: { group: 'apps', version: 'v1', resource: 'deployments', namespace: 'payments', name: 'api' },
      },
    },
    { at: T('02:25:00'), event: { type: 'response', id: 'r3', status: 200, bytes: 3000 } },
    { at: T('02:26:00'), event: { type: 'request', id: 'r4', method: 'DELETE', path: '/api/v1/namespaces/payments/pods/api-0', query: '', verb: 'delete', resource: { ...pods, name: 'api-0' } } },
    { at: T('02:26:00'), event: { type: 'response', id: 'r4', status: 200, bytes: 900 } },
    { at: T('02:27:00'), event: { type: 'request', id: 'r5', method: 'GET', path: '/api/v1/namespaces/payments/pods', query: 'watch=true', verb: 'watch', resource: pods } },
    { at: T('02:27:00'), event: { type: 'response', id: 'r5', status: 200, bytes: 0 } },
    { at: T('02:27:01'), event: { type: 'stream', id: 'r5', direction: 'server', data: Buffer.from('{"type":"ADDED","object":{"kind":"Pod"}}\n').toString('base64') } },
    { at: T('02:27:30'), event: { type: 'close', id: 'r5', bytesIn: 0, bytesOut: 44 } },
    {
      at: T('02:28:00'),
      event: {
        type: 'request',
        id: 'r6',
        method: 'POST',
        path: `/api/v1/namespaces/payments/pods/api-1/exec`,
        query: `command=cat&command=${MARKERS.argv}&stdout=true`,
        verb: 'create',
        resource: { ...pods, name: 'api-1', subresource: 'exec' },
        argv: ['cat', MARKERS.argv],
      },
    },
    { at: T('02:28:00'), event: { type: 'response', id: 'r6', status: 101, bytes: 0 } },
    { at: T('02:28:01'), event: { type: 'stream', id: 'r6', direction: 'server', data: out } },
    { at: T('02:28:02'), event: { type: 'close', id: 'r6', bytesIn: 0, bytesOut: 60 } },
    {
      at: T('02:29:00'),
      event: {
        type: 'request',
        id: 'r7',
        method: 'DELETE',
        path: `/api/v1/namespaces/${MARKERS.path}`,
        query: '',
        verb: 'delete',
        resource: { group: '', version: 'v1', resource: 'namespaces', name: MARKERS.path },
      },
    },
    { at: T('02:29:00'), event: { type: 'denied', id: 'r7', rule: 'delete namespaces' } },
    { at: T('02:40:04'), event: { type: 'refused', reason: 'session ended', method: 'GET', path: '/api/v1/namespaces/payments/pods' } },
  ];
}

let auditorsOnce: Promise<{ sec: GeneratedKey; stranger: GeneratedKey }> | undefined;
/** The customer's auditor key, and a key nobody sealed anything to. */
export function auditorKeys(): Promise<{ sec: GeneratedKey; stranger: GeneratedKey }> {
  auditorsOnce ??= Promise.all([generateKeyPair({ name: 'sec-team', email: 'sec@customer.example' }), generateKeyPair({ name: 'stranger', email: 'stranger@evil.example' })]).then(
    ([sec, stranger]) => ({ sec, stranger }),
  );
  return auditorsOnce;
}

/** Seals the traffic into chunks of `perChunk` events, to `publicKey`. */
export async function writeRecording(id: string, publicKey: string, perChunk = 5, events = traffic()): Promise<{ chunks: SealedChunk[]; summary: { chunks: number; head: string } }> {
  const key = await readPublicKey(publicKey);
  const w = new RecordingWriter({ session: id, seal: (p) => sealToKeys([key], p) });
  const chunks: SealedChunk[] = [];
  for (const [i, e] of events.entries()) {
    w.append(e.event, new Date(e.at));
    if ((i + 1) % perChunk === 0) chunks.push((await w.cut())!);
  }
  const last = await w.cut();
  if (last) chunks.push(last);
  return { chunks, summary: await w.summary() };
}

/**
 * One whole recorded session: request, approval, end, then the recording and
 * the record naming its head in one commit (as the runner commits at teardown).
 * `tamper` may change the chunks before they are written; `recording` overrides the record's field.
 */
export async function recordedSession(
  repo: AuditRepo,
  id: string,
  policy: string,
  opts: { tamper?: (c: SealedChunk[]) => { name: string; bytes: Uint8Array }[]; record?: RecordOver; key?: string } = {},
): Promise<SealedChunk[]> {
  const { sec } = await auditorKeys();
  const request = repo.request(id);
  repo.commit(T('02:17:00'), `request ${id}`);
  const approval = await repo.approve(id, 'alice', request);
  const commit = repo.commit(T('02:21:30'), `approve ${id}`);
  repo.end(id, T('02:40:00'));
  repo.commit(T('02:40:00'), `end ${id}`);
  const { chunks, summary } = await writeRecording(id, sec.publicKey);
  const files = opts.tamper ? opts.tamper(chunks) : chunks.map((c) => ({ name: c.fileName, bytes: c.bytes }));
  for (const f of files) {
    repo.write(`sessions/${id}/recording/${f.name}`, '');
    writeFileSync(join(repo.dir, 'sessions', id, 'recording', f.name), f.bytes);
  }
  const doc = repo.recordDoc(id, { request, approval, policy, commit }, { recording: summary, ...opts.record });
  await repo.record(id, doc, T('02:40:08'), opts.key);
  return chunks;
}
