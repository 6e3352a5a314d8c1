/**
 * The repository as breakglass sees it: policies, policy approvals and
 * sessions, each file parsed with positions. Reading goes through a
 * `FileSource` (working tree or git commit), so this module does no I/O of
 * its own choosing.
 */
import { loadDocument, MAX_DOCUMENT_BYTES, sortFindings, type Locate } from './document.js';
import { sha256Digest } from './digest.js';
import { chunkIndexOf } from './recording.js';
import type { Finding, Position } from './errors.js';
import { SessionId, type DocumentOf, type Kind } from './schemas.js';

/** Why one repository entry is not read: it is not a small regular file. */
export interface Refusal {
  path: string;
  code: 'SYMLINK' | 'GITLINK' | 'FILE_MODE' | 'FILE_TOO_LARGE';
  message: string;
}

/** The most bytes any one repository entry may hold (the document limit); a larger one is refused unread. */
export const MAX_ENTRY_BYTES = MAX_DOCUMENT_BYTES;

/**
 * Read access to repository files by slash-separated relative path.
 * `readMany` returns only entries that are small regular files; `refused`
 * says, per entry, why the others were skipped. Neither throws because of
 * what one entry is, so one hostile entry never hides the rest.
 */
export interface FileSource {
  readonly label: string;
  list(roots: readonly string[]): Promise<string[]>;
  /** One file; throws the refusal's code when the entry is refused. */
  read(path: string): Promise<Uint8Array | undefined>;
  readMany(paths: readonly string[]): Promise<Map<string, Uint8Array>>;
  refused(paths: readonly string[]): Promise<Refusal[]>;
}

/** A parsed file: its exact bytes, their digest, and the value when valid. */
export interface ParsedFile<K extends Kind> {
  path: string;
  bytes: Uint8Array;
  digest: string;
  value?: DocumentOf<K>;
  locate?: Locate;
}

/** A detached signature beside a signed file. */
export interface SignatureFile {
  path: string;
  bytes: Uint8Array;
  type: 'openpgp' | 'sigstore';
}

export interface SignedFile<K extends Kind> extends ParsedFile<K> {
  /** Name taken from the file name (`approvals/<name>.yaml`). */
  name: string;
  signatures: SignatureFile[];
}

export interface SessionFiles {
  id: string;
  /** Entries of the session folder that were refused unread (symlink, gitlink, odd mode, too large): the session is unusable. */
  unreadable?: Refusal[];
  request?: ParsedFile<'Request'>;
  approvals: SignedFile<'Approval'>[];
  rejection?: ParsedFile<'Rejection'>;
  end?: ParsedFile<'End'>;
  record?: SignedFile<'Record'>;
}

export interface RepositoryModel {
  policies: ParsedFile<'Policy'>[];
  policyApprovals: (SignedFile<'PolicyApproval'> & { policy: string })[];
  sessions: Map<string, SessionFiles>;
  /** Layout and schema findings, all files together. */
  findings: Finding[];
}

const SIG_SUFFIXES = [
  ['.asc', 'openpgp'],
  ['.sigstore.json', 'sigstore'],
] as const;

function parse<K extends Kind>(path: string, bytes: Uint8Array, kind: K, findings: Finding[]): ParsedFile<K> {
  const loaded = loadDocument(path, bytes, kind);
  findings.push(...loaded.findings);
  const base = { path, bytes, digest: sha256Digest(bytes) };
  return loaded.ok ? { ...base, value: loaded.value, locate: loaded.locate } : base;
}

/** Where `field` is in a parsed file (its first line when it did not parse: only parsed values are ever checked). */
function positionOf(f: ParsedFile<Kind>, field: readonly PropertyKey[]): Position {
  return f.locate?.(field) ?? { file: f.path, line: 1, col: 1 };
}

function signaturesOf(path: string, files: Map<string, Uint8Array>): SignatureFile[] {
  return SIG_SUFFIXES.flatMap(([suffix, type]) => {
    const b = files.get(path + suffix);
    return b ? [{ path: path + suffix, bytes: b, type }] : [];
  });
}

function layoutFinding(file: string, code: string, message: string): Finding {
  return { file, line: 1, col: 1, code, message, severity: 'error' };
}

const SESSION_FILE = /^(request|rejection|end|record)\.yaml(\.asc)?$|^approvals\/([^/]+)\.yaml(\.asc|\.sigstore\.json)?$/;

