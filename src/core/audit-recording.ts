/**
 * The audit's recording checks (issue 12): every recording is held to the
 * chain head in its runner-signed record, with no key, and a session whose
 * policy required recording must have one. Judged as the branch
 * last held the session: at its head, or — when the session folder was later
 * deleted (allowed, like deleting a record) — just before the deletion.
 * Does NOT read what a recording says; that needs an auditor key (`replay`).
 */
import { recordingDir } from './recording.js';
import { verifyChain, type ChunkFile } from './recording-chain.js';
import type { HistoryIndex } from './audit-history.js';
import type { AuditFinding, RecordingReport } from './audit-types.js';
import type { Record } from './schemas.js';

/** The chain index the recording is judged at: the head, or the last commit that still had the record. */
function judgedAt(idx: HistoryIndex, id: string): number {
  const last = idx.versionsOf(`sessions/${id}/record.yaml`).at(-1);
  const end = idx.history.chain.length - 1;
  return last && !last.bytes ? last.at - 1 : end;
}

/** The files under `sessions/<id>/recording/` at chain index `at`. */
export function chunksAt(idx: HistoryIndex, id: string, at: number): ChunkFile[] {
  const prefix = `${recordingDir(id)}/`;
  return idx.paths(`sessions/${id}`).flatMap((p) => {
    const bytes = p.startsWith(prefix) ? idx.fileAt(p, at) : undefined;
    return bytes ? [{ name: p.slice(prefix.length), bytes }] : [];
  });
}

/**
 * Findings about the recording of a session whose signed record is `r`, and
 * what the report shows of it. `required`: the policy that governed the
 * session (at its activation) said `recording: required`.
 */
export function checkRecording(idx: HistoryIndex, id: string, r: Record, recordCommit: string, required: boolean): { report?: RecordingReport; findings: AuditFinding[] } {
  const at = judgedAt(idx, id);
  const files = chunksAt(idx, id, at);
  const commit = idx.commit(at).oid;
  if (!r.recording) {
    const findings: AuditFinding[] = [];
    // A session that was activated under a policy requiring recording must have gone through the
    // gateway, and the runner signs the chain head into its record; a record without one means the
    // access was unrecorded (or the runner was not the one we trust to fail closed).
    if (required && r.activated)
      findings.push({
        code: 'RECORDING_MISSING',
        session: id,
        commit: recordCommit,
        file: `sessions/${id}/record.yaml`,
        message: `the policy that governed the session requires recording, but the runner-signed record (commit ${recordCommit.slice(0, 12)}) names no recording`,
      });
    // Nobody vouches for chunks the signed record does not name: they could say anything.
    if (files.length > 0)
      findings.push({
        code: 'RECORDING_UNBOUND',
        session: id,
        commit,
        file: recordingDir(id),
        message: `${files.length} file(s) in ${recordingDir(id)}/, but the runner-signed record (commit ${recordCommit.slice(0, 12)}) names no recording`,
      });
    return { findings };
  }
  const check = verifyChain(id, files, r.recording);
  const findings = check.findings.map((f) => ({ code: f.code, session: id, commit, file: f.file, message: f.message }));
  return { report: { chunks: r.recording.chunks, head: r.recording.head, verified: check.ok }, findings };
}
