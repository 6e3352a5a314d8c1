/**
 * The runner's memory of policy versions: for each policy path, the newest
 * approved version it has seen (digest, and when its approvals reached the
 * threshold), in `<state>/policy-versions.json`. Git history shows the
 * versions it still holds; this file keeps what a rewritten history would
 * hide, so restoring an older version needs fresh approvals here too.
 *
 * A file that cannot be read as such is STATE_INVALID: the runner then
 * activates nothing (teardown goes on), rather than forget what it knew.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatTime, parseTime } from '../core/duration.js';
import { BreakglassError } from '../core/errors.js';
import type { ApprovedVersion } from '../core/policy-versions.js';
import { codeOf, messageOf } from '../crypto/error-parts.js';

const FILE = 'policy-versions.json';
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Policy path -> the newest approved version seen. */
export type PolicyMemory = Map<string, { digest: string; approvedAt: number }>;

function invalid(stateDir: string, why: string): BreakglassError {
  return new BreakglassError('STATE_INVALID', `STATE_INVALID: ${join(stateDir, FILE)} ${why}; the runner activates nothing until it is restored (or removed, forgetting which policy versions it saw)`);
}

/** Reads the memory; an absent file is an empty memory, a corrupt one throws STATE_INVALID. */
export async function readPolicyMemory(stateDir: string): Promise<PolicyMemory> {
  let text: string;
  try {
    text = await readFile(join(stateDir, FILE), 'utf8');
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return new Map();
    throw invalid(stateDir, `cannot be read (${messageOf(e)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(stateDir, 'is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(stateDir, 'is not an object of policy paths');
  const out: PolicyMemory = new Map();
  for (const [path, v] of Object.entries(doc)) {
    const e = v as { digest?: unknown; approvedAt?: unknown };
    const at = typeof e?.approvedAt === 'string' ? parseTime(e.approvedAt) : undefined;
    if (!/^policies\/[^/]+\.yaml$/.test(path) || typeof e?.digest !== 'string' || !DIGEST.test(e.digest) || at === undefined)
      throw invalid(stateDir, `has a malformed entry for ${JSON.stringify(path)}`);
    out.set(path, { digest: e.digest, approvedAt: at });
  }
  return out;
}

/** Writes the memory atomically (rename), so a crash never leaves half a file. */
export async function writePolicyMemory(stateDir: string, memory: PolicyMemory): Promise<void> {
  const doc = Object.fromEntries([...memory].sort(([a], [b]) => a.localeCompare(b)).map(([p, v]) => [p, { digest: v.digest, approvedAt: formatTime(v.approvedAt) }]));
  const tmp = join(stateDir, `${FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(doc, null, 2));
  await rename(tmp, join(stateDir, FILE));
}

/** Records `version` of `path` when it is newer than what is remembered; true when the memory changed. */
export function remember(memory: PolicyMemory, path: string, digest: string, approvedAt: number): boolean {
  const known = memory.get(path);
  if (known && (known.approvedAt > approvedAt || (known.approvedAt === approvedAt && known.digest === digest))) return false;
  memory.set(path, { digest, approvedAt });
  return true;
}

/** The remembered version of `path`, as the rollback rule reads versions. */
export function remembered(memory: PolicyMemory, path: string): ApprovedVersion[] {
  const v = memory.get(path);
  return v ? [{ ...v, where: "this runner's memory" }] : [];
}
