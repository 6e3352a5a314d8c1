/** The drill's report: one row per step with its time, as JSON or as a table. */

/** One timed step. `seconds` is wall time, measured around the step alone. */
export interface StepResult {
  step: string;
  title: string;
  ok: boolean;
  seconds: number;
  detail: string;
}

/** What `breakglass drill --json` prints. */
export interface DrillReport {
  kind: 'DrillReport';
  ok: boolean;
  session?: string;
  resource: string;
  privilege: string;
  cluster: string;
  namespace: string;
  steps: StepResult[];
  failedStep?: string;
  record?: { drill: boolean; outcome: string; revocation?: string; signedBy: string };
  sandbox?: string;
}

/** The report as a table a person reads at the terminal. */
export function formatReport(r: DrillReport): string[] {
  const width = Math.max(...r.steps.map((s) => s.title.length));
  const lines = [
    `breakglass drill${r.session ? ` ${r.session}` : ''}: ${r.privilege} on ${r.resource} (${r.cluster}, namespace ${r.namespace})`,
    '',
    `  ${'step'.padEnd(9)} ${'what'.padEnd(width)}  ${'seconds'.padStart(7)}  result`,
  ];
  for (const s of r.steps) lines.push(`  ${s.step.padEnd(9)} ${s.title.padEnd(width)}  ${s.seconds.toFixed(2).padStart(7)}  ${s.ok ? 'ok' : 'FAILED'}: ${s.detail}`);
  const total = r.steps.reduce((sum, s) => sum + s.seconds, 0);
  lines.push('', r.ok ? `drill passed in ${total.toFixed(1)} s` : `drill FAILED at step ${r.failedStep}: ${r.steps.find((s) => !s.ok)?.detail ?? ''}`);
  return lines;
}
