/**
 * Records: `sessions/<id>/record.yaml`, signed with the runner key, committed
 * and pushed. A record is first written to the state directory and pushed
 * from there, so an unreachable remote never delays a teardown: the record
 * waits and is retried every loop. A non-fast-forward push is retried on the
 * new head. The record holds the credential's SHA-256, never the credential.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeYaml } from '../core/yaml-write.js';
import { git, gitText } from '../adapters/git.js';
import { recordingDir, type RecordingSummary } from '../core/recording.js';
import { API_VERSION, Record } from '../core/schemas.js';
import { signDetached, type PrivateKey } from '../crypto/openpgp.js';
import type { MarkerState } from './marker.js';
import { checkOwnRecord } from './own-record.js';
import type { RepoMirror } from './repo.js';
import type { ObjectRef } from './providers/types.js';

/** How a session ended, added to the marker state to make the record. */
export interface Ending {
  outcome: 'ended' | 'failed';
  ended: string;
  endReason: string;
  teardown?: { deleted: ObjectRef[]; completed: string; errors: string[] };
  revocation?: { method: string; at: string; result: string; attempts?: number };
  /** A recorded session's chunk count and chain head (issue 12), signed into the record. */
  recording?: RecordingSummary;
}

/** Builds the record document (schema-checked) from the marker state; `drill` marks a rehearsal's record. */
export function buildRecord(s: MarkerState, e: Ending, runner: { id: string; fingerprint: string }, drill = false): Record {
  return Record.parse({
    apiVersion: API_VERSION,
    kind: 'Record',
    session: s.session,
    request: s.requestDigest,
    repository: s.repository,
    commit: s.commit,
    outcome: e.outcome,
    drill,
    runner,
    approvals: s.approvals,
    policy: s.policy,
    activated: s.activated,
    expires: s.expires,
    ended: e.ended,
    endReason: e.endReason,
    objects: s.objects,
    credential: credentialOf(s),
    teardown: e.teardown,
    revocation: e.revocation,
    failure: s.failure,
    path: s.path,
    recording: e.recording,
  });
}

/** What the record says about the credential: its kind by resource type; nothing when none was issued (a failed session). */
function credentialOf(s: MarkerState): Record['credential'] {
  // The per-delivery tag is the runner's own bookkeeping (finding its comment after a crash); the record keeps channel and ref.
  const { tag: _tag, ...delivery } = s.delivery ?? { channel: 'none' as const };
  if (s.type === 'vendor-held') return s.activated ? { kind: 'none', expires: s.expires, delivery } : undefined;
  if (!s.credentialSha256) return undefined;
  return { kind: s.type === 'command' ? 'command' : 'kubernetes-token', sha256: s.credentialSha256, expires: s.expires, delivery };
}

/**
 * Signs and stores the record in the state directory's outbox of records,
 * with a recorded session's sealed chunks beside it (`files`: repository path
 * -> ciphertext; never anything in clear), committed together with it.
 */
export async function queueRecord(stateDir: string, record: Record, key: PrivateKey, files?: Map<string, Uint8Array>): Promise<void> {
  const bytes = new TextEncoder().encode(writeYaml(record));
  const sig = await signDetached(key, bytes);
  const dir = join(stateDir, 'records', record.session);
  await mkdir(dir, { recursive: true });
  if (files?.size) {
    await mkdir(join(dir, 'recording'), { recursive: true });
    for (const [path, data] of files) await writeFile(join(dir, 'recording', basename(path)), data, { mode: 0o600 });
  }
  // The record last: a queued record is complete once record.yaml.asc exists.
  await writeFile(join(dir, 'record.yaml'), bytes);
  await writeFile(join(dir, 'record.yaml.asc'), sig);
}

/** The queued chunk files of a session, as repository paths. */
async function queuedRecording(dir: string, session: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const names = await readdir(join(dir, 'recording')).catch((): string[] => []);
  for (const name of names.sort()) out.set(`${recordingDir(session)}/${name}`, await readFile(join(dir, 'recording', name)));
  return out;
}

const IDENTITY = { GIT_AUTHOR_NAME: 'breakglass runner', GIT_AUTHOR_EMAIL: 'runner@breakglass.invalid', GIT_COMMITTER_NAME: 'breakglass runner', GIT_COMMITTER_EMAIL: 'runner@breakglass.invalid' };

