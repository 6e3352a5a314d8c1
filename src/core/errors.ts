import type { ErrorCode } from '../crypto/error-codes.js';
import { BreakglassError } from '../crypto/errors.js';

/** Where a finding points: a file and a 1-based line and column. */
export interface Position {
  file: string;
  line: number;
  col: number;
}

/** One problem found in a document, with a stable code a tool can match on. */
export interface Finding extends Position {
  code: string;
  message: string;
  severity: 'error' | 'warning';
}

/** `file:line:col: error CODE: message` — the form editors and CI annotations parse. */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.col}: ${f.severity} ${f.code}: ${f.message}`;
}

/**
 * `breakglass: CODE: message` on one line — the form every operational error
 * is printed in (stderr, exit 2), so scripts match on the code, not the prose.
 * A message that spans lines (a tool's own output in it) is joined into one.
 */
export function formatError(code: ErrorCode, message: string): string {
  return `breakglass: ${code}: ${message.replace(/\s*\n\s*/g, ' ').trim()}`;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}

/** An operational or usage error (exit 2) with a stable code; defined in crypto/, the bottom layer, so every layer throws the same class. */
export { BreakglassError };
/** The catalogue of those codes, each with its meaning (docs/design.md lists them). */
export { ERROR_CODES, type ErrorCode, isErrorCode } from '../crypto/error-codes.js';

/** Thrown when a document cannot be used; carries every finding at once. */
export class InvalidDocumentError extends BreakglassError {
  readonly findings: readonly Finding[];
  constructor(findings: readonly Finding[]) {
    const first = findings[0];
    super('INVALID_DOCUMENT', first ? formatFinding(first) : 'invalid document');
    this.name = 'InvalidDocumentError';
    this.findings = findings;
  }
}