/** Classifies the files of `sessions/` into sessions; reports files that have no place there. */
function groupSessions(paths: readonly string[], findings: Finding[]): Map<string, string[]> {
  const bySession = new Map<string, string[]>();
  for (const p of paths) {
    const m = /^sessions\/([^/]+)\/(.+)$/.exec(p);
    if (!m) {
      if (!/^sessions\/(README\.md|\.gitkeep)$/.test(p)) findings.push(layoutFinding(p, 'SESSION_LAYOUT', `${p} is not inside a session folder; sessions live in sessions/<id>/`));
      continue;
    }
    const [, id = '', rest = ''] = m;
    if (!SessionId.safeParse(id).success) {
      findings.push(layoutFinding(p, 'ID_INVALID', `session folder ${JSON.stringify(id)} is not a valid id: use a DNS label (lower-case letters, digits and "-", at most 63 characters)`));
      continue;
    }
    if (!SESSION_FILE.test(rest) || (rest.endsWith('.asc') && !/^(record|approvals\/)/.test(rest))) {
      findings.push(
        layoutFinding(
          p,
          'SESSION_LAYOUT',
          `unexpected file ${rest} in session ${id}; a session holds request.yaml, approvals/<approver>.yaml (+ .asc or .sigstore.json), rejection.yaml, end.yaml, record.yaml (+ .asc)`,
        ),
      );
      continue;
    }
    const list = bySession.get(id) ?? [];
    list.push(rest);
    bySession.set(id, list);
  }
  return bySession;
}

function buildSession(id: string, rels: string[], files: Map<string, Uint8Array>, findings: Finding[]): SessionFiles {
  const dir = `sessions/${id}`;
  const s: SessionFiles = { id, approvals: [] };
  const at = (rel: string) => `${dir}/${rel}`;
  const bytes = (rel: string) => files.get(at(rel));
  const req = bytes('request.yaml');
  if (req) {
    s.request = parse(at('request.yaml'), req, 'Request', findings);
    const r = s.request;
    if (r.value && r.value.metadata.id !== id) {
      const pos = positionOf(r, ['metadata', 'id']);
      findings.push({ ...pos, code: 'REQUEST_ID_MISMATCH', message: `metadata.id "${r.value.metadata.id}" does not equal its folder name "${id}"; they must be the same`, severity: 'error' });
    }
  } else {
    findings.push(layoutFinding(`${dir}/`, 'SESSION_NO_REQUEST', `session ${id} has no request.yaml`));
  }
  for (const [rel, kind] of [
    ['rejection.yaml', 'Rejection'],
    ['end.yaml', 'End'],
  ] as const) {
    const b = bytes(rel);
    if (!b) continue;
    const parsed = parse(at(rel), b, kind, findings);
    if (parsed.value && parsed.value.session !== id) {
      findings.push({ ...positionOf(parsed, ['session']), code: 'SESSION_MISMATCH', message: `session "${parsed.value.session}" does not equal the folder name "${id}"`, severity: 'error' });
    }
    if (kind === 'Rejection') s.rejection = parsed;
    else s.end = parsed;
  }
  const rec = bytes('record.yaml');
  if (rec) s.record = { ...parse(at('record.yaml'), rec, 'Record', findings), name: 'record', signatures: signaturesOf(at('record.yaml'), files) };
  for (const rel of rels) {
    const [, name] = /^approvals\/([^/]+)\.yaml$/.exec(rel) ?? [];
    const b = bytes(rel);
    if (!name || !b) continue;
    const parsed = parse(at(rel), b, 'Approval', findings);
    if (parsed.value && parsed.value.approver !== name) {
      findings.push({ ...positionOf(parsed, ['approver']), code: 'APPROVER_MISMATCH', message: `approver "${parsed.value.approver}" does not match the file name ${name}.yaml`, severity: 'error' });
    }
    if (parsed.value && parsed.value.session !== id) {
      findings.push({ ...positionOf(parsed, ['session']), code: 'SESSION_MISMATCH', message: `session "${parsed.value.session}" does not equal the folder name "${id}"`, severity: 'error' });
    }
    s.approvals.push({ ...parsed, name, signatures: signaturesOf(at(rel), files) });
  }
  for (const rel of rels) {
    const [, signed] = /^(.*\.yaml)(\.asc|\.sigstore\.json)$/.exec(rel) ?? [];
    if (signed && !files.has(at(signed))) findings.push(layoutFinding(at(rel), 'SIGNATURE_ORPHAN', `signature ${rel} has no ${signed} beside it`));
  }
  return s;
}