/** Commits files on top of `base` without a working tree (a private index), returning the commit id. */
async function commitFiles(mirror: RepoMirror, base: string, files: Map<string, Uint8Array>, message: string): Promise<string> {
  const env = { ...IDENTITY, GIT_INDEX_FILE: join(mirror.dir, `index.breakglass.${process.pid}`) };
  await git(mirror.dir, ['read-tree', base], { env });
  for (const [path, bytes] of files) {
    const blob = await gitText(mirror.dir, ['hash-object', '-w', '--stdin'], { input: bytes });
    // --replace: a planted directory, symlink or gitlink at this path is replaced, never an obstacle.
    await git(mirror.dir, ['update-index', '--add', '--replace', '--cacheinfo', `100644,${blob},${path}`], { env });
  }
  const tree = await gitText(mirror.dir, ['write-tree'], { env });
  return gitText(mirror.dir, ['commit-tree', tree, '-p', base, '-m', message], { env });
}

/** What `flushRecords` needs to tell the runner's own records from planted ones. */
export interface RecordOwner {
  /** The runner's public key, armored. */
  publicKey: string;
  now(): number;
}

/**
 * True when `base` already holds a record for `session` signed by this
 * runner's key (another replica, or an earlier try whose answer was lost).
 * Any other file there — unsigned, signed by someone else, a symlink — is
 * planted: it is logged and overwritten by the push, never taken for ours.
 */
async function alreadyRecorded(mirror: RepoMirror, base: string, session: string, owner: RecordOwner, log: (s: string) => void): Promise<boolean> {
  const path = `sessions/${session}/record.yaml`;
  const source = await mirror.source(base, [session]);
  const refused = await source.refused([path, `${path}.asc`]);
  const files = await source.readMany([path, `${path}.asc`]);
  const bytes = files.get(path);
  if (refused.length) log(`record ${session}: ${refused.map((r) => `${r.code} ${r.path}`).join('; ')} in git is not ours; replacing it`);
  if (!bytes) return false;
  const check = await checkOwnRecord(session, bytes, files.get(`${path}.asc`), owner.publicKey, owner.now());
  if (!check.ok) log(`record ${session}: ${check.code}: ${check.message}; replacing it with the runner's record`);
  return check.ok;
}

/** Pushes one queued record; true when it is in the remote (now or already). */
async function pushOne(mirror: RepoMirror, dir: string, session: string, owner: RecordOwner, log: (s: string) => void): Promise<boolean> {
  const files = await queuedRecording(dir, session);
  for (const f of ['record.yaml', 'record.yaml.asc']) files.set(`sessions/${session}/${f}`, await readFile(join(dir, f)));
  for (let attempt = 0; attempt < 3; attempt++) {
    const base = await mirror.fetch();
    if (await alreadyRecorded(mirror, base, session, owner, log)) return true;
    const commit = await commitFiles(mirror, base, files, `breakglass: record for session ${session}`);
    try {
      await git(mirror.dir, ['push', '--quiet', 'origin', `${commit}:refs/heads/${mirror.branch}`]);
      return true;
    } catch {
      // Non-fast-forward (someone pushed meanwhile) or the remote is down: fetch and try again.
    }
  }
  return false;
}

/** How many signed records wait in the state directory to be pushed. */
export async function pendingRecords(stateDir: string): Promise<number> {
  return (await readdir(join(stateDir, 'records')).catch((): string[] => [])).length;
}

/** Pushes every queued record; keeps those that could not be pushed for the next loop. */
export async function flushRecords(mirror: RepoMirror, stateDir: string, log: (s: string) => void, owner: RecordOwner): Promise<number> {
  const root = join(stateDir, 'records');
  const sessions = await readdir(root).catch((): string[] => []);
  let pushed = 0;
  for (const session of sessions.sort()) {
    const dir = join(root, session);
    const ok = await pushOne(mirror, dir, session, owner, log).catch((e: Error) => (log(`record ${session}: push failed, kept for retry: ${e.message}`), false));
    if (ok) {
      await rm(dir, { recursive: true, force: true });
      log(`record ${session}: pushed`);
      pushed++;
    }
  }
  return pushed;
}
