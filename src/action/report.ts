/**
 * What the runner shows of a judgement: one annotation per finding at
 * file:line:col, the step outputs, and the job summary.
 */
import type { Finding } from '../core/errors.js';
import type { ActionIo } from './io.js';
import type { Judgement } from './judge.js';

/** Annotates each finding on the file as it is in the repository (`where` maps the canonical path back). */
export function annotate(io: ActionIo, findings: readonly Finding[], where: (f: Finding) => string): void {
  for (const f of findings) {
    const props = { file: where(f), startLine: f.line, startColumn: f.col, title: `breakglass ${f.code}` };
    if (f.severity === 'error') io.error(f.message, props);
    else io.warning(f.message, props);
  }
}

/** Step outputs: `sessions` (ids), `status` (id -> status), `approvals` (id -> "k of n"), `findings` (error count). */
export function setOutputs(io: ActionIo, j: Judgement): void {
  io.setOutput('sessions', JSON.stringify(j.sessions.map((s) => s.id)));
  io.setOutput('status', JSON.stringify(Object.fromEntries(j.sessions.map((s) => [s.id, s.status]))));
  io.setOutput('approvals', JSON.stringify(Object.fromEntries(j.sessions.map((s) => [s.id, `${s.approvals.have} of ${s.approvals.need}`]))));
  io.setOutput('findings', String(j.findings.filter((f) => f.severity === 'error').length));
}

/** Writes the job summary, notices first. */
export async function writeSummary(io: ActionIo, markdown: string, notices: readonly string[]): Promise<void> {
  const text = [...notices.map((n) => `> [!WARNING]\n> ${n.replace(/\n/g, ' ')}\n`), markdown].join('\n');
  await io.appendSummary(text);
}