function loadPolicies(paths: readonly string[], files: Map<string, Uint8Array>, findings: Finding[]): Pick<RepositoryModel, 'policies' | 'policyApprovals'> {
  const policies: ParsedFile<'Policy'>[] = [];
  const policyApprovals: RepositoryModel['policyApprovals'] = [];
  for (const p of paths) {
    // Only paths that were read are passed in (loadRepository's `readable`).
    const b = files.get(p);
    if (!b) continue;
    if (/^policies\/[^/]+\.ya?ml$/.test(p)) {
      if (p.endsWith('.yml')) findings.push(layoutFinding(p, 'POLICY_LAYOUT', `policy files end in .yaml; rename ${p}`));
      else policies.push(parse(p, b, 'Policy', findings));
      continue;
    }
    const [, policy, name] = /^policies\/approvals\/([^/]+)\/([^/]+)\.yaml$/.exec(p) ?? [];
    if (!policy || !name) continue;
    const parsed = parse(p, b, 'PolicyApproval', findings);
    if (parsed.value && parsed.value.approver !== name) {
      findings.push({ ...positionOf(parsed, ['approver']), code: 'APPROVER_MISMATCH', message: `approver "${parsed.value.approver}" does not match the file name ${name}.yaml`, severity: 'error' });
    }
    if (parsed.value && parsed.value.policy !== policy) {
      findings.push({ ...positionOf(parsed, ['policy']), code: 'POLICY_MISMATCH', message: `policy "${parsed.value.policy}" does not match the folder name ${policy}`, severity: 'error' });
    }
    policyApprovals.push({ ...parsed, name, policy, signatures: signaturesOf(p, files) });
  }
  const names = new Map<string, string>();
  for (const pol of policies) {
    const name = pol.value?.metadata.name;
    if (!name) continue;
    const stem = /^policies\/([^/]+)\.yaml$/.exec(pol.path)?.[1];
    if (stem !== name)
      findings.push({ ...positionOf(pol, ['metadata', 'name']), code: 'POLICY_MISMATCH', message: `metadata.name "${name}" does not equal the file name ${stem}.yaml`, severity: 'error' });
    const other = names.get(name);
    if (other) findings.push({ ...positionOf(pol, ['metadata', 'name']), code: 'POLICY_DUPLICATE', message: `policy name "${name}" is also used by ${other}`, severity: 'error' });
    names.set(name, pol.path);
  }
  return { policies, policyApprovals };
}

/**
 * Each refused entry is an error at its path, and makes its session (only
 * that one) unreadable: the runner will neither activate it nor trust what
 * it partly says. Other sessions load as usual.
 */
function markUnreadable(refused: readonly Refusal[], sessions: Map<string, SessionFiles>, findings: Finding[]): void {
  for (const r of refused) {
    findings.push(layoutFinding(r.path, r.code, r.message));
    const id = /^sessions\/([^/]+)\//.exec(r.path)?.[1];
    if (!id || !SessionId.safeParse(id).success) continue;
    const s = sessions.get(id) ?? { id, approvals: [] };
    (s.unreadable ??= []).push(r);
    sessions.set(id, s);
  }
}

/** `sessions/<id>/recording/000001.pgp`: a chunk of a session recording (issue 12). Any other name there is a layout finding. */
export function isRecordingChunk(path: string): boolean {
  const [, chunk] = /^sessions\/[^/]+\/recording\/([^/]+)$/.exec(path) ?? [];
  return chunk !== undefined && chunkIndexOf(chunk) !== undefined;
}

/** Loads and parses every breakglass file in the source; never throws on bad content. */
export async function loadRepository(source: FileSource): Promise<RepositoryModel> {
  const findings: Finding[] = [];
  const paths = await source.list(['sessions', 'policies']);
  // Recording chunks are ciphertext judged by the recording checks (recording-chain.ts), never read as documents here.
  const wanted = paths.filter((p) => (p.startsWith('sessions/') && !isRecordingChunk(p)) || /^policies\/([^/]+\.ya?ml|approvals\/.+)$/.test(p));
  const refused = await source.refused(wanted);
  const files = await source.readMany(wanted);
  const readable = wanted.filter((p) => files.has(p));
  const { policies, policyApprovals } = loadPolicies(
    readable.filter((p) => p.startsWith('policies/')),
    files,
    findings,
  );
  const sessions = new Map<string, SessionFiles>();
  for (const [id, rels] of groupSessions(
    readable.filter((p) => p.startsWith('sessions/')),
    findings,
  )) {
    sessions.set(id, buildSession(id, rels, files, findings));
  }
  markUnreadable(refused, sessions, findings);
  return { policies, policyApprovals, sessions, findings: sortFindings(findings) };
}
