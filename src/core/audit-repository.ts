/**
 * Which repository an audit is about, when the auditor names none and the
 * clone has no `origin` remote: the name the runner signed into its records.
 *
 * Only records whose signature verifies with the trust file's runner key
 * count: anyone can commit a record.yaml naming any repository, but only the
 * runner can sign one. Several signed names is ambiguous and is refused, not
 * resolved by majority. What this does NOT check: anything else about the
 * records (the audit itself does that, with the name found here).
 */
import { loadDocument } from './document.js';
import type { AuditHistory } from './audit-history.js';
import { checkRecordSignature } from './audit-record.js';
import type { AuditTrust } from './audit-types.js';

const RECORD = /^sessions\/[^/]+\/record\.yaml$/;

/** The distinct repository names in runner-signed records along the branch, sorted. */
export async function repositoriesInSignedRecords(history: AuditHistory, trust: AuditTrust): Promise<string[]> {
  const bytesAt = new Map(history.changes.filter((c) => c.bytes).map((c) => [`${c.at}\0${c.path}`, c.bytes!]));
  const names = new Set<string>();
  for (const change of history.changes) {
    if (!change.bytes || !RECORD.test(change.path)) continue;
    // The runner commits a record and its signature together.
    const signature = bytesAt.get(`${change.at}\0${change.path}.asc`);
    if (await checkRecordSignature(change.bytes, signature, trust, history.chain[change.at]!.time)) continue;
    const loaded = loadDocument(change.path, change.bytes, 'Record');
    if (loaded.ok) names.add(loaded.value.repository);
  }
  return [...names].sort();
}
